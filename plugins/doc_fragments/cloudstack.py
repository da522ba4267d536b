# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the shared CloudStack connection options.

``cloudstack``: a module whose only service is CloudStack; its certificate switch is ``validate_certs``.
``cloudstack.beside_vcenter``: a module that also talks to vCenter, where ``validate_certs`` is vCenter's
(fragment ``vcenter``) and CloudStack's switch is ``api_validate_certs``. The two differ only in the switch
(name, alias, last notes): keep them in step (ansible-test wants each as one literal string).
"""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - URL of the CloudStack API, for example V(https://cloud.example.com/client/api).
      - If not set, the E(CLOUDSTACK_ENDPOINT) environment variable is used, then the C(endpoint)
        of the O(api_region) section of C(cloudstack.ini).
      - A plain C(http) URL works, with a warning, since the signed requests and the answers then cross the network unencrypted.
    type: str
  api_key:
    description:
      - API key of the CloudStack user. Root admin rights are needed to read pools and volume paths.
      - If not set, E(CLOUDSTACK_KEY) is used, then C(cloudstack.ini).
    type: str
  api_secret:
    description:
      - Secret key of the CloudStack user. Never logged, never returned.
      - If not set, E(CLOUDSTACK_SECRET) is used, then C(cloudstack.ini).
    type: str
  api_timeout:
    description:
      - HTTP timeout of one API call, in seconds (10 when neither set here nor in C(cloudstack.ini)).
      - If not set, E(CLOUDSTACK_TIMEOUT) is used, then C(cloudstack.ini).
    type: int
  api_http_method:
    description:
      - HTTP method of the API calls (V(get) when neither set here nor in C(cloudstack.ini)).
      - If not set, E(CLOUDSTACK_METHOD) is used, then C(cloudstack.ini).
    type: str
    choices: [get, post]
  api_verify_ssl_cert:
    description:
      - Path of a PEM bundle of the CAs to trust for CloudStack's certificate instead of the system CAs,
        for a management server whose certificate is signed by a private CA.
      - It is a path, not a switch; V(false) is refused with a message that names the switch, O(validate_certs).
      - Ignored when O(validate_certs) is V(false).
      - If not set, E(CLOUDSTACK_VERIFY) is used, then the C(verify) key of C(cloudstack.ini).
    type: path
  validate_certs:
    description:
      - Validate CloudStack's TLS certificate (against the system CAs, or O(api_verify_ssl_cert) when given).
      - If V(false), the certificate is not validated and the module warns. Set it only on a network you trust.
      - If not set, E(CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY) is used, read as its name says and as the C(cs) library
        reads it, V(true) turning validation off; then the C(dangerous_no_tls_verify) key of C(cloudstack.ini).
      - A certificate that cannot be verified fails the task at once with a message that names this option; it
        is not retried as a passing connection error.
      - This is CloudStack's switch, named as in C(ngine_io.cloudstack). The alias C(api_validate_certs) is the
        name the modules that also talk to vCenter give it, so C(module_defaults) for
        C(group/cloudstack_vmware.safe_migration.cloudstack) can use it for every module of the group.
    type: bool
    default: true
    aliases: [api_validate_certs]
  api_region:
    description:
      - Section of C(cloudstack.ini) to read what the options and the environment leave unset, a documented
        extra for users of the C(cs) command-line client; the options and the E(CLOUDSTACK_*) variables come first.
      - C(cloudstack.ini) is looked for in the current directory, then C(~/.cloudstack.ini), and in
        E(CLOUDSTACK_CONFIG) when set.
      - If not set, E(CLOUDSTACK_REGION) is used.
    type: str
    default: cloudstack
requirements:
  - cs >= 3.0.0
"""

    BESIDE_VCENTER = r"""
options:
  api_url:
    description:
      - URL of the CloudStack API, for example V(https://cloud.example.com/client/api).
      - If not set, the E(CLOUDSTACK_ENDPOINT) environment variable is used, then the C(endpoint)
        of the O(api_region) section of C(cloudstack.ini).
      - A plain C(http) URL works, with a warning, since the signed requests and the answers then cross the network unencrypted.
    type: str
  api_key:
    description:
      - API key of the CloudStack user. Root admin rights are needed to read pools and volume paths.
      - If not set, E(CLOUDSTACK_KEY) is used, then C(cloudstack.ini).
    type: str
  api_secret:
    description:
      - Secret key of the CloudStack user. Never logged, never returned.
      - If not set, E(CLOUDSTACK_SECRET) is used, then C(cloudstack.ini).
    type: str
  api_timeout:
    description:
      - HTTP timeout of one API call, in seconds (10 when neither set here nor in C(cloudstack.ini)).
      - If not set, E(CLOUDSTACK_TIMEOUT) is used, then C(cloudstack.ini).
    type: int
  api_http_method:
    description:
      - HTTP method of the API calls (V(get) when neither set here nor in C(cloudstack.ini)).
      - If not set, E(CLOUDSTACK_METHOD) is used, then C(cloudstack.ini).
    type: str
    choices: [get, post]
  api_verify_ssl_cert:
    description:
      - Path of a PEM bundle of the CAs to trust for CloudStack's certificate instead of the system CAs,
        for a management server whose certificate is signed by a private CA.
      - It is a path, not a switch; V(false) is refused with a message that names the switch, O(api_validate_certs).
      - Ignored when O(api_validate_certs) is V(false).
      - If not set, E(CLOUDSTACK_VERIFY) is used, then the C(verify) key of C(cloudstack.ini).
    type: path
  api_validate_certs:
    description:
      - Validate CloudStack's TLS certificate (against the system CAs, or O(api_verify_ssl_cert) when given).
      - If V(false), the certificate is not validated and the module warns. Set it only on a network you trust.
      - If not set, E(CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY) is used, read as its name says and as the C(cs) library
        reads it, V(true) turning validation off; then the C(dangerous_no_tls_verify) key of C(cloudstack.ini).
      - A certificate that cannot be verified fails the task at once with a message that names this option; it
        is not retried as a passing connection error.
      - This module also talks to vCenter and O(validate_certs) is vCenter's switch, as in C(vmware.vmware).
        CloudStack's switch is this option.
      - V(validate_certs) set in C(module_defaults) for C(group/cloudstack_vmware.safe_migration.cloudstack) is
        meant for CloudStack, as in C(ngine_io.cloudstack)'s group, and is taken as this option; it never turns
        off the validation of vCenter's certificate.
    type: bool
    default: true
  api_region:
    description:
      - Section of C(cloudstack.ini) to read what the options and the environment leave unset, a documented
        extra for users of the C(cs) command-line client; the options and the E(CLOUDSTACK_*) variables come first.
      - C(cloudstack.ini) is looked for in the current directory, then C(~/.cloudstack.ini), and in
        E(CLOUDSTACK_CONFIG) when set.
      - If not set, E(CLOUDSTACK_REGION) is used.
    type: str
    default: cloudstack
requirements:
  - cs >= 3.0.0
"""
