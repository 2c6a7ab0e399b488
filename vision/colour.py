"""Colour maths: linear light, white balance, CIELAB and the individual typology angle.

White balance is estimated in *linear* light because a coloured lamp multiplies the light that
reaches the camera per channel; undoing it in gamma-encoded values would leave a residual cast
that changes with brightness. The estimator is a grey-world variant (see `_illuminant`): it needs
no reference card, and it is equivariant to a per-channel cast, so the same face under warm and
under neutral light gives the same corrected colours.
"""

from __future__ import annotations

import cv2
import numpy as np

_SRGB_TO_LINEAR = np.array(
    [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in np.arange(256) / 255.0],
    dtype=np.float32)
MAX_GAIN_RATIO = 2.0


def to_linear(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> float32 linear RGB in [0, 1]."""
    return _SRGB_TO_LINEAR[rgb]


def to_srgb_uint8(linear: np.ndarray) -> np.ndarray:
    lin = np.clip(linear, 0.0, 1.0)
    srgb = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.power(lin, 1 / 2.4) - 0.055)
    return np.round(srgb * 255).astype(np.uint8)


def _illuminant(rgb: np.ndarray, step: int) -> np.ndarray:
    """Linear RGB of the light: grey-world first, then refined three times on the quarter of the
    scene that is most neutral once the current guess is undone. Plain grey-world is fooled by one
    big coloured object (an orange jacket pulls skin green); a bright-pixel start (shades-of-grey,
    white patch) is fooled by a close-up face, the brightest large thing in a selfie. Every step
    scales with a per-channel cast, so a cast cancels exactly (up to clipping)."""
    sample = rgb[::step, ::step].reshape(-1, 3)
    ok = (sample.max(axis=1) < 250) & (sample.min(axis=1) > 5)
    lin = to_linear(sample[ok] if ok.sum() > 100 else sample).astype(np.float64)
    est = lin.mean(axis=0) + 1e-9
    for _ in range(3):
        lab = linear_to_lab((lin * (est.mean() / est)).astype(np.float32)[None])[0]
        chroma = np.hypot(lab[:, 1], lab[:, 2])
        grey = chroma <= np.percentile(chroma, 25)
        est = lin[grey].mean(axis=0) + 1e-9
    return est


def grey_world_gains(rgb: np.ndarray, step: int = 0) -> np.ndarray:
    """Per-channel gains that make the estimated light neutral, keeping overall brightness.

    Clipped pixels are left out: they lost their colour. The gains are clamped so a scene that
    really is one colour (a red wall) cannot swing the skin colour arbitrarily far.
    """
    step = step or max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 40_000)))  # ~40k samples
    est = _illuminant(rgb, step)
    gains = est.mean() / est
    lo, hi = gains.min(), gains.max()
    if hi / lo > MAX_GAIN_RATIO:  # compress towards 1 in log space, preserving direction
        k = np.log(MAX_GAIN_RATIO) / np.log(hi / lo)
        gains = np.exp(np.log(gains) * k)
    return gains.astype(np.float32)


def cast_ratio(gains: np.ndarray) -> float:
    """How coloured the light was: max/min of the white-balance gains (1.0 = neutral)."""
    return float(gains.max() / gains.min())


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """float32 linear RGB -> CIELAB (D65): L* in 0..100, a* and b* roughly -128..127."""
    return cv2.cvtColor(np.ascontiguousarray(linear, dtype=np.float32), cv2.COLOR_LRGB2Lab)


def ita_degrees(L: np.ndarray | float, b: np.ndarray | float) -> np.ndarray | float:
    """Individual typology angle, ITA° = arctan((L* - 50) / b*) * 180/pi (Chardon et al. 1991)."""
    return np.degrees(np.arctan2(np.asarray(L) - 50.0, np.maximum(np.asarray(b), 1e-3)))


def ita_category(ita: float) -> str:
    """Chardon's skin-colour categories by ITA°."""
    for limit, name in ((55, "very light"), (41, "light"), (28, "intermediate"), (10, "tan"),
                        (-30, "brown")):
        if ita > limit:
            return name
    return "dark"
