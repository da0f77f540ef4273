"""Atomic files: whatever stops a write, no temporary file is left and the target is untouched."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from sim.results import files
from sim.results.files import atomic_file, is_temp_name, write_parquet_atomic, write_text_atomic


def test_a_finished_block_renames_the_file_into_place(tmp_path):
    target = tmp_path / "a.txt"
    with atomic_file(target) as tmp:
        assert is_temp_name(tmp.name, "a.txt")
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    assert os.listdir(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError, SystemExit])
def test_a_stopped_block_leaves_nothing_and_keeps_the_old_file(tmp_path, stop):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(stop), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise stop
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_an_interrupt_just_after_the_file_is_created_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C landing between the creation and the block (the window CI once hit) is cleaned."""
    real_close = os.close

    def close_then_interrupt(fd):
        real_close(fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "close", close_then_interrupt)
    with pytest.raises(KeyboardInterrupt), atomic_file(tmp_path / "a.parquet"):
        pass
    assert os.listdir(tmp_path) == []


def test_writers_replace_atomically(tmp_path):
    write_text_atomic("x", tmp_path / "t.txt")
    write_parquet_atomic(pa.table({"run": [1, 2]}), tmp_path / "r.parquet")
    assert sorted(os.listdir(tmp_path)) == ["r.parquet", "t.txt"]
    assert (tmp_path / "t.txt").read_text() == "x"
