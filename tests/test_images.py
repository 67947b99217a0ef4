"""Opening pictures: any source becomes RGB; unreadable or huge input is refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from posegpt.errors import InvalidInputError
from posegpt.images import MAX_PIXELS, load_image


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


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
