"""archive.py: one header policy for every file, nothing half-written, destinations checked first."""

import json
import os
import stat
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numpy_movievec import archive
from numpy_movievec.checks import MovievecError

FIELDS = {"n_users": int, "source": str, "has_years": bool, "optimizer": (dict, type(None))}
GOOD = {"kind": "ratings", "format_version": 1, "n_users": 5, "source": "x", "has_years": False,
        "optimizer": None}


@pytest.mark.parametrize("text, message", [
    ("not json", "h.json: the header is not valid JSON"),
    ("[1, 2]", "h.json: the header is JSON but not an object: '[1, 2]'"),
    ('{"format_version": 1}', "h.json: holds a None, expected ratings"),
    (json.dumps({**GOOD, "kind": "RatingNet"}), "h.json: holds a 'RatingNet', expected ratings"),
    (json.dumps({**GOOD, "format_version": "1"}), "format_version must be a whole number >= 1, "
                                                  "got '1'"),
    (json.dumps({**GOOD, "format_version": 0}), "format_version must be a whole number >= 1"),
    (json.dumps({**GOOD, "format_version": 2}), "format version 2 is newer than this "
                                                "numpy_movievec reads (1); upgrade the library"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "n_users"}),
     "h.json: the header has no 'n_users' entry"),
    (json.dumps({**GOOD, "n_users": "5"}), "entry 'n_users' must be a whole number >= 0, got '5'"),
    (json.dumps({**GOOD, "n_users": -1}), "entry 'n_users' must be a whole number >= 0, got -1"),
    (json.dumps({**GOOD, "n_users": True}), "entry 'n_users' must be a whole number >= 0"),
    (json.dumps({**GOOD, "has_years": 1}), "entry 'has_years' must be true or false, got 1"),
    (json.dumps({**GOOD, "optimizer": []}), "entry 'optimizer' must be an object or null"),
])
def test_every_header_problem_is_a_value_error_naming_the_file(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        archive.parse_header(text, "h.json", ["ratings"], FIELDS)


def test_a_good_header_reads_back():
    assert archive.parse_header(json.dumps(GOOD), "h.json", ["ratings"], FIELDS) == GOOD


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_as_a_model_file_raise_a_value_error_naming_it(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("npz") / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        archive.load_npz(path, "RatingNet")
    assert isinstance(error.value, MovievecError) and str(error.value).startswith(f"{path}: ")


def test_saved_arrays_come_back_exactly_and_objects_are_refused(tmp_path):
    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "t": np.array(["a", "bé"])}
    header, back = archive.load_npz(archive.save_npz(tmp_path / "x.npz", "K", arrays, n=1), "K")
    assert header == {"kind": "K", "format_version": 1, "n": 1}
    assert all(np.array_equal(back[k], v) and back[k].dtype == v.dtype for k, v in arrays.items())
    with pytest.raises(TypeError, match="object array"):
        archive.save_npz(tmp_path / "y.npz", "K", {"o": np.array([None], dtype=object)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]
    assert archive.read_header(tmp_path / "x.npz")["kind"] == "K"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with archive.atomic_file(target) as f:
            f.write(b"half")
            raise RuntimeError("killed")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["model.npz"]


def dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_only_dead_writers_temporaries_of_the_same_target_are_removed(tmp_path):
    dead = dead_pid()
    names = {
        f".model.npz.{dead}.ab12.tmp": True,           # a dead writer's file
        f".model.npz.{dead}.cd34.old": True,           # a dead swap's old directory
        f".model.npz.{os.getppid()}.ef56.tmp": False,  # a live process's
        f".model.npz.5.{dead}.ab12.tmp": False,        # the target "model.npz.5"
        f".other.npz.{dead}.ab12.tmp": False,          # another target
        "model.npz.ab12.tmp": False,                   # not hidden: not ours
    }
    for name in names:
        (tmp_path / name).mkdir() if name.endswith(".old") else (tmp_path / name).write_bytes(b"x")
    removed = archive.remove_stale_temporaries(tmp_path / "model.npz")
    assert sorted(p.name for p in removed) == sorted(n for n, stale in names.items() if stale)
    assert sorted(os.listdir(tmp_path)) == sorted(n for n, stale in names.items() if not stale)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_and_directories_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        with archive.atomic_file(tmp_path / "f.bin") as f:
            f.write(b"x")
        with archive.staged_directory(tmp_path / "store") as staging:
            (staging / "a.npy").write_bytes(b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "store").stat().st_mode) == 0o777 & ~umask


def test_check_destination_refuses_before_any_work(tmp_path, monkeypatch):
    (tmp_path / "folder").mkdir()
    with pytest.raises(FileExistsError, match="folder is a directory, not a file to write"):
        archive.check_destination(tmp_path / "folder")
    with pytest.raises(FileNotFoundError, match="missing: no such directory .to write m.npz"):
        archive.check_destination(tmp_path / "missing" / "m.npz")
    monkeypatch.setattr(archive.shutil, "disk_usage",
                        lambda path: types.SimpleNamespace(free=10_000))
    with pytest.raises(OSError, match=r"m.npz: it needs about 1.0 MB and .* has 10.0 kB free"):
        archive.check_destination(tmp_path / "m.npz", n_bytes=10**6)
    assert archive.check_destination(tmp_path / "m.npz", n_bytes=5_000) == tmp_path / "m.npz"
    assert sorted(os.listdir(tmp_path)) == ["folder"]  # the probe file is gone


def test_save_or_rescue_tries_the_rescue_folders_in_order(tmp_path, monkeypatch):
    rescue = tmp_path / "tmp"
    rescue.mkdir()
    monkeypatch.setattr(archive.tempfile, "tempdir", str(rescue))
    written = []

    def save(path):
        if path.parent == tmp_path:
            raise OSError(30, "Read-only file system")
        path.write_bytes(b"model")
        written.append(path)

    with pytest.raises(OSError, match=r"could not write .*m.npz \(Read-only file system\); the "
                                      r"model was saved to .*tmp/m.rescued-.*npz instead"):
        archive.save_or_rescue(save, tmp_path / "m.npz", "the model")
    assert [p.parent for p in written] == [rescue] and written[0].read_bytes() == b"model"
