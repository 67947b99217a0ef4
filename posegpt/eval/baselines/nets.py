"""The small CNN the image baselines share, and pictures -> its input tensors."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from torch import nn
from tqdm import tqdm

from posegpt.model.image import preprocess_image

#: Pixel normalisation of the baseline CNNs.
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def image_batch(
    images: Sequence[Image.Image], size: int, progress: bool = False, desc: str = "images"
) -> torch.Tensor:
    """(N, 3, size, size) normalised pixels; pictures are padded to square (as PoseGPT's
    preprocessing does) and resized."""
    rows = [
        preprocess_image(images[i], size, MEAN, STD)
        for i in tqdm(range(len(images)), desc=desc, unit="image", disable=not progress)
    ]
    return torch.stack(rows) if rows else torch.empty(0, 3, size, size)


def conv_backbone(width: int = 32, blocks: int = 4) -> nn.Sequential:
    """Conv-BN-ReLU blocks, each halving the resolution, then global average pooling:
    (N, 3, S, S) -> (N, feature_dim(width, blocks))."""
    layers: list[nn.Module] = []
    channels = 3
    for i in range(blocks):
        out = width * 2 ** min(i, 2)
        layers += [
            nn.Conv2d(channels, out, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU(inplace=True),
            nn.Conv2d(out, out, 3, padding=1, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU(inplace=True),
        ]
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


def feature_dim(width: int = 32, blocks: int = 4) -> int:
    """Output width of `conv_backbone(width, blocks)`."""
    return width * 2 ** min(blocks - 1, 2)
