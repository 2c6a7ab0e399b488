"""Photo builders for tests and benchmarks: real portraits from installed packages, and controlled edits.

Metamorphic tests need to change one thing about a real face (redden the cheeks, add spots, cast
warm light) and nothing else; these helpers do that in linear light with feathered masks, the way
the physical change would look. scikit-image (a test dependency) supplies the real photos.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from vision.colour import linear_to_lab, to_linear, to_srgb_uint8
from vision.faces import HaarFaceDetector
from vision.models import Region
from vision.regions import EYE_DISTANCE, FaceFrame, align, region_centre


def sample(name: str = "astronaut") -> np.ndarray:
    """A real photo shipped with scikit-image: astronaut (portrait), chelsea (cat), coffee (cup)."""
    from skimage import data

    return np.ascontiguousarray(getattr(data, name)()[..., :3])


def encode(rgb: np.ndarray, fmt: str = "PNG", exif: Image.Exif | None = None, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    kwargs: dict[str, object] = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if exif is not None:
        kwargs["exif"] = exif
    Image.fromarray(rgb).save(buf, fmt, **kwargs)
    return buf.getvalue()


def locate(rgb: np.ndarray) -> FaceFrame:
    faces = HaarFaceDetector().detect(rgb)
    assert faces, "no face in the sample photo"
    return align(rgb, faces[0], 1.0)


def region_in_image(frame: FaceFrame, region: Region) -> tuple[float, float, float]:
    """Centre (x, y) and radius of a region in photo pixels."""
    cx, cy, r = region_centre(region)
    (x, y), = frame.to_image(np.array([[cx, cy]]))
    return float(x), float(y), r * frame.eye_distance_px / EYE_DISTANCE


def _disc(shape: tuple[int, ...], x: float, y: float, r: float, feather: float) -> np.ndarray:
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    d = np.hypot(xx - x, yy - y)
    return np.clip((r - d) / max(feather, 1e-6) + 0.5, 0, 1).astype(np.float32)


def tint(rgb: np.ndarray, discs: list[tuple[float, float, float]], gains: tuple[float, float, float],
         feather: float = 0.3) -> np.ndarray:
    """Multiply linear light by `gains` inside feathered discs (a flush is redder light, not paint)."""
    w = np.zeros(rgb.shape[:2], np.float32)
    for x, y, r in discs:
        w = np.maximum(w, _disc(rgb.shape, x, y, r, feather * r))
    g = 1 + (np.array(gains, np.float32) - 1) * w[..., None]
    return to_srgb_uint8(to_linear(rgb) * g)


def redden(rgb: np.ndarray, discs: list[tuple[float, float, float]], delta_a: float,
           feather: float = 0.4) -> np.ndarray:
    """Add `delta_a` to CIELAB a* inside feathered discs, lightness and b* untouched: redness and
    nothing else, which is what a metamorphic redness test needs."""
    w = np.zeros(rgb.shape[:2], np.float32)
    for x, y, r in discs:
        w = np.maximum(w, _disc(rgb.shape, x, y, r, feather * r))
    lab = linear_to_lab(to_linear(rgb))
    lab[..., 1] += delta_a * w
    return to_srgb_uint8(cv2.cvtColor(lab, cv2.COLOR_Lab2LRGB))


def dark_spots(rgb: np.ndarray, centres: list[tuple[float, float]], radius: float,
               darkness: float = 0.55) -> np.ndarray:
    """Brownish spots: less light returned, blue absorbed most, as melanin does."""
    w = np.zeros(rgb.shape[:2], np.float32)
    for x, y in centres:
        w = np.maximum(w, _disc(rgb.shape, x, y, radius, 1.0))
    g = 1 - (1 - np.array([darkness, darkness * 0.85, darkness * 0.7], np.float32)) * w[..., None]
    return to_srgb_uint8(to_linear(rgb) * g)


def irregular_spot(rgb: np.ndarray, x: float, y: float, radius: float, seed: int = 3) -> np.ndarray:
    """One large, very dark spot with a ragged edge and uneven colour."""
    rng = np.random.default_rng(seed)
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    radii = radius * rng.uniform(0.45, 1.15, angles.size)
    pts = np.stack([x + radii * np.cos(angles), y + radii * np.sin(angles)], 1).astype(np.int32)
    m = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(m, [pts], 1)
    shade = cv2.GaussianBlur(np.where(rng.random(rgb.shape[:2]) < 0.5, 0.12, 0.3).astype(np.float32),
                             (0, 0), 1.0)
    g = np.where(m[..., None] > 0, shade[..., None] * np.array([1.0, 0.8, 0.6], np.float32),
                 np.float32(1.0))
    return to_srgb_uint8(to_linear(rgb) * g)


def colour_cast(rgb: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """The same scene under differently coloured light (a per-channel gain in linear light)."""
    return to_srgb_uint8(to_linear(rgb) * np.array(gains, np.float32))


def large_jpeg(megapixels: float = 12.0, seed: int = 0, quality: int = 90) -> bytes:
    """A portrait-orientation JPEG of about `megapixels` with sensor-like noise (realistic file size).

    Upscaling a 512 px photo this far leaves it soft, and the quality gate rightly rejects soft
    faces; an unsharp mask brings edge contrast back so the benchmark runs the full pipeline."""
    base = sample("astronaut")
    h = int(np.sqrt(megapixels * 1e6 * 4 / 3))
    w = int(h * 3 / 4)
    big = cv2.resize(base[:, 64:448], (w, h), interpolation=cv2.INTER_CUBIC)
    sigma = w / 384 * 1.5
    sharp = cv2.addWeighted(big, 3.0, cv2.GaussianBlur(big, (0, 0), sigma), -2.0, 0)
    big = np.asarray(sharp).astype(np.int16)
    noise = np.random.default_rng(seed).normal(0, 4, big.shape).astype(np.int16)
    return encode(np.clip(big + noise, 0, 255).astype(np.uint8), "JPEG", quality=quality)
