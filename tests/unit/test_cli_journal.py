"""`predictex journal verify|export` in-process: the ordinary mishaps (no journal where it was looked
for, an output file that cannot be written) are one line on stderr and exit code 2, never a traceback;
a journal that works is verified and exported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from predictex.cli.main import main
from predictex.journal import open_store


def test_no_journal_says_where_it_looked_and_what_to_give(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("verify", "export"):
        assert main(["journal", action, "--database", str(tmp_path / "none.db")]) == 2
        err = capsys.readouterr().err
        assert err == (f"predictex journal {action}: no journal at {tmp_path / 'none.db'}: give --database "
                       "(the SQLite file in the server's data directory, or its postgresql:// URL)\n")
    assert not (tmp_path / "none.db").exists()  # looking made nothing


def test_an_output_file_that_cannot_be_written_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "journal.db"
    open_store(str(database)).close()  # an empty journal
    assert main(["journal", "export", "--database", str(database), "-o", str(tmp_path / "no" / "such" / "dir.jsonl")]) == 2
    assert capsys.readouterr().err == f"predictex journal export: No such file or directory: {tmp_path / 'no' / 'such' / 'dir.jsonl'}\n"


def test_a_journal_is_verified_and_exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "journal.db"
    open_store(str(database)).close()  # an empty journal
    assert main(["journal", "verify", "--database", str(database)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "journal OK"
    out = tmp_path / "out.jsonl"
    assert main(["journal", "export", "--database", str(database), "-o", str(out)]) == 0
    assert capsys.readouterr().err == "exported 0 records\n"
    assert [json.loads(line) for line in out.read_text().splitlines()] == []
