# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one CloudStack façade: the only file that imports ``cs``.

A method per API command. Errors come out as domain exceptions whose message says
what failed, with ids. Reads retry transient failures (connection errors, 429, 5xx)
with a capped backoff: a few attempts until CloudStack has answered once (a wrong URL fails fast), then for up to
OUTAGE_SECONDS (a management server that answered and stops is restarting); a TLS failure (an unverifiable certificate) is not transient and
fails at once, naming the options that fix it; mutating commands are never retried here: the caller gives
them a ``customjobid`` and looks the job up before any second submission.
"""

from __future__ import annotations

import ssl
import time

from ansible.module_utils.common.warnings import warn as ansible_warn

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.arguments import NO_TLS_VERIFY_ENV
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    CloudStackApiError,
    ConnectionFailed,
    InvalidInput,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.waiter import Backoff

# How long reads wait for a management server that answered before and stopped answering (a restart takes minutes).
OUTAGE_SECONDS = 300

try:
    from cs import CloudStack, CloudStackApiException, CloudStackException
    from cs.client import read_config_from_ini
    import requests
    HAS_CS = True
    CS_IMPORT_ERROR = None
except ImportError as import_error:  # reported by the module with missing_required_lib
    HAS_CS = False
    CS_IMPORT_ERROR = import_error

CS_LIBRARY = "cs"
PARAM_ERROR = 431
UNAUTHORIZED = 401
# 5xx that say "this request is wrong for you", not "try again later".
NOT_TRANSIENT_5XX = (531, 532, 535, 536, 537)
# What a load balancer or proxy answers while the management server behind it restarts.
OUTAGE_STATUSES = (502, 503, 504)


class ApiFailure:
    """What one failed call told us, classified."""

    def __init__(self, status=None, errortext=None, connection=False, tls=False):
        self.status = status
        self.errortext = errortext
        self.connection = connection
        self.tls = tls

    @property
    def transient(self):
        if self.tls:
            # A certificate that cannot be verified now will not verify on a retry.
            return False
        if self.connection:
            return True
        if self.status is None:
            return False
        return self.status == 429 or (500 <= self.status < 600 and self.status not in NOT_TRANSIENT_5XX)


def classify(exc):
    """Turn an exception raised by ``cs``/``requests`` into an ``ApiFailure`` (None: not an API failure)."""
    if isinstance(exc, requests.exceptions.SSLError):
        # Checked before ConnectionError, of which it is a subclass. str(exc) may carry the signed URL: keep
        # only what the TLS layer said about the certificate.
        return ApiFailure(errortext=_tls_reason(exc), connection=True, tls=True)
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        # str(exc) may carry the signed URL (api key): keep only the exception's kind.
        return ApiFailure(errortext="connection failed (%s)" % type(exc).__name__, connection=True)
    if isinstance(exc, CloudStackApiException):
        error = exc.error if isinstance(exc.error, dict) else {}
        status = _status_of(exc) or error.get("errorcode")
        return ApiFailure(status=status, errortext=error.get("errortext") or "HTTP %s" % status)
    if isinstance(exc, CloudStackException):
        status = _status_of(exc)
        return ApiFailure(status=status, errortext=str(exc.args[0]) if exc.args else "HTTP %s" % status)
    return None


def _tls_reason(exc):
    """What the TLS layer said (e.g. "certificate verify failed: self-signed certificate"), without any URL."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return "certificate verify failed: %s" % (current.verify_message or current.reason or "no reason given")
        if isinstance(current, ssl.SSLError):
            return "TLS error: %s" % (current.reason or type(current).__name__)
        # requests wraps urllib3's MaxRetryError (its .reason), which wraps the ssl module's error
        pending.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
        pending.extend(value for value in (getattr(current, "reason", None), current.__cause__, current.__context__)
                       if isinstance(value, BaseException))
    return "TLS error (%s)" % type(exc).__name__


def _status_of(exc):
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


