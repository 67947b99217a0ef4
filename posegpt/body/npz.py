"""Reading .npz files safely: sizes are checked before anything is unpacked, dtypes before use.

An .npz is a zip of .npy files; a small file can unpack to gigabytes. `read_npz` checks the
declared unpacked size of every member and the shape and dtype in every array's header (read
from the first bytes of the member) before loading an array, and never unpickles.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from posegpt.errors import InvalidInputError, ModelFileError, TooLargeError

#: dtype kinds accepted as numbers: float, signed and unsigned integers.
NUMERIC_KINDS = "fiu"


def read_npz(
    path: str | os.PathLike,
    keys: Iterable[str],
    max_bytes: int,
    what: str = "file",
    numeric: bool = True,
) -> dict[str, np.ndarray]:
    """The arrays `keys` (those present) of the .npz `path`.

    Raises TooLargeError if the members together unpack to more than `max_bytes` or an array's
    header claims more; InvalidInputError for a requested array that is not numbers (strings,
    objects, complex, bool) when `numeric`; ModelFileError if the file is not a readable .npz.
    """
    path = Path(path)
    wanted = set(keys)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            declared = sum(info.file_size for info in members)
            if declared > max_bytes:
                raise TooLargeError(
                    f"{what} {path} unpacks to {declared:,} bytes; at most {max_bytes:,} are read"
                )
            out = {}
            for info in members:
                key = info.filename.removesuffix(".npy")
                if key not in wanted:
                    continue
                with archive.open(info) as member:
                    shape, dtype = _header(member)
                _check_header(path, key, shape, dtype, max_bytes, what, numeric)
                with archive.open(info) as member:
                    out[key] = np.lib.format.read_array(member, allow_pickle=False)
            return out
    except zipfile.BadZipFile as err:
        raise ModelFileError(f"cannot read {what} {path}: not an .npz archive ({err})") from err
    except (OSError, ValueError, EOFError, zlib.error) as err:
        if isinstance(err, InvalidInputError):
            raise
        raise ModelFileError(f"cannot read {what} {path}: {err}") from err


def _header(member) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the header of an .npy stream, without reading its data."""
    version = np.lib.format.read_magic(member)
    read = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, _, dtype = read(member)
    return shape, dtype


def _check_header(
    path: Path,
    key: str,
    shape: tuple[int, ...],
    dtype: np.dtype,
    max_bytes: int,
    what: str,
    numeric: bool,
) -> None:
    if numeric and dtype.kind not in NUMERIC_KINDS:
        raise InvalidInputError(
            f"{what} {path}: '{key}' holds {dtype} values ({dtype.kind!r}), not real numbers"
        )
    size = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if size > max_bytes:
        raise TooLargeError(
            f"{what} {path}: '{key}' is {size:,} bytes; at most {max_bytes:,} are read"
        )
