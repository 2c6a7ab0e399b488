"""From untrusted upload bytes to a safe, upright, metadata-free RGB array.

Everything a stranger can send goes through here first, so this module is deliberately strict:
the format is decided by the file's magic bytes (never its name or declared content type), the
pixel count is checked from the header before a single pixel is decoded (decompression bombs),
EXIF orientation is applied and then every piece of metadata (EXIF, GPS, XMP, comments) is left
behind, because only decoded pixels travel on. Colour-managed photos (Display P3 from phones) are
converted to sRGB so two phones measure the same skin the same way.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageOps

from skinsage.errors import PhotoRejected, PhotoTooLarge, UnsupportedPhotoType
from vision.models import PhotoInfo

HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
SEND_INSTEAD = "Send the photo as a JPEG, PNG or WebP (a normal camera or screenshot file)."


@dataclass(frozen=True)
class IntakeLimits:
    max_bytes: int = 15 * 1024 * 1024
    max_pixels: int = 60_000_000
    # Pixels beyond this long side add decode time but little skin detail we can use: a selfie
    # face at this size still fills the canonical crop (120 px between the eyes) at full detail.
    working_long_side: int = 1280


@dataclass
class Photo:
    rgb: np.ndarray  # H x W x 3 uint8, sRGB, upright, at working resolution
    info: PhotoInfo
    scale: float  # working pixels per original (oriented) pixel
    notes: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _heif_available() -> bool:
    try:
        import pillow_heif  # optional: HEIC only where a maintained decoder installs

        pillow_heif.register_heif_opener()
        return True
    except Exception:  # noqa: BLE001 - any failure just means "no HEIC here"
        return False


def sniff_format(data: bytes) -> str:
    """The container format from magic bytes; raises for anything we do not decode."""
    if not data:
        raise PhotoRejected("empty", "The upload is empty.", [SEND_INSTEAD])
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        if _heif_available():
            return "HEIF"
        raise UnsupportedPhotoType("unsupported_type", "HEIC photos can't be read here.",
                                   [("On iPhone: Settings > Camera > Formats > Most Compatible, "
                                     "or share the photo as JPEG."), SEND_INSTEAD])
    kind = ("a GIF" if head[:4] == b"GIF8" else "a PDF" if head.startswith(b"%PDF")
            else "a TIFF" if head[:4] in (b"II*\x00", b"MM\x00*") else "not a photo we can read")
    raise UnsupportedPhotoType("unsupported_type", f"This file is {kind}.", [SEND_INSTEAD])


def _open(data: bytes, fmt: str, limits: IntakeLimits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise PhotoTooLarge("too_many_pixels", "The image has too many pixels.",
                            ["Send a normal phone photo (up to 60 megapixels)."]) from e
    except Exception as e:
        raise PhotoRejected("unreadable", "The file is damaged or not a complete image.",
                            ["Take the photo again and send the original file."]) from e
    w, h = img.size
    if w * h > limits.max_pixels:  # checked from the header, before decoding
        raise PhotoTooLarge("too_many_pixels",
                            f"The image has {w * h / 1e6:.0f} megapixels; the limit is "
                            f"{limits.max_pixels / 1e6:.0f}.", ["Send a normal phone photo."])
    return img


def _to_srgb(img: Image.Image) -> Image.Image:
    icc = img.info.get("icc_profile")
    if not icc:
        return img.convert("RGB")
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out = ImageCms.profileToProfile(img.convert("RGB"), src, ImageCms.createProfile("sRGB"),
                                        outputMode="RGB")
        return out if out is not None else img.convert("RGB")
    except Exception:  # noqa: BLE001 - a bad profile is not worth rejecting the photo for
        return img.convert("RGB")


def load_photo(data: bytes, limits: IntakeLimits | None = None) -> Photo:
    """Decode an upload into an upright sRGB array, or raise a PhotoRejected that says why."""
    limits = limits or IntakeLimits()
    if len(data) > limits.max_bytes:
        raise PhotoTooLarge("too_large", f"The file is {len(data) / 2**20:.1f} MB; the limit is "
                            f"{limits.max_bytes / 2**20:.0f} MB.",
                            ["Send the photo at normal size, not as an uncompressed original."])
    fmt = sniff_format(data)
    img = _open(data, fmt, limits)
    removed = [k for k in ("exif", "xmp", "comment", "icc_profile") if img.info.get(k)]
    try:
        exif = img.getexif()
        orientation = int(exif.get(0x0112, 1) or 1)
        if exif.get_ifd(0x8825):
            removed.append("gps")
        w, h = img.size
        if fmt == "JPEG":  # DCT-domain downscale (1/2, 1/4, 1/8): a 12 MP JPEG decodes 4x faster
            k = next((k for k in (8, 4, 2) if max(w, h) / k >= 0.75 * limits.working_long_side), 1)
            if k > 1:
                img.draft("RGB", (w // k, h // k))
        img.seek(0)  # first frame of an animated PNG/WebP
        img.load()
        img = ImageOps.exif_transpose(img) or img
        img = _to_srgb(img)
    except PhotoRejected:
        raise
    except Exception as e:
        raise PhotoRejected("unreadable", "The file is damaged or not a complete image.",
                            ["Take the photo again and send the original file."]) from e
    ow, oh = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
    if max(img.size) > 1.25 * limits.working_long_side:
        img.thumbnail((limits.working_long_side, limits.working_long_side),
                      Image.Resampling.BILINEAR, reducing_gap=2.0)
    rgb = np.asarray(img, dtype=np.uint8).copy()
    info = PhotoInfo(format=fmt, width=ow, height=oh, bytes=len(data),
                     orientation_applied=orientation,
                     metadata_removed=sorted(set(removed) - {"icc_profile"}))
    return Photo(rgb=rgb, info=info, scale=img.size[0] / ow)


def stripped_jpeg(photo: Photo, quality: int = 90) -> bytes:
    """The only form of a photo we ever store: re-encoded pixels, no metadata at all."""
    buf = io.BytesIO()
    Image.fromarray(photo.rgb).save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()
