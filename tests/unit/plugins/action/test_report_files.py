"""The report writer of the report role: whole files, plain names, a clear error otherwise."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.action.report_files import (
    ReportFilesError,
    write_report_files,
)


def test_writes_every_file_into_a_new_directory_with_report_modes(tmp_path):
    dest = tmp_path / "report" / "nested"

    written = write_report_files(str(dest), {"report.json": "{}\n", "report.md": "# Report\n"})

    assert written == [str(dest / "report.json"), str(dest / "report.md")]
    assert (dest / "report.json").read_text() == "{}\n" and (dest / "report.md").read_text() == "# Report\n"
    assert stat.S_IMODE(os.stat(dest / "report.md").st_mode) == 0o644
    assert sorted(os.listdir(dest)) == ["report.json", "report.md"]  # no partial file left behind


def test_a_second_write_replaces_the_files_whole(tmp_path):
    write_report_files(str(tmp_path), {"junit.xml": "<old/>" * 1000})

    write_report_files(str(tmp_path), {"junit.xml": "<new/>"})

    assert (tmp_path / "junit.xml").read_text() == "<new/>"


@pytest.mark.parametrize("name", ["../escape.json", "sub/report.json", ".hidden", "", 3])
def test_a_name_that_is_not_a_plain_file_name_is_refused_and_nothing_is_written(tmp_path, name):
    with pytest.raises(ReportFilesError, match="not a plain file name"):
        write_report_files(str(tmp_path / "report"), {"report.json": "{}", name: "x"})

    assert not (tmp_path / "report").exists() and not (tmp_path / "escape.json").exists()


def test_a_report_directory_that_is_a_file_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "report").write_text("not a directory")

    with pytest.raises(ReportFilesError, match="is not a directory: choose another report directory"):
        write_report_files(str(tmp_path / "report"), {"report.json": "{}"})


@pytest.mark.parametrize("dest, files, message", [
    ("", {"a.json": "{}"}, "dest must be"),
    ("/tmp/x", {}, "files must map"),
    ("/tmp/x", {"a.json": {"not": "text"}}, "must be text"),
])
def test_bad_arguments_say_what_is_wrong(dest, files, message):
    with pytest.raises(ReportFilesError, match=message):
        write_report_files(dest, files)
