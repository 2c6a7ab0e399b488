"""An aligned, scale-normalised face crop and the skin regions on it.

Every measurement runs on the same canonical frame: the face is rotated so the eyes are level and
scaled so the eyes are `EYE_DISTANCE` pixels apart. That makes texture and spot sizes comparable
between a 12-megapixel selfie and a small webcam frame, and between two photos of the same face.
Regions are fixed shapes in eye-distance units, placed from average facial proportions (nose tip
about 0.6 eye distances below the eye line, mouth about 1.0, chin about 1.7); without landmarks
this is approximate, which is why every region is then cleaned by a skin-colour mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vision.models import REGIONS, Region
from vision.ports import DetectedFace

EYE_DISTANCE = 120  # canonical pixels between the eye centres
WIDTH, HEIGHT = int(2.7 * EYE_DISTANCE), int(3.25 * EYE_DISTANCE)
EYE_Y = 1.25 * EYE_DISTANCE  # canonical row of the eye line
INTEROCULAR_MM = 63.0  # adult average, to express spot sizes in millimetres (roughly)

# (kind, centre x, centre y, half-width, half-height) in eye distances from the eye midpoint;
# x grows to the image right, which is the person's left on an unmirrored photo.
_SHAPES: dict[Region, tuple[str, float, float, float, float]] = {
    "forehead": ("rect", 0.0, -0.68, 0.6, 0.26),
    "right_cheek": ("ellipse", -0.6, 0.62, 0.24, 0.24),
    "left_cheek": ("ellipse", 0.6, 0.62, 0.24, 0.24),
    "nose": ("rect", 0.0, 0.33, 0.12, 0.21),
    "chin": ("rect", 0.0, 1.43, 0.3, 0.12),
    "right_under_eye": ("rect", -0.5, 0.25, 0.19, 0.08),
    "left_under_eye": ("rect", 0.5, 0.25, 0.19, 0.08),
}


def _region_masks() -> dict[Region, np.ndarray]:
    masks: dict[Region, np.ndarray] = {}
    cx0, cy0 = WIDTH / 2, EYE_Y
    for name in REGIONS:
        kind, x, y, hw, hh = _SHAPES[name]
        m = np.zeros((HEIGHT, WIDTH), np.uint8)
        cx, cy = cx0 + x * EYE_DISTANCE, cy0 + y * EYE_DISTANCE
        ax, ay = hw * EYE_DISTANCE, hh * EYE_DISTANCE
        if kind == "rect":
            cv2.rectangle(m, (round(cx - ax), round(cy - ay)), (round(cx + ax), round(cy + ay)), 1, -1)
        else:
            cv2.ellipse(m, (round(cx), round(cy)), (round(ax), round(ay)), 0, 0, 360, 1, -1)
        masks[name] = m.astype(bool)
    return masks


REGION_MASKS = _region_masks()


def _bbox(mask: np.ndarray) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask)
    return slice(max(0, ys.min() - 1), ys.max() + 2), slice(max(0, xs.min() - 1), xs.max() + 2)


# Per-region work runs on these boxes, not the whole crop: most of the crop is no region at all.
REGION_BOXES: dict[Region, tuple[slice, slice]] = {r: _bbox(m) for r, m in REGION_MASKS.items()}


@dataclass
class FaceFrame:
    crop: np.ndarray  # HEIGHT x WIDTH x 3 uint8, aligned
    inside: np.ndarray  # bool: canonical pixels that came from inside the photo
    eye_distance_px: float  # in the original photo's pixels
    roll_degrees: float
    eyes_found: bool
    to_canonical: np.ndarray  # 2 x 3 affine: working-image pixels -> canonical pixels

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Canonical points (N x 2) back to working-image pixels (for drawing and tests)."""
        inv = cv2.invertAffineTransform(self.to_canonical)
        return np.asarray(points, float) @ inv[:, :2].T + inv[:, 2]

    @property
    def mm_per_px(self) -> float:
        return INTEROCULAR_MM / EYE_DISTANCE

    @property
    def detail(self) -> float:
        """Original pixels per canonical pixel: below 1 the crop was upsampled and holds no fine detail."""
        return self.eye_distance_px / EYE_DISTANCE


def eye_centres(face: DetectedFace) -> tuple[tuple[float, float], tuple[float, float], bool]:
    if face.right_eye and face.left_eye:
        return face.right_eye, face.left_eye, True
    # Typical eye positions inside the frontal cascade's box (measured on the cascade's output).
    y = face.y + 0.37 * face.h
    return (face.x + 0.27 * face.w, y), (face.x + 0.73 * face.w, y), False


def align(rgb: np.ndarray, face: DetectedFace, photo_scale: float) -> FaceFrame:
    """Rotate and scale the face into the canonical frame (eyes level, EYE_DISTANCE apart)."""
    (rx, ry), (lx, ly), found = eye_centres(face)
    d = math.hypot(lx - rx, ly - ry)
    roll = math.degrees(math.atan2(ly - ry, lx - rx))
    s = EYE_DISTANCE / d
    mx, my = (rx + lx) / 2, (ry + ly) / 2
    # Work on a region of interest only: downscale it with area averaging first (no aliasing),
    # then a single affine warp does rotation and the remaining scale.
    reach = 2.6 * d
    x0, y0 = max(0, int(mx - reach)), max(0, int(my - reach))
    x1, y1 = min(rgb.shape[1], int(mx + reach) + 1), min(rgb.shape[0], int(my + reach) + 1)
    roi = rgb[y0:y1, x0:x1]
    pre = min(1.0, 1.5 * s)
    if pre < 1.0:
        roi = cv2.resize(roi, None, fx=pre, fy=pre, interpolation=cv2.INTER_AREA)
    cx, cy = (mx - x0) * pre, (my - y0) * pre
    m = cv2.getRotationMatrix2D((cx, cy), roll, s / pre)
    m[0, 2] += WIDTH / 2 - cx
    m[1, 2] += EYE_Y - cy
    crop = cv2.warpAffine(roi, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(np.ones(roi.shape[:2], np.uint8), m, (WIDTH, HEIGHT),
                            flags=cv2.INTER_NEAREST, borderValue=0).astype(bool)
    full = np.asarray(m, np.float64).copy()
    full[:, :2] = full[:, :2] * pre
    full[:, 2] -= full[:, :2] @ np.array([x0, y0], float)
    return FaceFrame(crop=crop, inside=inside, eye_distance_px=d / photo_scale, roll_degrees=roll,
                     eyes_found=found, to_canonical=full)


def region_centre(name: Region) -> tuple[float, float, float]:
    """Canonical centre (x, y) and mean half-size of a region, in canonical pixels."""
    _, x, y, hw, hh = _SHAPES[name]
    return WIDTH / 2 + x * EYE_DISTANCE, EYE_Y + y * EYE_DISTANCE, (hw + hh) / 2 * EYE_DISTANCE


def draw_regions(frame: FaceFrame) -> np.ndarray:
    """The crop with region outlines, for people checking placement (`vision analyze --debug`)."""
    out = frame.crop.copy()
    for mask in REGION_MASKS.values():
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, (0, 255, 0), 1)
    return out
