"""Find, read and validate the user's licensed SMPL model file (.npz or the official .pkl).

Official SMPL .pkl files are Python 2 pickles that hold chumpy objects and scipy sparse
matrices. They are read with a restricted unpickler that builds only numpy arrays, sets and
inert stand-ins for the chumpy and scipy classes (never importing chumpy, never running
anything a pickle names); any other global makes the load fail with `ModelFileError`.
`convert_smpl_to_npz` turns such a file into a plain .npz once.
"""

from __future__ import annotations

import fnmatch
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

from posegpt.body.npz import read_npz
from posegpt.body.skeleton import NUM_JOINTS, PARENTS
from posegpt.errors import InvalidInputError, ModelFileError, TooLargeError
from posegpt.files import atomic_path

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray

#: The arrays a SMPL model file must hold (SMPL's own key names).
SMPL_KEYS: tuple[str, ...] = (
    "v_template",
    "f",
    "J_regressor",
    "kintree_table",
    "weights",
    "shapedirs",
    "posedirs",
)
NUM_VERTICES = 6890
NUM_POSE_BASIS = (NUM_JOINTS - 1) * 9
#: Largest model file read, and largest total size of the arrays in an .npz.
MAX_FILE_BYTES = 1 << 30

#: File names searched in a model folder, best first (lower-cased; neutral, then male, female).
MODEL_FILE_PATTERNS: tuple[str, ...] = tuple(
    f"{stem}.{ext}"
    for gender, short in (("neutral", "neutral"), ("male", "m"), ("female", "f"))
    for stem in (f"smpl_{gender}", f"basicmodel_{short}_lbs_10_207_0_v*")
    for ext in ("npz", "pkl")
)


def find_smpl_file(model_path: str | os.PathLike | None = None) -> Path:
    """Resolve the SMPL model file to load.

    `model_path` (else the `SMPL_MODEL_PATH` environment variable) is a model file or a folder.
    In a folder, and then in its `smpl/` subfolder, the first name matching
    `MODEL_FILE_PATTERNS` wins (case-insensitive): the neutral model before the male and female
    ones, .npz before .pkl, the newest version first. Pass a file path to choose a gendered
    model when a neutral one is present.
    """
    if model_path is None or str(model_path) == "":
        model_path = os.environ.get("SMPL_MODEL_PATH")
    if not model_path:
        raise ModelFileError(
            "no SMPL model given: pass --smpl-model-path or set SMPL_MODEL_PATH to your "
            "SMPL model file or folder (download it from https://smpl.is.tue.mpg.de)"
        )
    path = Path(model_path).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise ModelFileError(f"SMPL model path {path} does not exist")
    for folder in (path, path / "smpl"):
        if not folder.is_dir():
            continue
        names = sorted((p.name for p in folder.iterdir() if p.is_file()), reverse=True)
        for pattern in MODEL_FILE_PATTERNS:
            for name in names:
                if fnmatch.fnmatchcase(name.lower(), pattern):
                    return folder / name
    raise ModelFileError(
        f"no SMPL model file in {path}: expected SMPL_NEUTRAL.npz/.pkl (or SMPL_MALE, "
        "SMPL_FEMALE, basicModel_*_lbs_10_207_0_v1.*.pkl)"
    )


def load_smpl_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read the `SMPL_KEYS` arrays of an .npz or official .pkl SMPL file and validate them.

    Returns float64 `v_template` (V, 3), `shapedirs` (V, 3, K), `posedirs` (V, 3, 207),
    `J_regressor` (24, V) dense, `weights` (V, 24), and int64 `f` (F, 3), `kintree_table` (2, 24).
    Raises `ModelFileError` naming the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"SMPL model file {path} does not exist")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ModelFileError(f"{path} is larger than {MAX_FILE_BYTES} bytes: not a SMPL model")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        raw = _read_npz(path)
    elif suffix == ".pkl":
        raw = _read_pkl(path)
    else:
        raise ModelFileError(f"{path}: unsupported SMPL model file type; expected .npz or .pkl")
    missing = [k for k in SMPL_KEYS if k not in raw]
    if missing:
        raise ModelFileError(f"{path} is not a SMPL model: it lacks {', '.join(missing)}")
    arrays = {key: _as_array(raw[key], key, path) for key in SMPL_KEYS}
    _validate(arrays, path)
    return arrays


