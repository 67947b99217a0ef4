"""Image loading and preprocessing: padding to square, normalisation, bounded and checked input."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from posegpt.errors import InvalidInputError
from posegpt.model import load_image, preprocess_image
from posegpt.model.config import CLIP_MEAN, CLIP_STD
from posegpt.model.image import MAX_PIXELS


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_wide_image_is_padded_with_the_mean_colour(tmp_path):
    image = Image.new("RGB", (64, 32), (255, 255, 255))
    path = tmp_path / "wide.png"
    image.save(path)
    for source in (image, path, str(path), _png(image)):
        pixels = preprocess_image(source, 16, CLIP_MEAN, CLIP_STD)
        assert pixels.shape == (3, 16, 16) and pixels.dtype == torch.float32
        white = (1 - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD)
        assert torch.allclose(pixels[:, 8, 8], white, atol=1e-5)  # the picture, centred
        assert pixels[:, 0, 8].abs().max() < 0.02  # padding: the mean colour, normalised to ~0
        assert pixels[:, 15, 8].abs().max() < 0.02


def test_grey_and_alpha_images_become_rgb():
    assert load_image(Image.new("L", (5, 5))).mode == "RGB"
    assert load_image(_png(Image.new("RGBA", (5, 5)))).mode == "RGB"


@pytest.mark.parametrize(
    "data", [b"", b"definitely not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 40]
)
def test_non_images_are_rejected(data):
    with pytest.raises(InvalidInputError):
        load_image(data)


def test_missing_file_is_rejected(tmp_path):
    with pytest.raises(InvalidInputError):
        load_image(tmp_path / "nothing.png")


def test_huge_images_are_refused_before_decoding():
    side = int(MAX_PIXELS**0.5) + 100
    huge = _png(Image.new("1", (side, side)))  # 1-bit: small to build, huge once decoded
    with pytest.raises(InvalidInputError, match="at most"):
        load_image(huge)
