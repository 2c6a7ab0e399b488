"""Which canonical pixels are skin, and the face's own colour baseline.

Regions are placed from proportions, so they catch hair, eyebrows and background at their edges.
The skin model is the face's own: the median of the main regions' median colours (robust to a
region or two being hair or flushed), with pixels far from it in colour, much darker, or busy
like hair left out when they reach a region's edge (a fringe, an eyebrow). Small dark areas
*inside* a region stay in: those are spots, which several measurements look for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from vision.colour import linear_to_lab, to_linear
from vision.models import REGION_GROUPS, REGIONS, Region
from vision.regions import REGION_BOXES, REGION_MASKS, FaceFrame

MAIN_REGIONS = REGION_GROUPS["face"]
HIGHLIGHT_RATIO = 1.3


@dataclass
class SkinMap:
    rgb_lin: np.ndarray  # white-balanced linear RGB
    union: np.ndarray  # bool: inside some region and inside the photo
    edge: np.ndarray  # bool: the union's outline
    L: np.ndarray
    a: np.ndarray
    b: np.ndarray
    skin: np.ndarray  # bool: skin inside some region (highlights included)
    highlight: np.ndarray  # bool: specular highlights on skin
    L_med: float
    a_med: float
    b_med: float
    chroma_med: float
    clipped: float  # fraction of region pixels clipped in the photo
    _cache: dict[tuple[str, bool], np.ndarray] = field(default_factory=dict, repr=False)

    def region(self, name: Region, colour: bool = False) -> np.ndarray:
        """Skin pixels of a region (full crop size); `colour=True` also drops highlights, which
        carry no skin colour."""
        box = REGION_BOXES[name]
        full = np.zeros(self.skin.shape, bool)
        full[box] = self.local(name, colour)
        return full

    def local(self, name: Region, colour: bool = False) -> np.ndarray:
        """The same mask cut to the region's box (`REGION_BOXES[name]`): cheap to work on."""
        key = (name, colour)
        if key not in self._cache:
            box = REGION_BOXES[name]
            m = self.skin[box] & REGION_MASKS[name][box]
            self._cache[key] = m & ~self.highlight[box] if colour else m
        return self._cache[key]

    def values(self, arr: np.ndarray, name: Region, colour: bool = True) -> np.ndarray:
        """`arr`'s values on a region's skin pixels."""
        return arr[REGION_BOXES[name]][self.local(name, colour)]

    def count(self, name: Region, colour: bool = False) -> int:
        return int(self.local(name, colour).sum())

    def area(self, name: Region) -> int:
        """Pixels of the region that lie inside the photo (skin or not)."""
        box = REGION_BOXES[name]
        return int((self.union[box] & REGION_MASKS[name][box]).sum())