def convert_smpl_to_npz(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write the validated arrays of SMPL model `src` (.pkl or .npz) to `dst` (.npz), atomically."""
    dst = Path(dst)
    if dst.suffix.lower() != ".npz":
        raise InvalidInputError(f"the converted SMPL model must be an .npz file, got {dst}")
    arrays = load_smpl_arrays(src)
    with atomic_path(dst) as tmp, open(tmp, "wb") as out:
        np.savez(out, **arrays)
    return dst


def _read_npz(path: Path) -> dict[str, Any]:
    try:
        return read_npz(path, SMPL_KEYS, MAX_FILE_BYTES, "SMPL model", numeric=False)
    except TooLargeError as err:
        raise ModelFileError(str(err)) from err


def load_restricted_pickle(path: str | os.PathLike, what: str = "pickle") -> Any:
    """Unpickle `path` resolving only plain numpy arrays, builtin sets and inert stand-ins for
    chumpy / scipy objects (Python 2 pickles read as latin-1); anything else raises
    ModelFileError naming the file (`what` says what it should have been)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return _RestrictedUnpickler(fh, path).load()
    except ModelFileError:
        raise
    except Exception as err:  # any failure of an untrusted pickle means a corrupt file
        raise ModelFileError(f"cannot read {what} {path}: corrupt pickle ({err})") from err


def _read_pkl(path: Path) -> dict[str, Any]:
    data = load_restricted_pickle(path, "SMPL model")
    if not isinstance(data, dict):
        raise ModelFileError(f"{path} is not a SMPL model: the pickle holds no dict of arrays")
    return data


class _PickledState:
    """Inert stand-in for a chumpy or scipy object in a pickle: keeps its state, runs nothing."""

    #: "module.Class" the pickle named.
    qualname = "?"

    def __setstate__(self, state: Any) -> None:
        self.state = state


_STAND_INS: dict[str, type[_PickledState]] = {}


def _stand_in(qualname: str) -> type[_PickledState]:
    if qualname not in _STAND_INS:
        _STAND_INS[qualname] = type(qualname, (_PickledState,), {"qualname": qualname})
    return _STAND_INS[qualname]


class _NdarrayName:
    """What `numpy.ndarray` resolves to: only `_reconstruct_array` takes it, so that a pickle
    cannot call numpy's constructor itself (and allocate what it likes)."""


def _reconstruct_array(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's pickle constructor, limited to plain arrays; the real shape comes with the state."""
    if subtype is not _NdarrayName:
        raise pickle.UnpicklingError("only plain numpy arrays may be unpickled")
    return _multiarray._reconstruct(np.ndarray, (0,), dtype)


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """What Python 3 protocol-2 pickles name to rebuild bytes; only the latin-1 codec."""
    if encoding.lower().replace("-", "") != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError("only latin-1 encoded bytes may be unpickled")
    return text.encode("latin1")


_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_BUILTIN_MODULES = ("__builtin__", "builtins")  # Python 2 and 3 names
#: The only globals a SMPL (or 3DPW) pickle may name, with what they resolve to.
_SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NdarrayName,
    ("numpy", "dtype"): np.dtype,
    **{(m, "_reconstruct"): _reconstruct_array for m in _NUMPY_MODULES},
    **{(m, "scalar"): _multiarray.scalar for m in _NUMPY_MODULES},
    **{(m, "set"): set for m in _BUILTIN_MODULES},
    **{(m, "frozenset"): frozenset for m in _BUILTIN_MODULES},
    ("_codecs", "encode"): _latin1_bytes,
}
_SPARSE_MODULES = ("scipy.sparse.csc", "scipy.sparse._csc", "scipy.sparse.csr", "scipy.sparse._csr")


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only `_SAFE_GLOBALS`, chumpy classes and scipy csc/csr matrices."""

    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file, encoding="latin1")
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return _SAFE_GLOBALS[module, name]
        if module == "chumpy" or module.startswith("chumpy."):
            return _stand_in(f"{module}.{name}")
        if module in _SPARSE_MODULES and name in ("csc_matrix", "csr_matrix"):
            return _stand_in(f"scipy.sparse.{name}")
        raise ModelFileError(f"refusing to unpickle {module}.{name} from {self.path}")


def _as_array(value: Any, key: str, path: Path) -> np.ndarray:
    """Turn an unpickled value (array, chumpy leaf, sparse matrix) into a dense numeric array."""
    if isinstance(value, _PickledState):
        state = value.state if isinstance(getattr(value, "state", None), dict) else {}
        if value.qualname.startswith("scipy.sparse."):
            value = _sparse_to_dense(state, value.qualname, key, path)
        elif isinstance(state.get("x"), np.ndarray):
            value = state["x"]
        else:
            raise ModelFileError(
                f"{path}: '{key}' is a chumpy object ({value.qualname}) that is not a plain "
                "array; posegpt evaluates no chumpy expressions"
            )
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise ModelFileError(f"{path}: '{key}' is not a numeric array")
    return value


def _sparse_to_dense(state: dict, qualname: str, key: str, path: Path) -> np.ndarray:
    cls = scipy.sparse.csc_matrix if qualname.endswith("csc_matrix") else scipy.sparse.csr_matrix
    try:
        shape = tuple(int(n) for n in state.get("_shape", state.get("shape")))
        if np.prod(shape) * 8 > MAX_FILE_BYTES:
            raise ValueError(f"shape {shape} is too large")
        matrix = cls((state["data"], state["indices"], state["indptr"]), shape=shape)
        matrix.check_format(full_check=True)
        return matrix.toarray()
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: '{key}' is a corrupt sparse matrix ({err})") from err


def _validate(a: dict[str, np.ndarray], path: Path) -> None:
    """Check shapes, index ranges and the kinematic tree; convert dtypes in place."""
    nv = NUM_VERTICES
    expected = {
        "v_template": (nv, 3),
        "J_regressor": (NUM_JOINTS, nv),
        "weights": (nv, NUM_JOINTS),
        "posedirs": (nv, 3, NUM_POSE_BASIS),
        "kintree_table": (2, NUM_JOINTS),
    }
    for key, shape in expected.items():
        if a[key].shape != shape:
            raise ModelFileError(
                f"{path}: '{key}' has shape {a[key].shape}, expected {shape} (SMPL, {nv} vertices)"
            )
    shapedirs, faces = a["shapedirs"], a["f"]
    if shapedirs.ndim != 3 or shapedirs.shape[:2] != (nv, 3) or shapedirs.shape[2] < 1:
        raise ModelFileError(
            f"{path}: 'shapedirs' has shape {shapedirs.shape}, expected ({nv}, 3, K)"
        )
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0 or faces.dtype.kind not in "iu":
        raise ModelFileError(f"{path}: 'f' must be (F, 3) integer triangle indices")
    if faces.min() < 0 or faces.max() >= nv:
        raise ModelFileError(f"{path}: 'f' has vertex indices outside 0..{nv - 1}")
    parents = a["kintree_table"][0, 1:]
    if a["kintree_table"].dtype.kind not in "iu" or tuple(parents) != PARENTS[1:]:
        raise ModelFileError(f"{path}: 'kintree_table' is not SMPL's 24-joint kinematic tree")
    for key in ("v_template", "J_regressor", "weights", "shapedirs", "posedirs"):
        if a[key].dtype.kind != "f" or not np.isfinite(a[key]).all():
            raise ModelFileError(f"{path}: '{key}' must hold finite floating-point numbers")
        a[key] = a[key].astype(np.float64, copy=False)
    a["f"] = faces.astype(np.int64)
    a["kintree_table"] = a["kintree_table"].astype(np.int64)
