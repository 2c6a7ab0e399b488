"""The quality gate: decide whether a photo can be measured, and if not, say how to retake it.

Measurements from a blurry, dark or orange-lit photo are worse than none: they would be stored,
trended and talked about as if true. So the gate fails closed, and every failed check carries one
sentence a person can act on. Limits live in `GateLimits` (loaded from thresholds.yaml).
"""

from __future__ import annotations

import cv2
import numpy as np

from vision.config import GateLimits
from vision.models import QualityCheck, QualityReport
from vision.ports import DetectedFace
from vision.regions import REGION_MASKS, FaceFrame
from vision.skin import SkinMap

ADVICE = {
    "no_face": "We couldn't find a face. Face the camera straight on, your whole face in the frame, "
               "in good light.",
    "several_faces": "There's more than one face in the photo. Take a selfie with just your face.",
    "face_too_small": "Move closer: your face should fill about half of the frame.",
    "face_cut_off": "Hold the phone a little further away so your forehead and chin are in the frame.",
    "not_frontal": "Look straight into the camera and keep your head level.",
    "blurry": "The photo is blurry. Hold the phone steady (or lean it on something), tap your face "
              "to focus, and wipe the lens.",
    "too_dark": "It's too dark. Face a window in daylight or a lamp in front of you, not behind you.",
    "too_bright": "It's too bright or washed out. Step out of direct sun and turn the flash off.",
    "uneven_light": "One side of your face is in shadow. Turn so the light falls evenly on your face.",
    "colour_cast": "The light is strongly coloured. Use daylight from a window instead of coloured or "
                   "very warm lamps.",
    "filter": "The photo looks filtered or retouched. Send an unedited photo: no filters, beauty "
              "mode or black-and-white.",
}
EYES_PER_FACE_WIDTH = 0.46  # eye-centre distance / frontal-cascade box width, measured
ORDER = list(ADVICE)  # the order a person should fix things in
PROBLEM = {
    "no_face": "no face was found", "several_faces": "there is more than one face",
    "face_too_small": "the face is too small", "face_cut_off": "part of the face is outside the photo",
    "not_frontal": "the face is turned or tilted", "blurry": "the photo is blurry",
    "too_dark": "the photo is too dark", "too_bright": "the photo is too bright",
    "uneven_light": "the light is uneven", "colour_cast": "the light is strongly coloured",
    "filter": "the photo looks filtered",
}


def sharpness(rgb: np.ndarray, face: DetectedFace) -> float:
    """Variance of the Laplacian of the face, at most 256 px wide so large photos are not favoured."""
    gray = cv2.cvtColor(rgb[max(0, face.y):face.y + face.h, max(0, face.x):face.x + face.w],
                        cv2.COLOR_RGB2GRAY)
    k = min(1.0, 256 / max(1, face.w))
    if k < 1:
        gray = cv2.resize(gray, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F).var())


def _check(code: str, passed: bool, value: float | None, limit: str) -> QualityCheck:
    return QualityCheck(code=code, passed=passed, value=None if value is None else round(value, 3),
                        limit=limit, advice=None if passed else ADVICE[code])


def face_checks(rgb: np.ndarray, faces: list[DetectedFace], scale: float,
                lim: GateLimits) -> list[QualityCheck]:
    """Checks that need only the detector's output; the gate stops here if there is no one face."""
    if not faces:
        return [_check("no_face", False, 0, ">= 1 face")]
    main = faces[0]
    others = sum(1 for f in faces[1:] if f.w >= 0.5 * main.w)
    checks = [_check("several_faces", others == 0, 1 + others, "exactly 1 face")]
    width = float(main.w)
    if main.right_eye and main.left_eye:  # eyes are located at full resolution: a steadier size
        width = float(np.hypot(main.left_eye[0] - main.right_eye[0],
                               main.left_eye[1] - main.right_eye[1])) / EYES_PER_FACE_WIDTH
    frac = width / min(rgb.shape[:2])
    px = width / scale
    checks.append(_check("face_too_small", px >= lim.min_face_px and frac >= lim.min_face_fraction,
                         frac, f">= {lim.min_face_fraction:.0%} of the frame and {lim.min_face_px} px"))
    return checks


def frame_checks(rgb: np.ndarray, face: DetectedFace, frame: FaceFrame, sm: SkinMap,
                 gains: np.ndarray, texture: float, lim: GateLimits) -> list[QualityCheck]:
    checks = []
    union = np.zeros_like(frame.inside)
    for m in REGION_MASKS.values():
        union |= m
    inside = float(frame.inside[union].mean())
    checks.append(_check("face_cut_off", inside >= 0.9, inside, ">= 90% of the face inside the photo"))
    frontal, value = abs(frame.roll_degrees) <= lim.max_roll_degrees, abs(frame.roll_degrees)
    if face.right_eye and face.left_eye:
        mid = (face.right_eye[0] + face.left_eye[0]) / 2
        offset = abs(mid - (face.x + face.w / 2)) / face.w
        ratio = (face.left_eye[0] - face.right_eye[0]) / face.w
        frontal = frontal and offset <= lim.max_eye_offset and ratio >= lim.min_eye_distance_ratio
    checks.append(_check("not_frontal", frontal, value,
                         f"roll <= {lim.max_roll_degrees:g} degrees, eyes centred"))
    sharp = sharpness(rgb, face)
    checks.append(_check("blurry", sharp >= lim.min_sharpness, sharp, f">= {lim.min_sharpness:g}"))
    raw_l = float(np.median(cv2.cvtColor(frame.crop, cv2.COLOR_RGB2Lab)[..., 0][union & frame.inside])) * 100 / 255
    checks.append(_check("too_dark", raw_l >= lim.min_lightness, raw_l, f"L* >= {lim.min_lightness:g}"))
    checks.append(_check("too_bright", raw_l <= lim.max_lightness and sm.clipped <= lim.max_clipped,
                         sm.clipped, f"L* <= {lim.max_lightness:g}, <= {lim.max_clipped:.0%} clipped"))
    r, lft = sm.region("right_cheek", True), sm.region("left_cheek", True)
    side = abs(float(np.median(sm.L[r])) - float(np.median(sm.L[lft]))) if r.any() and lft.any() else 0.0
    checks.append(_check("uneven_light", side <= lim.max_side_difference, side,
                         f"<= {lim.max_side_difference:g} L* between the cheeks"))
    cast = float(gains.max() / gains.min())
    checks.append(_check("colour_cast", cast <= lim.max_cast_ratio, cast, f"<= {lim.max_cast_ratio:g}"))
    raw_chroma = _raw_chroma(frame, union)
    filtered = (raw_chroma < lim.min_chroma or raw_chroma > lim.max_chroma
                or (frame.detail >= 0.8 and sharp >= 2 * lim.min_sharpness and texture < lim.min_skin_texture))
    checks.append(_check("filter", not filtered, raw_chroma,
                         f"skin chroma {lim.min_chroma:g}-{lim.max_chroma:g}, natural skin texture"))
    return checks


def _raw_chroma(frame: FaceFrame, union: np.ndarray) -> float:
    lab = cv2.cvtColor(frame.crop, cv2.COLOR_RGB2Lab).astype(np.float32)
    return float(np.median(np.hypot(lab[..., 1] - 128, lab[..., 2] - 128)[union & frame.inside]))


def report(checks: list[QualityCheck]) -> QualityReport:
    checks = sorted(checks, key=lambda c: ORDER.index(c.code))
    return QualityReport(passed=all(c.passed for c in checks), checks=checks)