class CloudStackClient:
    """A method per CloudStack command used by the collection."""

    def __init__(self, api, endpoint=None, read_attempts=4, backoff=None, sleep=time.sleep, tls_hint=None,
                 clock=time.monotonic, outage_seconds=OUTAGE_SECONDS):
        self._api = api
        self._endpoint = endpoint
        self._tls_hint = tls_hint or ("give the CA bundle that signed its certificate in api_verify_ssl_cert "
                                      "(or CLOUDSTACK_VERIFY), or turn validation off on a trusted network")
        self._read_attempts = read_attempts
        self._backoff = backoff or Backoff(first=0.5, factor=2.0, cap=5.0)
        self._sleep = sleep
        self._clock = clock
        self._outage_seconds = outage_seconds
        self._answered = False

    # ---- reads -------------------------------------------------------------------------------
    def list_volumes(self, **filters):
        return self._read("list volumes", "listVolumes", listall=True, fetch_list=True, **filters)

    def get_volume(self, volume_id):
        return self._get_one("read volume %s" % volume_id, "listVolumes", id=volume_id, listall=True)

    def list_storage_pools(self, **filters):
        return self._read("list storage pools", "listStoragePools", fetch_list=True, **filters)

    def get_storage_pool(self, pool_id):
        return self._get_one("read storage pool %s" % pool_id, "listStoragePools", id=pool_id)

    def find_storage_pools_for_migration(self, volume_id):
        return self._read("find storage pools for the migration of volume %s" % volume_id,
                          "findStoragePoolsForMigration", id=volume_id, fetch_list=True)

    def list_virtual_machines(self, **filters):
        return self._read("list virtual machines", "listVirtualMachines", listall=True, fetch_list=True, **filters)

    def get_virtual_machine(self, vm_id):
        return self._get_one("read virtual machine %s" % vm_id, "listVirtualMachines", id=vm_id, listall=True)

    def list_zones(self, **filters):
        return self._read("list zones", "listZones", fetch_list=True, **filters)

    def list_vmware_dcs(self, zone_id):
        """The VMware datacenter of a zone and the vCenter that holds it ([] for a zone without one)."""
        return self._read("list the VMware datacenter of zone %s" % zone_id, "listVmwareDcs", zoneid=zone_id, fetch_list=True)

    def get_configuration(self, name):
        """The value of the global setting ``name`` (None: no such setting); listConfigurations matches substrings."""
        found = self._read("read the setting %s" % name, "listConfigurations", name=name, fetch_list=True)
        return next((item.get("value") for item in found if item.get("name") == name), None)

    def query_job(self, job_id):
        """The job's record, or None when CloudStack does not know the job id."""
        try:
            return self._read("query job %s" % job_id, "queryAsyncJobResult", jobid=job_id)
        except CloudStackApiError as error:
            if error.facts.get("errorcode") == PARAM_ERROR:
                return None
            raise

    # ---- mutations (never retried) -------------------------------------------------------------
    def migrate_volume(self, volume_id, pool_id, job_id, live=False):
        """Submit migrateVolume with a caller-chosen job id; return the job id CloudStack answered."""
        params = dict(volumeid=volume_id, storageid=pool_id, customjobid=job_id)
        if live:
            params["livemigrate"] = True
        answer = self._call("migrate volume %s to storage pool %s" % (volume_id, pool_id), "migrateVolume", params)
        return answer.get("jobid", job_id)

    def update_volume(self, volume_id, job_id, storage_id=None, path=None, state=None):
        """Submit updateVolume (a record-only change) with a caller-chosen job id; return its job id (None: done at once)."""
        params = dict(id=volume_id, customjobid=job_id, storageid=storage_id, path=path, state=state)
        params = {key: value for key, value in params.items() if value is not None}
        answer = self._call("update the record of volume %s" % volume_id, "updateVolume", params)
        return answer.get("jobid")

    # ---- plumbing ------------------------------------------------------------------------------
    def _get_one(self, what, command, **params):
        try:
            found = self._read(what, command, fetch_list=True, **params)
        except CloudStackApiError as error:
            # An unknown UUID fails parameter processing with 431: it is "not found".
            if error.facts.get("errorcode") == PARAM_ERROR:
                return None
            raise
        return found[0] if found else None

    def _read(self, what, command, **params):
        delays = self._backoff.delays()
        attempt, started = 1, self._clock()
        while True:
            try:
                return self._call(what, command, params)
            except (CloudStackApiError, ConnectionFailed) as error:
                if not getattr(error, "transient", False) or not self._may_retry(attempt, started, error):
                    raise
            attempt += 1
            self._sleep(next(delays))

    def _may_retry(self, attempt, started, error):
        """A few attempts; for an outage (no answer, or a proxy's 502/503/504) of a CloudStack that has answered
        before, as long as a restart may last."""
        if attempt < self._read_attempts:
            return True
        return self._answered and getattr(error, "outage", False) and self._clock() - started < self._outage_seconds

    def _call(self, what, command, params):
        try:
            answer = getattr(self._api, command)(**params)
        except Exception as exc:  # translated below; anything unknown propagates
            failure = classify(exc)
            if failure is None:
                raise
            if failure.status is not None and not failure.transient:
                self._answered = True  # an error answer is an answer: the server is up
            raise self._translate(what, command, failure) from None
        self._answered = True
        return answer

    def _translate(self, what, command, failure):
        error = self._domain_error(what, command, failure)
        error.transient = failure.transient
        error.outage = failure.transient and (failure.connection or failure.status in OUTAGE_STATUSES)
        return error

    def _domain_error(self, what, command, failure):
        facts = dict(command=command, errorcode=failure.status)
        if failure.tls:
            return ConnectionFailed("Failed to %s: the TLS certificate of CloudStack at %s could not be verified (%s): %s"
                                    % (what, self._endpoint or "the configured api_url", failure.errortext, self._tls_hint),
                                    reason="tls", **facts)
        if failure.connection:
            return ConnectionFailed("Failed to %s: cannot reach CloudStack at %s: %s"
                                    % (what, self._endpoint or "the configured api_url", failure.errortext), **facts)
        if failure.status == UNAUTHORIZED:
            return ConnectionFailed("Failed to %s: CloudStack refused the credentials (%s); check api_key and api_secret"
                                    % (what, failure.errortext), **facts)
        return CloudStackApiError("Failed to %s: %s" % (what, failure.errortext), **facts)


