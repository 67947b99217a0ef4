"""Images -> the vision tower's pixel values: pad to square, resize and normalise (or the
pretrained checkpoint's own image processor).

Padding (with the mean colour, as LLaVA-1.5 does) rather than cropping keeps every person in a
full multi-person picture. Pictures are opened by `posegpt.images.load_image` (bounded, EXIF
orientation applied). Every intermediate is bounded by the model's size: a picture is shrunk
before it is padded (to the model's square, or to at most PROCESSOR_MAX_SCALE times it before a
checkpoint's own processor), never padded at full size first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from transformers import BaseImageProcessor

from posegpt.errors import InvalidInputError
from posegpt.images import ImageInput, load_image

#: Longest side (in multiples of the vision tower's size) a picture keeps before it is padded to
#: a square for a checkpoint's image processor (which resizes it to the tower's size anyway).
PROCESSOR_MAX_SCALE = 4


def pad_to_square(image: Image.Image, mean: Sequence[float]) -> Image.Image:
    """`image` centred on a square of the mean colour (LLaVA-1.5's `expand2square`)."""
    side = max(image.size)
    fill = tuple(round(255 * m) for m in mean)
    square = Image.new("RGB", (side, side), fill)
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square


def fit_within(image: Image.Image, side: int, grow: bool = False) -> Image.Image:
    """`image` resized (bicubic, aspect kept) so that its longer side is `side`; smaller images
    are kept as they are unless `grow`."""
    scale = side / max(image.size)
    if scale >= 1 and not grow:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def preprocess_image(
    source: ImageInput,
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    processor: BaseImageProcessor | None = None,
) -> torch.Tensor:
    """A picture -> (3, size, size) float32 pixel values, padded to square and normalised.

    With `processor` (a pretrained checkpoint's own image processor, e.g. CLIP's at 336 px for
    LLaVA-1.5) the padded square goes through it, as LLaVA-1.5 does; else the picture is resized
    (bicubic) to fit `size`, padded and normalised here.
    """
    image = load_image(source)
    if processor is not None:
        square = pad_to_square(fit_within(image, PROCESSOR_MAX_SCALE * size), mean)
        pixels = processor(images=square, return_tensors="pt")["pixel_values"][0]
        if pixels.shape != (3, size, size):
            raise InvalidInputError(
                f"the image processor gives {tuple(pixels.shape)} pixels; the vision tower "
                f"takes (3, {size}, {size})"
            )
        return pixels.float()
    fill = tuple(round(255 * m) for m in mean)
    square = Image.new("RGB", (size, size), fill)
    image = fit_within(image, size, grow=True)
    square.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
    pixels = torch.from_numpy(np.asarray(square, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return (pixels - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
