# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudStack connection options, shared by every module that talks to CloudStack.

The option names and environment fallbacks are the ones ngine_io.cloudstack users
know. What the options and the environment leave unset is read from
``cloudstack.ini`` by the client (through the ``cs`` library's reader).
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

HTTP_METHODS = ("get", "post")


def cloudstack_argument_spec():
    """The argument spec of the CloudStack connection options (a fresh dict each call)."""
    return dict(
        api_url=dict(type="str", fallback=(env_fallback, ["CLOUDSTACK_ENDPOINT"])),
        api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["CLOUDSTACK_KEY"])),
        api_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["CLOUDSTACK_SECRET"])),
        api_timeout=dict(type="int", fallback=(env_fallback, ["CLOUDSTACK_TIMEOUT"])),
        api_http_method=dict(type="str", choices=list(HTTP_METHODS), fallback=(env_fallback, ["CLOUDSTACK_METHOD"])),
        api_verify_ssl_cert=dict(type="str", fallback=(env_fallback, ["CLOUDSTACK_VERIFY"])),
        api_region=dict(type="str", default="cloudstack", fallback=(env_fallback, ["CLOUDSTACK_REGION"])),
    )


class CloudStackSettings:
    """How to reach CloudStack. The secret never appears in ``repr`` or ``public_facts``."""

    DEFAULT_TIMEOUT = 10
    DEFAULT_METHOD = "get"

    def __init__(self, endpoint=None, key=None, secret=None, timeout=None, method=None, verify=None, region="cloudstack"):
        self.endpoint = endpoint
        self.key = key
        self.secret = secret
        self.timeout = timeout
        self.method = method
        self.verify = verify
        self.region = region

    @classmethod
    def from_params(cls, params):
        """Build the settings from a module's validated parameters."""
        return cls(
            endpoint=params.get("api_url"),
            key=params.get("api_key"),
            secret=params.get("api_secret"),
            timeout=params.get("api_timeout"),
            method=params.get("api_http_method"),
            verify=params.get("api_verify_ssl_cert"),
            region=params.get("api_region") or "cloudstack",
        )

    def missing(self):
        """Names of the options that must still come from cloudstack.ini."""
        required = (("api_url", self.endpoint), ("api_key", self.key), ("api_secret", self.secret))
        return [name for name, value in required if not value]

    def merged_with_ini(self, ini):
        """Settings where what is unset here is taken from an ini section (cs key names)."""
        return CloudStackSettings(
            endpoint=self.endpoint or ini.get("endpoint"),
            key=self.key or ini.get("key"),
            secret=self.secret or ini.get("secret"),
            timeout=self.timeout or ini.get("timeout"),
            method=self.method or ini.get("method"),
            verify=self.verify if self.verify is not None else ini.get("verify"),
            region=self.region,
        )

    def tls_verify(self):
        """``requests``' verify value: True/False, or the path of a CA bundle."""
        if self.verify is None or self.verify == "":
            return True
        if isinstance(self.verify, bool):
            return self.verify
        lowered = str(self.verify).strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        return str(self.verify)

    def public_facts(self):
        """What may be shown to a user: no key, no secret."""
        return {"endpoint": self.endpoint, "region": self.region}

    def __repr__(self):
        return "CloudStackSettings(endpoint=%r, region=%r)" % (self.endpoint, self.region)


def volume_selection_argument_spec():
    """vm, zone and account: what narrows a volume name down to one volume (doc fragment volume_selection)."""
    return dict(vm=dict(type="str"), zone=dict(type="str"), account=dict(type="str"))
