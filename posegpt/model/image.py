"""Images -> the vision tower's pixel values: pad to square, resize, normalise.

Padding (with the mean colour, as LLaVA-1.5 does) rather than cropping keeps every person in a
full multi-person picture. Pictures are opened by `posegpt.images.load_image` (bounded).
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
    side = max(image.size)
    fill = tuple(round(255 * m) for m in mean)
    square = Image.new("RGB", (side, side), fill)
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    square = square.resize((size, size), Image.Resampling.BICUBIC)
    pixels = torch.from_numpy(np.asarray(square, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return (pixels - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
