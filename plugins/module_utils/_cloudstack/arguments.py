# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudStack connection options, shared by every module that talks to CloudStack.

The option names and environment fallbacks are the ones ngine_io.cloudstack users
know (``api_url``, ``api_key``, ``api_secret``, ``api_http_method``, ``api_timeout``,
``api_verify_ssl_cert`` and the switch ``CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY``). What the
options and the environment leave unset is read from ``cloudstack.ini`` by the client
(through the ``cs`` library's reader): a documented extra.
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.parameters import AnsibleFallbackNotFound
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput

HTTP_METHODS = ("get", "post")
DEFAULT_TIMEOUT = 10
DEFAULT_METHOD = "get"
# CloudStack's certificate switch: validate_certs where CloudStack is the module's only service (as in
# ngine_io.cloudstack); api_validate_certs where validate_certs is vCenter's (as in vmware.vmware).
SWITCH = "validate_certs"
SWITCH_BESIDE_VCENTER = "api_validate_certs"
NO_TLS_VERIFY_ENV = "CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY"
BOOLEAN_WORDS = ("true", "false", "yes", "no", "on", "off", "1", "0")


def no_tls_verify_fallback():
    """The certificate switch from CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY, read as the ``cs`` library reads it.

    The variable says "do not verify": a true value gives ``false`` (validation off), a false one ``true``.
    """
    value = os.environ.get(NO_TLS_VERIFY_ENV)
    if value is None or not value.strip():
        raise AnsibleFallbackNotFound
    try:
        return not boolean(value.strip(), strict=True)
    except TypeError:
        # Not a boolean: validation stays on (never turned off by a value nobody can read as "off").
        return True


def cloudstack_argument_spec(beside_vcenter=False):
    """The argument spec of the CloudStack connection options (a fresh dict each call).

    ``beside_vcenter``: the module also talks to vCenter, whose switch is ``validate_certs``; CloudStack's is then
    ``api_validate_certs``. A CloudStack-only module takes ``validate_certs`` (alias ``api_validate_certs``, so
    that the one name works for every module of the collection's cloudstack action group).
    """
    switch = dict(type="bool", default=True, fallback=(no_tls_verify_fallback,))
    if beside_vcenter:
        switches = {SWITCH_BESIDE_VCENTER: switch}
    else:
        switches = {SWITCH: dict(switch, aliases=[SWITCH_BESIDE_VCENTER])}
    spec = dict(
        api_url=dict(type="str", fallback=(env_fallback, ["CLOUDSTACK_ENDPOINT"])),
        api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["CLOUDSTACK_KEY"])),
        api_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["CLOUDSTACK_SECRET"])),
        api_timeout=dict(type="int", fallback=(env_fallback, ["CLOUDSTACK_TIMEOUT"])),
        api_http_method=dict(type="str", choices=list(HTTP_METHODS), fallback=(env_fallback, ["CLOUDSTACK_METHOD"])),
        api_verify_ssl_cert=dict(type="path", fallback=(env_fallback, ["CLOUDSTACK_VERIFY"])),
        api_region=dict(type="str", default="cloudstack", fallback=(env_fallback, ["CLOUDSTACK_REGION"])),
    )
    spec.update(switches)
    return spec


