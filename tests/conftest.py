"""Shared test set-up.

Tests that train on real data need the offline copies this machine has beside the
checkout (``../shared/data``, or Debian's ``dataset-fashion-mnist``). In a checkout
without them and without internet, such a test is reported as skipped with the
loader's own message, not as a failure; where the copy exists, nothing changes.

Under CI (``CI=true``, as ``.ci/run`` runs) nothing the suite needs may be skipped: a skip fails the test,
unless its reason starts with "optional:" (a data source CI does not install, such as Debian's package).
"""
import os

import pytest

from sparsebook import data


def _offline_copy_missing(err: data.DataNotFoundError) -> bool:
    return err.dataset is not None and not data.has_offline_copy(err.dataset)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    ci = os.environ.get("CI") == "true"
    if not ci and call.excinfo is not None and call.excinfo.errisinstance(data.DataNotFoundError) \
            and _offline_copy_missing(call.excinfo.value):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"no offline data: {call.excinfo.value}")
    if ci and report.skipped and not _optional(report):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where everything the suite needs must be there: {report.longrepr}"


def _optional(report) -> bool:
    reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return "optional:" in str(reason)