def resolve_settings(settings, ini_reader=None):
    """Complete the settings from cloudstack.ini when the options and environment leave gaps."""
    if not settings.missing():
        return settings
    reader = ini_reader or read_config_from_ini
    try:
        ini = reader(settings.region)
    except (SystemExit, OSError, ValueError, KeyError):
        # No ini file, or no such region: the check below names what is missing.
        ini = {}
    merged = settings.merged_with_ini(ini or {})
    if merged.missing():
        raise InvalidInput(
            "CloudStack connection incomplete: missing %s. Set the options, the CLOUDSTACK_* environment "
            "variables or a cloudstack.ini section [%s]" % (", ".join(merged.missing()), settings.region),
            missing=merged.missing(),
        )
    return merged


def tls_hint(settings):
    """What fixes an unverifiable CloudStack certificate, with the option names of this module."""
    return ("give the CA bundle that signed its certificate in api_verify_ssl_cert (or CLOUDSTACK_VERIFY), or set "
            "%s=false (or %s=true) on a trusted network" % (settings.switch_name, NO_TLS_VERIFY_ENV))


def connect(settings, warn=None, **client_options):
    """A ``CloudStackClient`` for the given settings (completed from cloudstack.ini when needed).

    ``warn`` (default: Ansible's module warning, what ``module.warn`` calls) receives a warning when the
    certificate is not validated or the endpoint is plain http.
    """
    settings = resolve_settings(settings)
    settings.check()
    for reason in settings.insecure():
        (warn or ansible_warn)(reason)
    verify = settings.tls_verify()
    api = CloudStack(
        endpoint=settings.endpoint,
        key=settings.key,
        secret=settings.secret,
        timeout=int(settings.timeout or settings.DEFAULT_TIMEOUT),
        method=(settings.method or settings.DEFAULT_METHOD).lower(),
        verify=verify if verify is not False else None,
        dangerous_no_tls_verify=verify is False,
        retry=0,
    )
    return CloudStackClient(api, endpoint=settings.endpoint, tls_hint=tls_hint(settings), **client_options)