def smooth(x: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur that only averages over `mask` (normalised convolution): hair or background
    next to a region does not bleed into its local skin baseline. Wide blurs run at half size
    (a wide blur has no fine detail to lose), which makes them four times cheaper."""
    m = mask.astype(np.float32)
    if sigma < 6:
        num = cv2.GaussianBlur(x * m, (0, 0), sigma)
        den = cv2.GaussianBlur(m, (0, 0), sigma)
        return num / np.maximum(den, 1e-3)
    h, w = x.shape
    half = (w // 2, h // 2)
    num = cv2.GaussianBlur(cv2.resize(x * m, half, interpolation=cv2.INTER_AREA), (0, 0), sigma / 2)
    den = cv2.GaussianBlur(cv2.resize(m, half, interpolation=cv2.INTER_AREA), (0, 0), sigma / 2)
    return cv2.resize(num / np.maximum(den, 1e-3), (w, h), interpolation=cv2.INTER_LINEAR)


def _main_pieces(skin: np.ndarray, lab: np.ndarray, ref: tuple[float, float, float]) -> np.ndarray:
    """Per region, keep the skin pieces at least a quarter the size of its largest piece and close
    to the face's colour on average: skin-coloured islands in a fringe are strands of hair."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(skin.astype(np.uint8), connectivity=4)
    keep = np.zeros(n, bool)
    areas = stats[:, cv2.CC_STAT_AREA]
    for name in REGIONS:
        ids = np.unique(labels[REGION_MASKS[name] & skin])
        if ids.size:
            keep[ids[areas[ids] >= 0.25 * areas[ids].max()]] = True
    keep[0] = False
    for i in np.flatnonzero(keep):
        if areas[i] < 2000:  # the big pieces are skin by construction; check the small ones
            med = np.median(lab[labels == i], axis=0)
            if abs(med[0] - ref[0]) > 15 or med[1] < ref[1] - 4 or abs(med[2] - ref[2]) > 6:
                keep[i] = False
    return keep[labels]


def _reference(lab: np.ndarray, union: np.ndarray, busy: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The face's skin colour from the main regions' medians, robust to a region or two being
    hair or shadow (dropped: busy texture or much darker than the rest) or being redder than the
    others (a* is taken from the least red region, so a flushed cheek cannot move the reference)."""
    stats = []
    for name in MAIN_REGIONS:
        m = REGION_MASKS[name] & union
        if m.sum() >= 30:
            px = lab[m]
            stats.append((np.median(px, axis=0), np.abs(px - np.median(px, axis=0)), busy[m].mean()))
    if not stats:
        px = lab[union]
        stats = [(np.median(px, axis=0), np.abs(px - np.median(px, axis=0)), 0.0)]
    top_l = max(s[0][0] for s in stats)
    skinlike = [s for s in stats if s[2] <= 0.35 and s[0][0] >= top_l - 25] or stats
    meds = np.stack([s[0] for s in skinlike])
    mad = 1.4826 * np.median(np.concatenate([s[1] for s in skinlike]), axis=0)
    ref = np.median(meds, axis=0)
    ref[1] = meds[:, 1].min()
    return ref, float(mad[1]), float(mad[2])


def build_skin_map(frame: FaceFrame, gains: np.ndarray) -> SkinMap:
    union = np.zeros(frame.inside.shape, bool)
    for name in REGIONS:
        union |= REGION_MASKS[name]
    union &= frame.inside
    clipped = float(((frame.crop.max(axis=2) >= 250) | (frame.crop.max(axis=2) <= 5))[union].mean())
    lin = to_linear(frame.crop) * gains
    lab = linear_to_lab(lin)
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    # Hair that matches skin colour (blond strands) still gives itself away by its busy texture.
    detail = L - smooth(L, union, 2.0)
    energy = cv2.GaussianBlur(detail * detail, (0, 0), 3.0)
    busy = energy > max(4.0, 9.0 * float(np.median(energy[union])))
    ref, mad_a, mad_b = _reference(lab, union, busy)
    L_ref, a_ref, b_ref = (float(v) for v in ref)
    chroma = np.hypot(a, b)
    chroma_ref = float(np.hypot(a_ref, b_ref))
    # Specular highlights: at least 30% more light than the skin's median (a ratio in linear
    # luminance, so it does not move with exposure) and no more saturated than skin.
    y_ratio = ((L + 16) / 116) ** 3 / ((L_ref + 16) / 116) ** 3
    highlight = union & (y_ratio > HIGHLIGHT_RATIO) & (chroma < chroma_ref)
    # Redder than usual is still skin (that is what redness measures), so the band is lopsided.
    da = a - a_ref
    off_colour = ((da < -max(8.0, 4 * mad_a)) | (da > max(25.0, 8 * mad_a))
                  | (np.abs(b - b_ref) > max(12.0, 5 * mad_b)))
    off = union & ((off_colour & ~highlight) | (L < L_ref - 18) | busy)
    skin = _main_pieces(union & ~off, lab, (L_ref, a_ref, b_ref))
    # Off-skin blobs that reach a region's edge are hair, brows, glasses or background; blobs
    # inside a region are spots and count as skin.
    edge = union & ~cv2.erode(union.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    n, labels, _, _ = cv2.connectedComponentsWithStats(off.astype(np.uint8), connectivity=8)
    if n > 1:
        touches = np.zeros(n, bool)
        touches[np.unique(labels[edge & off])] = True
        inner = ~touches
        inner[0] = False
        skin |= inner[labels] & off
    colour = skin & ~highlight
    if colour.sum() >= 30:
        L_ref, a_ref, b_ref = (float(np.median(c[colour])) for c in (L, a, b))
    return SkinMap(rgb_lin=lin, union=union, edge=edge, L=L, a=a, b=b, skin=skin, highlight=highlight & skin, L_med=L_ref,
                   a_med=a_ref, b_med=b_ref, chroma_med=chroma_ref, clipped=clipped)
