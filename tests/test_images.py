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


def test_exif_orientation_is_applied():
    """A phone photo stored sideways with EXIF orientation 6 (turn 90 degrees clockwise to view)
    arrives upright: a 40x20 stored picture whose left half is red becomes 20x40, red on top."""
    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", exif=exif, quality=95)
    upright = load_image(buffer.getvalue())
    assert upright.size == (20, 40)
    top, bottom = upright.getpixel((10, 5)), upright.getpixel((10, 35))
    assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]


def test_elongated_image_is_refused_before_decoding():
    """A small 100000x100 PNG (10 M pixels, under the pixel limit) is refused, not padded to a
    100000^2 square."""
    with pytest.raises(InvalidInputError, match="20:1"):
        load_image(_png(Image.new("1", (100_000, 100))), max_pixels=16_000_000)
