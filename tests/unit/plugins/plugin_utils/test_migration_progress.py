# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress lines from a run's journal: what each event shows, and following a journal that others write too."""

import json

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal
from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.migration_progress import (
    JournalFollower,
    ProgressBook,
    ProgressPrinter,
)

PLAN = {"volume_name": "DATA-1", "volume_size": 20 * 1024 ** 3, "source": {"pool_name": "nfs-1"},
        "destination": {"pool_name": "nfs-2"}}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_volume_shows_when_it_starts_and_when_it_ends_with_the_total_and_the_time_left():
    clock = Clock()
    book = ProgressBook(4, clock=clock)

    assert book.lines({"event": "plan", "volume": "v1", "plan": PLAN}) == ["started DATA-1 (v1), 20.0 GiB: nfs-1 -> nfs-2"]
    assert book.lines({"event": "job_submitting", "volume": "v1", "job_id": "j1"}) == []
    clock.now = 100.0
    assert book.lines({"event": "outcome", "volume": "v1", "status": "migrated", "duration": 61.4}) == [
        "[1/4 done, about 5 min 00 s left] DATA-1 (v1) migrated after 1 min 01 s"]


def test_a_volume_that_is_not_verified_shows_why_and_is_counted():
    clock = Clock()
    book = ProgressBook(2, clock=clock)
    clock.now = 10.0
    book.lines({"event": "outcome", "volume": "v1", "status": "migrated", "duration": 5})
    message = "FALSE SUCCESS: CloudStack reports volume v2 migrated " + "x" * 400

    line, = book.lines({"event": "outcome", "volume": "v2", "status": "failed", "duration": 7, "msg": message})

    assert line.startswith("[2/2 done, 1 not verified] v2 failed after 7 s: FALSE SUCCESS: CloudStack reports volume v2")
    assert line.endswith("...") and len(line) < 320


def test_an_adopted_job_is_named():
    assert ProgressBook(1).lines({"event": "job_adopted", "volume": "v1", "job_id": "j9"}) == [
        "v1: waiting for job j9, which was already running"]


def test_the_follower_shows_only_its_run_s_complete_lines_appended_after_it_started(tmp_path):
    path = tmp_path / "journal.jsonl"
    Journal(str(path), run_id="earlier").record("v0", "plan", plan=PLAN)
    follower = JournalFollower(str(path), "mine")
    mine, other = Journal(str(path), run_id="mine"), Journal(str(path), run_id="other")

    mine.record("v1", "plan", plan=PLAN)
    other.record("v2", "plan", plan=PLAN)
    with open(path, "ab") as handle:  # a line being written: shown once it ends
        handle.write(json.dumps({"run": "mine", "volume": "v3", "event": "outcome"})[:20].encode())
    assert [event["volume"] for event in follower.new_events()] == ["v1"]
    with open(path, "ab") as handle:
        handle.write(json.dumps({"run": "mine", "volume": "v3", "event": "outcome"})[20:].encode() + b"\n\xff\xfe\n")
    assert [event["volume"] for event in follower.new_events()] == ["v3"]
    assert not follower.new_events()


def test_the_follower_of_a_journal_not_yet_written_waits_for_it(tmp_path):
    path = tmp_path / "journal.jsonl"
    follower = JournalFollower(str(path), "mine")
    assert not follower.new_events()

    Journal(str(path), run_id="mine").record("v1", "plan", plan=PLAN)

    assert [event["volume"] for event in follower.new_events()] == ["v1"]


def test_the_printer_shows_the_last_lines_when_it_stops(tmp_path):
    path = tmp_path / "journal.jsonl"
    shown = []
    printer = ProgressPrinter(JournalFollower(str(path), "mine"), ProgressBook(1), shown.append, interval=3600).start()
    Journal(str(path), run_id="mine").record("v1", "outcome", status="migrated", duration=3)

    printer.stop()

    assert shown == ["[1/1 done] v1 migrated after 3 s"]


def test_a_journal_line_of_an_unexpected_shape_is_passed_over_and_the_next_ones_still_show(tmp_path):
    path = tmp_path / "journal.jsonl"
    shown, errors = [], []
    printer = ProgressPrinter(JournalFollower(str(path), "mine"), ProgressBook(1), shown.append, interval=3600,
                              on_error=errors.append).start()
    journal = Journal(str(path), run_id="mine")
    journal.record("v1", "plan", plan="not a plan")
    journal.record("v1", "outcome", status="migrated", duration=3)

    printer.stop()

    assert shown == ["[1/1 done] v1 migrated after 3 s"]
    assert len(errors) == 1 and errors[0].startswith("AttributeError")


def test_the_volumes_not_started_are_counted_with_why_after_the_run():
    book = ProgressBook(4)
    book.lines({"event": "outcome", "volume": "v1", "status": "migrated", "duration": 3})
    volumes = [{"volume": "v1", "status": "migrated"},
               {"volume": "v2", "status": "not_started", "not_started_reason": "window_ended"},
               {"volume": "v3", "status": "not_started", "not_started_reason": "window_ended"}]

    assert book.closing_lines(volumes) == [
        "[1/4 done] 2 not started: the maintenance window ended; run the same plan again to go on"]
    assert book.closing_lines(volumes[:1]) == [] and book.closing_lines(None) == []
