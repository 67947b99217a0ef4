"""Image preprocessing for the vision tower: padding to square, normalisation."""

from __future__ import annotations

import io

import torch
from PIL import Image

from posegpt.model import preprocess_image
from posegpt.model.config import CLIP_MEAN, CLIP_STD


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


def test_no_intermediate_is_larger_than_the_picture_or_the_square(monkeypatch):
    """Preprocessing shrinks before padding: no image bigger than the input or size x size (a
    1900x100 picture was padded to a 1900x1900 square first)."""
    made = []
    new = Image.new

    def record(mode, size, *args, **kwargs):
        made.append(size)
        return new(mode, size, *args, **kwargs)

    monkeypatch.setattr(Image, "new", record)
    wide = new("RGB", (1900, 100), (255, 255, 255))
    pixels = preprocess_image(wide, 32, CLIP_MEAN, CLIP_STD)
    assert pixels.shape == (3, 32, 32)
    assert made and max(w * h for w, h in made) <= 32 * 32