class CloudStackSettings:
    """How to reach CloudStack. The secret never appears in ``repr`` or ``public_facts``.

    ``verify`` is the CA bundle (``api_verify_ssl_cert``), ``validate_certs`` the switch, and ``switch_name`` the
    name the module gives the switch (for messages).
    """

    DEFAULT_TIMEOUT = DEFAULT_TIMEOUT
    DEFAULT_METHOD = DEFAULT_METHOD

    def __init__(self, endpoint=None, key=None, secret=None, timeout=None, method=None, verify=None, region="cloudstack",
                 validate_certs=True, switch_name=SWITCH):
        self.endpoint = endpoint
        self.key = key
        self.secret = secret
        self.timeout = timeout
        self.method = method
        self.verify = verify
        self.region = region
        self.validate_certs = validate_certs
        self.switch_name = switch_name

    @classmethod
    def from_params(cls, params):
        """Build the settings from a module's validated parameters (of ``cloudstack_argument_spec``)."""
        if SWITCH_BESIDE_VCENTER in params:
            switch_name = SWITCH_BESIDE_VCENTER
        else:
            switch_name = SWITCH
        validate = params.get(switch_name)
        return cls(
            endpoint=params.get("api_url"),
            key=params.get("api_key"),
            secret=params.get("api_secret"),
            timeout=params.get("api_timeout"),
            method=params.get("api_http_method"),
            verify=params.get("api_verify_ssl_cert"),
            region=params.get("api_region") or "cloudstack",
            validate_certs=True if validate is None else bool(validate),
            switch_name=switch_name,
        )

    def missing(self):
        """Names of the options that must still come from cloudstack.ini."""
        required = (("api_url", self.endpoint), ("api_key", self.key), ("api_secret", self.secret))
        return [name for name, value in required if not value]

    def merged_with_ini(self, ini):
        """Settings where what is unset here is taken from an ini section (cs key names).

        The ini file may name a CA bundle (``verify``) and turn validation off (``dangerous_no_tls_verify``,
        or the older ``verify = false``), as the ``cs`` library reads it; an option or variable that turned
        validation off stays off.
        """
        ini_verify, ini_validate = _ini_tls(ini)
        return CloudStackSettings(
            endpoint=self.endpoint or ini.get("endpoint"),
            key=self.key or ini.get("key"),
            secret=self.secret or ini.get("secret"),
            timeout=self.timeout or ini.get("timeout"),
            method=self.method or ini.get("method"),
            verify=self.verify or ini_verify,
            region=self.region,
            validate_certs=self.validate_certs and ini_validate,
            switch_name=self.switch_name,
        )

    def check(self):
        """Raise InvalidInput when the TLS options cannot be what the user meant."""
        if self.verify and str(self.verify).strip().lower() in BOOLEAN_WORDS:
            raise InvalidInput(
                "api_verify_ssl_cert (CLOUDSTACK_VERIFY) is %r: it takes the path of a CA bundle (PEM). To turn "
                "CloudStack's certificate validation off, set %s=false (or %s=true) instead"
                % (self.verify, self.switch_name, NO_TLS_VERIFY_ENV), option="api_verify_ssl_cert")

    def tls_verify(self):
        """``requests``' verify value: False (switch off), the CA bundle's path, or True (the system CAs)."""
        if not self.validate_certs:
            return False
        return str(self.verify) if self.verify else True

    def insecure(self):
        """What makes this connection unsafe, as sentences for a warning (empty when nothing does)."""
        reasons = []
        if not self.validate_certs:
            reasons.append("CloudStack's TLS certificate is not validated (%s=false or %s): anyone on the path can "
                           "read the API keys and answer in CloudStack's name" % (self.switch_name, NO_TLS_VERIFY_ENV))
        if self.endpoint and str(self.endpoint).lower().startswith("http://"):
            reasons.append("The CloudStack endpoint %s is plain http: requests, their signatures and the answers "
                           "cross the network unencrypted; use https" % self.endpoint)
        return reasons

    def public_facts(self):
        """What may be shown to a user: no key, no secret."""
        return {"endpoint": self.endpoint, "region": self.region, "validate_certs": self.validate_certs,
                "ca_bundle": self.verify}

    def __repr__(self):
        return "CloudStackSettings(endpoint=%r, region=%r, validate_certs=%r)" % (self.endpoint, self.region, self.validate_certs)


def _ini_tls(ini):
    """(CA bundle, validate) from a cloudstack.ini section."""
    verify = ini.get("verify")
    validate = True
    dangerous = ini.get("dangerous_no_tls_verify")
    if dangerous not in (None, ""):
        try:
            validate = not boolean(str(dangerous).strip(), strict=True)
        except TypeError:
            validate = True
    if isinstance(verify, bool):
        return None, validate and verify
    if verify is not None and str(verify).strip().lower() in ("false", "no", "0", "off"):
        return None, False
    if verify is not None and str(verify).strip().lower() in ("true", "yes", "1", "on", ""):
        return None, validate
    return verify, validate


def volume_selection_argument_spec():
    """vm, zone and account: what narrows a volume name down to one volume (doc fragment volume_selection)."""
    return dict(vm=dict(type="str"), zone=dict(type="str"), account=dict(type="str"))
