"""Stand-in for get-pip.py used by ansible-test: bootstrap pip from ensurepip, then install."""

import os
import subprocess
import sys

import ensurepip

SKIPPED_ARGS = {"--no-setuptools", "--no-wheel"}


def main():
    environment = dict(os.environ)
    # ensurepip sets PIP_CONFIG_FILE=/dev/null in os.environ; restore the caller's settings after.
    ensurepip.bootstrap(upgrade=True)
    arguments = [arg for arg in sys.argv[1:] if arg not in SKIPPED_ARGS]
    if arguments:
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + arguments, env=environment)


if __name__ == "__main__":
    main()
