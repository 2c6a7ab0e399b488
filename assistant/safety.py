"""Safety rules as code: they run before and after any planner, offline or LLM, and cannot be argued with.

Pure functions over plain data; every rule has a name that lands in the reply's trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from graph.model import PREGNANCY_EXCLUDED

Urgency = Literal["emergency", "urgent", "dermatologist"]


@dataclass(frozen=True)
class RedFlag:
    kind: str
    urgency: Urgency


_FLAGS: tuple[tuple[str, Urgency, str], ...] = (
    ("breathing", "emergency",
     r"(can'?t|cannot|trouble|difficult(y)?|hard to|struggling to|short of)\s+(breath|breathe|breathing)"
     r"|throat (is |feels |getting |feel )?(closing|tight|swell)|tight(ness)? (in|of) (my )?throat|anaphyla"
     r"|wheez"),
    ("swelling", "emergency",
     r"(face|lips?|tongue|eyes?|eyelids?|throat|mouth)\s+(is |are |got |has |have |started |keeps? |has been |have been )?"
     r"(really |very |badly |all )?(swell|swollen|puff(ed|ing)? up)|swelling (of|in|on|around) (my )?"
     r"(face|lips?|tongue|eyes?|throat)|(swollen|swelling) (face|lips?|tongue|eyes?)"),
    ("eye_exposure", "urgent", r"(in|into) my eyes?.*(burn|sting|pain|can'?t see)|chemical burn"),
    ("blistering", "urgent", r"\bblister(s|ed|ing)?\b|skin (is )?peeling off in sheets|oozing|weeping (rash|skin)"),
    ("infection", "urgent", r"\binfect(ed|ion)\b|\bpus\b|fever|red streaks?|hot and spreading|abscess|cellulitis"),
    ("severe_pain", "urgent", r"(severe|unbearable|excruciating|intense|really bad|extreme) (pain|burning)"
     r"|burn(s|ing)? (so )?badly|(pain|burning) (won'?t|will not|doesn'?t) (stop|go away)"),
    ("hives", "urgent", r"\bhives\b|rash (all )?over my (body|face)|welts"),
    ("changing_mole", "dermatologist",
     r"\bmole\b.*(chang|grow|bigger|bleed|itch|irregular|dark(er)?|new|shape|colou?r)"
     r"|(chang|grow|bleed|itch|new|irregular|dark).*\bmole\b|\bmelanoma\b|skin cancer"
     r"|(spot|lesion|sore).*(won'?t|doesn'?t|not) heal|bleeding (spot|lesion)"),
)
_FLAG_RES = [(kind, urgency, re.compile(p, re.I)) for kind, urgency, p in _FLAGS]
_ORDER = {"emergency": 0, "urgent": 1, "dermatologist": 2}


def red_flags(text: str) -> list[RedFlag]:
    """Symptoms that need a doctor, most urgent first. Never answered with a product pitch."""
    found = [RedFlag(kind, urgency) for kind, urgency, rx in _FLAG_RES if rx.search(text)]
    return sorted(found, key=lambda f: _ORDER[f.urgency])


_INJECTION = re.compile(
    r"ignore (all |any |the |your |my )?(previous |prior |above |earlier )?(instructions|rules|prompts?)"
    r"|disregard (all |your |the )?(previous |prior )?(instructions|rules)"
    r"|you are now|you're now|from now on you|act as (an? )?(admin|administrator|developer|system|root)"
    r"|(admin|developer|debug|god|dan|jailbreak|sudo|maintenance) mode"
    r"|(reveal|show|print|repeat|leak) (me )?(your|the) (system )?(prompt|instructions)"
    r"|system prompt|pretend (you|to be)|override (your|the) (rules|safety|permissions)"
    r"|(i am|i'm) (the |an? )?(admin|administrator|developer|owner|ceo|staff|support agent)\b"
    r"|another customer'?s|of (another|other|a different) (customer|person|user)|someone else'?s (order|account|data)"
    r"|other customers'? (orders?|data|details)|all (the )?(customers?|orders|users)\b|every (order|customer)"
    r"|(list|export|download) (all )?(the )?(customers|users|orders)"
    r"|\bdump\b.*\b(database|table|orders|customers)\b", re.I)


def looks_like_injection(text: str) -> bool:
    """Attempts to change the rules or reach other people's data. Code still checks permissions
    whatever this says; this only decides the reply and the trace."""
    return bool(_INJECTION.search(text))


# Cosmetic language: the brand may say "helps reduce the look of", never "treats" or "cures".
_CLAIMS: tuple[tuple[str, str], ...] = (
    (r"\b(cures?|cured|curing)\b", "helps with"),
    (r"\b(treats?|treated|treating)\b (acne|eczema|rosacea|psoriasis|dermatitis|melasma)",
     r"helps care for skin prone to \2"),
    (r"\b(treats?|treated|treating)\b (breakouts|blemishes|spots|pimples|wrinkles|pigmentation|dark spots)",
     r"helps reduce the look of \2"),
    (r"\bheals? (your |the |damaged )?(skin|acne|eczema|rosacea|wounds?|scars?|barrier)\b", r"soothes \1\2"),
    (r"\b(eliminates?|eradicates?|gets rid of)\b", "helps reduce the look of"),
    (r"\bclinically proven to (cure|treat)\b", "formulated to help with"),
    (r"\bprescription[- ]strength\b", "high-strength"),
)
_CLAIM_RES = [(re.compile(p, re.I), r) for p, r in _CLAIMS]


def cosmetic_language(text: str) -> tuple[str, bool]:
    """Rewrite disease claims into cosmetic wording; returns (text, whether anything changed)."""
    out = text
    for rx, repl in _CLAIM_RES:
        out = rx.sub(repl, out)
    return out, out != text


@dataclass(frozen=True)
class Exclusion:
    sku: str
    ingredient: str
    reason: Literal["allergy", "avoid", "pregnancy"]


def unsafe_skus(flags: dict[str, dict[str, str]], avoid: set[str], pregnant_or_breastfeeding: bool) -> set[str]:
    """Of products with their full ingredient lists (`GraphStore.ingredient_safety`), those this person
    must not be offered."""
    return {sku for sku, ings in flags.items()
            if excluded(sku, list(ings), avoid, {i for i, r in ings.items() if r in PREGNANCY_EXCLUDED},
                        pregnant_or_breastfeeding) is not None}


def excluded(product_sku: str, ingredients: list[str], avoid: set[str], pregnancy_unsafe: set[str],
             pregnant_or_breastfeeding: bool) -> Exclusion | None:
    """Why a product must not be offered to this person, or None. Every ingredient counts, at any position."""
    for ing in ingredients:
        if ing in avoid:
            return Exclusion(product_sku, ing, "avoid")
    if pregnant_or_breastfeeding:
        for ing in ingredients:
            if ing in pregnancy_unsafe:
                return Exclusion(product_sku, ing, "pregnancy")
    return None
