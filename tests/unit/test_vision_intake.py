"""Untrusted bytes in: formats by magic, size and pixel limits, bombs, orientation, metadata stripping."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from skinsage.errors import PhotoRejected, PhotoTooLarge, UnsupportedPhotoType
from vision.intake import IntakeLimits, load_photo, stripped_jpeg


def gradient(w: int = 64, h: int = 48) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.uint8)
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = x
    img[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    img[: h // 4, : w // 4] = (250, 10, 10)  # a red block top-left, to see where "up" went
    return img


def encode(rgb: np.ndarray, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **kw)
    return buf.getvalue()


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 31.0, 12.0), "E", (13.0, 24.0, 36.0)
    return exif


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_decode_to_upright_rgb(fmt: str) -> None:
    photo = load_photo(encode(gradient(), fmt))
    assert photo.rgb.shape == (48, 64, 3) and photo.info.format == fmt


def test_exif_orientation_is_applied() -> None:
    upright = gradient()
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # what a phone writes: pixels rotated ...
    data = encode(stored, "PNG", exif=exif_with_gps(orientation=6))  # ... plus "rotate 90 cw" tag
    photo = load_photo(data)
    assert photo.info.orientation_applied == 6
    assert photo.rgb.shape == upright.shape
    assert np.array_equal(photo.rgb, upright)


def test_exif_and_gps_never_reach_what_we_store() -> None:
    data = encode(gradient(), "JPEG", exif=exif_with_gps())
    assert b"PhoneMaker" in data and Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    photo = load_photo(data)
    assert {"exif", "gps"} <= set(photo.info.metadata_removed)
    kept = stripped_jpeg(photo)
    assert b"PhoneMaker" not in kept and b"Exif" not in kept
    reopened = Image.open(io.BytesIO(kept))
    assert not reopened.getexif() and not reopened.info.get("exif")


def test_an_empty_upload_is_rejected() -> None:
    with pytest.raises(PhotoRejected) as e:
        load_photo(b"")
    assert e.value.code == "empty" and e.value.advice


def test_a_broken_file_is_unreadable_not_a_crash() -> None:
    data = encode(gradient(256, 256), "JPEG")
    with pytest.raises(PhotoRejected) as e:
        load_photo(data[: len(data) // 3])
    assert e.value.code == "unreadable"
    with pytest.raises(PhotoRejected):
        load_photo(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)


def test_a_20_mb_file_is_too_large_before_any_decoding() -> None:
    data = b"\xff\xd8\xff\xe0" + b"\x00" * (20 * 1024 * 1024)
    with pytest.raises(PhotoTooLarge) as e:
        load_photo(data, IntakeLimits(max_bytes=15 * 1024 * 1024))
    assert e.value.code == "too_large"


def _png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header declaring width x height pixels, with a tiny compressed body."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * (3 * width)
    body = zlib.compress(row * 16, 9)  # a few rows is enough: the header is what matters
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = _png_bomb(30000, 30000)  # 900 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(PhotoTooLarge) as e:
        load_photo(bomb)
    assert e.value.code == "too_many_pixels"


@pytest.mark.parametrize("data,what", [
    (b"GIF89a" + b"\x00" * 64, "GIF"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF"),
    (b"hello, this is text", "not a photo"),
])
def test_other_types_are_unsupported_with_advice(data: bytes, what: str) -> None:
    with pytest.raises(UnsupportedPhotoType) as e:
        load_photo(data)
    assert what in str(e.value) and "JPEG" in e.value.advice[-1]


def test_a_real_gif_is_refused_even_though_pillow_could_read_it() -> None:
    buf = io.BytesIO()
    Image.fromarray(gradient()).save(buf, "GIF")
    with pytest.raises(UnsupportedPhotoType):
        load_photo(buf.getvalue())


def test_large_jpegs_are_decoded_at_working_size() -> None:
    big = np.zeros((3000, 4000, 3), np.uint8)
    big[:] = (120, 90, 80)
    photo = load_photo(encode(big, "JPEG", quality=80), IntakeLimits(working_long_side=1280))
    assert 960 <= max(photo.rgb.shape[:2]) <= 1600 and photo.info.width == 4000 and photo.info.height == 3000
    assert photo.scale == pytest.approx(photo.rgb.shape[1] / 4000)
