"""The one error boundary of the modules: domain errors and bugs become messages, never tracebacks."""

from __future__ import annotations

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import boundary as module_boundary
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, diff=False):
        self._diff = diff
        self.failure = None

    def fail_json(self, **kwargs):
        self.failure = kwargs
        raise Failed()


def raise_error(error):
    raise error


def test_the_service_result_is_returned():
    assert module_boundary.run_service(FakeModule(), lambda a, b: a + b, 1, b=2) == 3


def test_a_domain_error_fails_with_its_message_and_facts():
    module = FakeModule()
    with pytest.raises(Failed):
        module_boundary.run_service(module, raise_error, InvalidInput("Volume DATA-9 not found", volume="DATA-9"))
    assert module.failure == {"msg": "Volume DATA-9 not found", "volume": "DATA-9"}


@pytest.mark.parametrize("diff_mode", [True, False])
def test_a_failure_shows_its_diff_only_in_diff_mode(diff_mode):
    module = FakeModule(diff=diff_mode)
    error = InvalidInput("drift", diff={"before": "a", "after": "b"})
    with pytest.raises(Failed):
        module_boundary.run_service(module, raise_error, error)
    assert ("diff" in module.failure) is diff_mode


def test_a_bug_fails_with_a_message_not_a_traceback():
    module = FakeModule()
    with pytest.raises(Failed):
        module_boundary.run_service(module, raise_error, KeyError("pool"))
    assert module.failure == {"msg": "Unexpected error: KeyError: 'pool'"}


def test_a_missing_library_names_what_to_install(monkeypatch):
    monkeypatch.setattr(module_boundary.cloudstack_client, "HAS_CS", False)
    module = FakeModule()
    with pytest.raises(Failed):
        module_boundary.require_libraries(module, cloudstack=True)
    assert "required Python library (cs)" in module.failure["msg"]
