# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the shared CloudStack connection options."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - URL of the CloudStack API, for example V(https://cloud.example.com/client/api).
      - If not set, the E(CLOUDSTACK_ENDPOINT) environment variable is used, then the C(endpoint)
        of the O(api_region) section of C(cloudstack.ini).
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
      - HTTP timeout of one API call, in seconds (default 10).
      - If not set, E(CLOUDSTACK_TIMEOUT) is used, then C(cloudstack.ini).
    type: int
  api_http_method:
    description:
      - HTTP method of the API calls (default V(get)).
      - If not set, E(CLOUDSTACK_METHOD) is used, then C(cloudstack.ini).
    type: str
    choices: [get, post]
  api_verify_ssl_cert:
    description:
      - Verify the API server's TLS certificate. V(true) (default), V(false), or the path of a CA bundle.
      - If not set, E(CLOUDSTACK_VERIFY) is used, then C(cloudstack.ini).
    type: str
  api_region:
    description:
      - Section of C(cloudstack.ini) to read what the options and the environment leave unset.
      - C(cloudstack.ini) is looked for in the current directory, then C(~/.cloudstack.ini), and in
        E(CLOUDSTACK_CONFIG) when set.
      - If not set, E(CLOUDSTACK_REGION) is used.
    type: str
    default: cloudstack
requirements:
  - cs >= 3.0.0
"""
