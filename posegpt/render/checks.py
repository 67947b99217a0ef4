"""Input checks shared by the renderer: arrays of the right shape, finite, bounded."""

from __future__ import annotations

import numpy as np

from posegpt.errors import InvalidInputError


def as_array(
    value: object, name: str, shape: tuple[int | None, ...], dtype=np.float64
) -> np.ndarray:
    """`value` (array-like or CPU tensor) as a numpy array of `dtype` and `shape` (None: any size).

    Raises InvalidInputError naming `name` on a wrong shape, a non-numeric value or, for float
    dtypes, a NaN or infinite entry.
    """
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise InvalidInputError(f"{name} must be a numeric array: {err}") from err
    if array.dtype.kind not in "biuf":
        raise InvalidInputError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim != len(shape) or any(
        s is not None and s != n for s, n in zip(shape, array.shape, strict=True)
    ):
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise InvalidInputError(f"{name} must have shape {want}, got {array.shape}")
    to_int = np.issubdtype(dtype, np.integer) and array.dtype.kind == "f"
    if to_int and not (np.all(np.isfinite(array)) and np.all(array == np.round(array))):
        raise InvalidInputError(f"{name} must hold whole numbers")
    array = array.astype(dtype, copy=False)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise InvalidInputError(f"{name} holds NaN or infinite values")
    return array


def as_rgb(value: object, name: str, shape: tuple[int | None, ...] = (3,)) -> np.ndarray:
    """Colours as float32 in [0, 1] with the given shape (last axis 3)."""
    rgb = as_array(value, name, shape, np.float32)
    if rgb.size and (rgb.min() < 0.0 or rgb.max() > 1.0):
        raise InvalidInputError(f"{name} must be RGB floats in [0, 1]")
    return rgb
