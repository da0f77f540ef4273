"""Atomic files: whatever stops a write, no temporary file is left and the target is untouched."""

from __future__ import annotations

import json
import os
from pathlib import Path

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


def test_claim_output_dir_accepts_new_empty_and_escsim_own_folders(tmp_path):
    files.claim_output_dir(tmp_path / "new", "manifest.json", ("a.csv",))
    assert not (tmp_path / "new").exists()  # nothing is created
    (tmp_path / "empty").mkdir()
    files.claim_output_dir(tmp_path / "empty", "manifest.json", ("a.csv",))
    for i, record in enumerate(
        [
            {"written_by": "escsim"},
            {"escsim_version": "0.1.0"},  # calibrate's results.json, episode's manifest
            {"command": "escsim evaluate --quick"},  # evaluate's standing.json (older)
        ]
    ):
        own = tmp_path / f"own{i}"
        own.mkdir()
        (own / "manifest.json").write_text(json.dumps(record))
        (own / "a.csv").write_text("x")
        files.claim_output_dir(own, "manifest.json", ("a.csv",))


@pytest.mark.parametrize(
    "record", ['{"command": "make all"}', "[1]", "not json", '{"written_by": "me"}']
)
def test_claim_output_dir_refuses_a_folder_without_escsim_marker(tmp_path, record):
    (tmp_path / "manifest.json").write_text(record)
    with pytest.raises(files.RunError, match="escsim did not write"):
        files.claim_output_dir(tmp_path, "manifest.json", ())


def test_claim_output_dir_refuses_a_marker_that_is_a_link(tmp_path):
    (tmp_path / "elsewhere.json").write_text('{"written_by": "escsim"}')
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(files.RunError):
        files.claim_output_dir(out, "manifest.json", ())


def test_check_input_file_refuses_fifos_devices_and_large_files(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(files.RunError, match="not a regular file"):
            files.check_input_file(path, "--posterior")
    big = tmp_path / "big.parquet"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(files.RunError, match="2,000 bytes"):
        files.check_input_file(big, "--posterior", max_bytes=1000)
    with pytest.raises(files.RunError, match="--posterior"):
        files.check_input_file(tmp_path / "missing", "--posterior")


def test_claim_output_dir_refuses_a_file_where_a_folder_goes(tmp_path):
    # found after the minutes of computing, it failed with exit 1; now before anything runs
    (tmp_path / "manifest.json").write_text('{"written_by": "escsim"}')
    (tmp_path / "plots").write_text("a file")
    with pytest.raises(files.RunError, match="plots: escsim writes a folder there"):
        files.claim_output_dir(tmp_path, "manifest.json", ("plots", "plots/fan.png"))
