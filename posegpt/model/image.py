"""Images -> the vision tower's pixel values: resize, pad to square, normalise.

Padding (with the mean colour, as LLaVA-1.5 does) rather than cropping keeps every person in a
full multi-person picture. Inputs are bounded: pictures over MAX_PIXELS, or more elongated than
MAX_ASPECT_RATIO, are refused from their header before any pixel is decoded, and every
intermediate is at most the decoded picture or the model's square (the picture is shrunk before
it is padded). The EXIF orientation of photos is applied, so a phone photo arrives upright.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from posegpt.errors import InvalidInputError, TooLargeError

#: Largest picture accepted (width x height).
MAX_PIXELS = 50_000_000
#: Most elongated picture accepted (long side / short side).
MAX_ASPECT_RATIO = 20

ImageInput = Image.Image | str | os.PathLike | bytes


def load_image(source: ImageInput, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open a picture from a PIL image, a file path or encoded bytes, as RGB.

    Pictures over `max_pixels` raise TooLargeError and ones more elongated than MAX_ASPECT_RATIO
    InvalidInputError, from their header, before decoding; unreadable ones raise
    InvalidInputError. The EXIF orientation tag is applied.
    """
    if isinstance(source, Image.Image):
        image = source
    else:
        try:
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        except Image.DecompressionBombError as err:
            raise TooLargeError(f"the image is too large: {err}") from err
        except UnidentifiedImageError as err:
            raise InvalidInputError(f"not a readable image: {err}") from err
        except OSError as err:
            raise InvalidInputError(f"cannot open the image: {err}") from err
    if image.width * image.height > max_pixels:
        raise TooLargeError(
            f"the image is {image.width}x{image.height}; at most {max_pixels:,} pixels are accepted"
        )
    if max(image.size) > MAX_ASPECT_RATIO * max(min(image.size), 1):
        raise InvalidInputError(
            f"the image is {image.width}x{image.height}; at most {MAX_ASPECT_RATIO}:1 is accepted"
        )
    try:
        return ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, SyntaxError, ValueError) as err:
        raise InvalidInputError(f"cannot decode the image: {err}") from err


def preprocess_image(
    source: ImageInput, size: int, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """A picture -> (3, size, size) float32 pixel values, padded to square and normalised."""
    image = load_image(source)
    scale = size / max(image.size)
    shrunk = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    image = image.resize(shrunk, Image.Resampling.BICUBIC)
    fill = tuple(round(255 * m) for m in mean)
    square = Image.new("RGB", (size, size), fill)
    square.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
    pixels = torch.from_numpy(np.asarray(square, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return (pixels - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
