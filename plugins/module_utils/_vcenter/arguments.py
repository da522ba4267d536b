# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vCenter connection options, shared by every module that talks to vCenter.

The option names and environment fallbacks are the ones users of the VMware
collections know (``hostname``, ``username``, ``password``, ``port``,
``validate_certs``, ``proxy_host``, ``proxy_port`` and the ``VMWARE_*`` variables, as
vmware.vmware has them), plus ``ca_cert`` for a private CA and ``datacenter`` to scope
inventory reads.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

DEFAULT_PORT = 443
# The port of an HTTP proxy given without one (pyVmomi's own default).
DEFAULT_PROXY_PORT = 80


def vcenter_argument_spec():
    """The argument spec of the vCenter connection options (a fresh dict each call)."""
    return dict(
        hostname=dict(type="str", fallback=(env_fallback, ["VMWARE_HOST"])),
        username=dict(type="str", aliases=["user", "admin"], fallback=(env_fallback, ["VMWARE_USER"])),
        password=dict(type="str", aliases=["pass", "pwd"], no_log=True, fallback=(env_fallback, ["VMWARE_PASSWORD"])),
        port=dict(type="int", default=DEFAULT_PORT, fallback=(env_fallback, ["VMWARE_PORT"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["VMWARE_VALIDATE_CERTS"])),
        ca_cert=dict(type="path", fallback=(env_fallback, ["VMWARE_CA_CERT"])),
        proxy_host=dict(type="str", fallback=(env_fallback, ["VMWARE_PROXY_HOST"])),
        proxy_port=dict(type="int", fallback=(env_fallback, ["VMWARE_PROXY_PORT"])),
        datacenter=dict(type="str", aliases=["datacenter_name"]),
    )


def vcenters_argument_spec():
    """The ``vcenters`` option: several vCenters, each with its own login, for clouds whose zones' datacenters live
    on different vCenters (a fresh dict each call)."""
    return dict(vcenters=dict(type="list", elements="dict", options=dict(
        hostname=dict(type="str", required=True),
        username=dict(type="str", required=True),
        password=dict(type="str", required=True, no_log=True),
        port=dict(type="int", default=DEFAULT_PORT),
        validate_certs=dict(type="bool", default=True),
        ca_cert=dict(type="path"),
        proxy_host=dict(type="str"),
        proxy_port=dict(type="int"),
        datacenter=dict(type="str"),
        zones=dict(type="list", elements="str", default=[]),
    )))


class VCenterSettings:
    """How to reach vCenter. The password never appears in ``repr`` or ``public_facts``."""

    def __init__(self, hostname=None, username=None, password=None, port=DEFAULT_PORT, validate_certs=True,
                 ca_cert=None, datacenter=None, proxy_host=None, proxy_port=None):
        self.hostname = hostname
        self.username = username
        self.password = password
        self.port = port or DEFAULT_PORT
        self.validate_certs = validate_certs
        self.ca_cert = ca_cert
        self.datacenter = datacenter
        self.proxy_host = proxy_host
        self.proxy_port = proxy_port

    @classmethod
    def from_params(cls, params):
        """Build the settings from a module's validated parameters."""
        validate = params.get("validate_certs")
        return cls(
            hostname=params.get("hostname"),
            username=params.get("username"),
            password=params.get("password"),
            port=params.get("port"),
            validate_certs=True if validate is None else bool(validate),
            ca_cert=params.get("ca_cert"),
            datacenter=params.get("datacenter"),
            proxy_host=params.get("proxy_host"),
            proxy_port=params.get("proxy_port"),
        )

    def missing(self):
        """Names of the required options that are unset (neither given nor in the environment)."""
        required = (("hostname", "VMWARE_HOST", self.hostname), ("username", "VMWARE_USER", self.username),
                    ("password", "VMWARE_PASSWORD", self.password))
        missing = ["%s (or %s)" % (name, env) for name, env, value in required if not value]
        if self.proxy_port and not self.proxy_host:
            missing.append("proxy_host (or VMWARE_PROXY_HOST), since proxy_port is set")
        return missing

    def insecure(self):
        """What makes this connection unsafe, as sentences for a warning (empty when nothing does)."""
        if self.validate_certs:
            return []
        return ["vCenter's TLS certificate is not validated (validate_certs=false or VMWARE_VALIDATE_CERTS=false): "
                "anyone on the path can read the password and answer in vCenter's name"]

    def proxy(self):
        """(host, port) of the HTTP proxy that tunnels the connection, or (None, None)."""
        if not self.proxy_host:
            return None, None
        return self.proxy_host, self.proxy_port or DEFAULT_PROXY_PORT

    def address(self):
        """``host:port``: how a vCenter is named among several (the ``vcenter`` of a route and of a VM to check)."""
        return "%s:%s" % (self.hostname, self.port)

    def public_facts(self):
        """What may be shown to a user: no password."""
        return {"hostname": self.hostname, "port": self.port, "username": self.username,
                "validate_certs": self.validate_certs, "ca_cert": self.ca_cert, "proxy_host": self.proxy_host,
                "proxy_port": self.proxy_port}

    def __repr__(self):
        return "VCenterSettings(hostname=%r, port=%r, username=%r, validate_certs=%r)" % (
            self.hostname, self.port, self.username, self.validate_certs)
