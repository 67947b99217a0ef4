"""Dataset images: bounded opening and HMR-style square crops."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.images import load_image

MAX_CROP_SIZE = 2048


def open_image(path: str | os.PathLike) -> Image.Image:
    """A dataset image file as RGB, or ModelFileError naming it (unreadable or too large)."""
    try:
        return load_image(Path(path))
    except InvalidInputError as err:
        raise ModelFileError(f"{path}: {err}") from err


def crop_square(
    image: Image.Image, box: tuple[float, float, float, float], size: int | None = None
) -> Image.Image:
    """The square `box` (x0, y0, x1, y1) of `image`, black outside it, resized to `size` pixels
    (default: the box side, bounded by MAX_CROP_SIZE)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if not x1 > x0 or not y1 > y0:
        raise InvalidInputError(f"crop box must have positive size, got {box}")
    side = size or min(MAX_CROP_SIZE, max(1, round(max(x1 - x0, y1 - y0))))
    if not 1 <= side <= MAX_CROP_SIZE:
        raise InvalidInputError(f"crop size must be 1..{MAX_CROP_SIZE}, got {side}")
    return image.transform(
        (side, side), Image.Transform.EXTENT, (x0, y0, x1, y1), Image.Resampling.BILINEAR
    )
