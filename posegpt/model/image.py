"""Images -> the vision tower's pixel values: pad to square, then resize and normalise (or the
pretrained checkpoint's own image processor).

Padding (with the mean colour, as LLaVA-1.5 does) rather than cropping keeps every person in a
full multi-person picture. Pictures are opened by `posegpt.images.load_image` (bounded).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from transformers import BaseImageProcessor

from posegpt.errors import InvalidInputError
from posegpt.images import ImageInput, load_image


def pad_to_square(image: Image.Image, mean: Sequence[float]) -> Image.Image:
    """`image` centred on a square of the mean colour (LLaVA-1.5's `expand2square`)."""
    side = max(image.size)
    fill = tuple(round(255 * m) for m in mean)
    square = Image.new("RGB", (side, side), fill)
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square


def preprocess_image(
    source: ImageInput,
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    processor: BaseImageProcessor | None = None,
) -> torch.Tensor:
    """A picture -> (3, size, size) float32 pixel values, padded to square and normalised.

    With `processor` (a pretrained checkpoint's own image processor, e.g. CLIP's at 336 px for
    LLaVA-1.5) the padded square goes through it, as LLaVA-1.5 does; else it is resized
    (bicubic) and normalised here.
    """
    square = pad_to_square(load_image(source), mean)
    if processor is not None:
        pixels = processor(images=square, return_tensors="pt")["pixel_values"][0]
        if pixels.shape != (3, size, size):
            raise InvalidInputError(
                f"the image processor gives {tuple(pixels.shape)} pixels; the vision tower "
                f"takes (3, {size}, {size})"
            )
        return pixels.float()
    square = square.resize((size, size), Image.Resampling.BICUBIC)
    pixels = torch.from_numpy(np.asarray(square, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return (pixels - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
