"""Images -> the vision tower's pixel values: resize, pad to square, normalise.

Padding (with the mean colour, as LLaVA-1.5 does) rather than cropping keeps every person in a
full multi-person picture. Pictures are opened by `posegpt.images.load_image` (bounded, EXIF
orientation applied); every intermediate is at most the decoded picture or the model's square
(the picture is shrunk before it is padded).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from posegpt.images import ImageInput, load_image


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
