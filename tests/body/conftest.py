"""Fake SMPL model files for the body tests (random arrays of SMPL's layout; no SMPL data)."""

from __future__ import annotations

import pickle
import struct
import sys
import types
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import scipy.sparse

from posegpt.body.fake_smpl import fake_smpl_arrays

#: Keys the official .pkl files store as chumpy objects (the rest: arrays, J_regressor sparse).
CHUMPY_KEYS = ("v_template", "shapedirs")


class _FakeCh:
    """Pickles like chumpy's `Ch` (class `chumpy.ch.Ch`, its `__dict__` as state)."""

    __module__, __qualname__ = "chumpy.ch", "Ch"

    def __init__(self, state: dict) -> None:
        self.__dict__.update(state)


class _Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 `str` opcodes, as the official (Python 2) SMPL files hold them."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def _chumpy_value(value: object) -> _FakeCh:
    if isinstance(value, dict):  # a chumpy expression's state, as given by a test
        return _FakeCh(value)
    return _FakeCh(
        {
            "x": value,
            "_dirty_vars": set(),
            "_itr": None,
            "_make_dense": False,
            "_make_sparse": False,
        }
    )


def write_pkl(path: Path, data: dict) -> None:
    """Pickle `data` the way SMPL's Python 2 code did (protocol 2, chumpy and old module names),
    with a stand-in `chumpy.ch` module present only while pickling."""
    fake = types.ModuleType("chumpy.ch")
    fake.Ch = _FakeCh
    modules = {"chumpy": types.ModuleType("chumpy"), "chumpy.ch": fake}
    with mock.patch.dict(sys.modules, modules), open(path, "wb") as fh:
        _Py2Pickler(fh, protocol=2).dump(data)
    raw = path.read_bytes()
    for new, old in (
        (b"numpy._core.multiarray", b"numpy.core.multiarray"),
        (b"scipy.sparse._csc", b"scipy.sparse.csc"),
    ):
        raw = raw.replace(b"c" + new + b"\n", b"c" + old + b"\n")
    path.write_bytes(raw)


@pytest.fixture(scope="session")
def write_fake_smpl():
    """`write(path, fmt="npz" | "pkl", arrays=None) -> path`: a fake SMPL model file.

    `arrays` defaults to `fake_smpl_arrays()`; tests pass altered ones (in a .pkl, a dict given
    for a chumpy key becomes that chumpy object's pickled state). The .pkl imitates the official
    files: chumpy `Ch` objects, a scipy csc J_regressor, extra keys.
    """

    def write(path: Path, fmt: str = "npz", arrays: dict | None = None) -> Path:
        data = dict(fake_smpl_arrays() if arrays is None else arrays)
        path = Path(path)
        if fmt == "npz":
            np.savez(path, **data)
            return path
        for key in CHUMPY_KEYS:
            data[key] = _chumpy_value(data[key])
        data["J_regressor"] = scipy.sparse.csc_matrix(data["J_regressor"])
        data.update(bs_style="lbs", bs_type="lrotmin", J=np.zeros((24, 3)))
        write_pkl(path, data)
        return path

    return write


@pytest.fixture(scope="session")
def smpl_npz(tmp_path_factory, write_fake_smpl) -> Path:
    """A fake SMPL_NEUTRAL.npz (seed 0), shared by the session."""
    return write_fake_smpl(tmp_path_factory.mktemp("smpl") / "SMPL_NEUTRAL.npz")


@pytest.fixture(scope="session")
def smpl_pkl(tmp_path_factory, write_fake_smpl) -> Path:
    """The same model as `smpl_npz`, as an official-style SMPL_NEUTRAL.pkl."""
    return write_fake_smpl(tmp_path_factory.mktemp("smpl") / "SMPL_NEUTRAL.pkl", fmt="pkl")
