"""Opening pictures, bounded: the one image loader of every layer (datasets, model, server).

Pictures over `MAX_PIXELS`, or more elongated than MAX_ASPECT_RATIO, are refused from their
header, before any pixel is decoded. The EXIF orientation of photos is applied, so a phone
photo arrives upright.
"""

from __future__ import annotations

import io
import os

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
