"""The campaign needs the lab (tests/lab/fixtures.py)."""

pytest_plugins = ["lab.fixtures"]
