"""Entities and slots in a message: graph entities through the resolver, the rest by patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graph.store import GraphStore

_ORDER = re.compile(r"\bSS[-\s#]?(\d{3,8})\b|(?:\border\b|\bnumber\b|#)\s*(?:no\.?\s*|number\s*)?#?\s*(\d{5,8})\b"
                    r"|^\s*#?(\d{6})\s*$", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s-]{7,}\d")
_BUDGET = re.compile(r"(?:under|below|less than|max(?:imum)?|up to|no more than|budget(?: of| is)?|<)\s*"
                     r"(?:[€$£]|eur(?:os?)?\s*|usd\s*|gbp\s*)?(\d{1,4}(?:[.,]\d{1,2})?)\s*"
                     r"(?:€|eur(?:os?)?|dollars?|usd|pounds?|gbp)?", re.I)
_PREGNANT = re.compile(r"\b(pregnan\w*|expecting a baby|trying to conceive|ttc)\b", re.I)
_BREASTFEEDING = re.compile(r"\b(breast-?\s?feed\w*|nursing|lactating)\b", re.I)
_NOT_PREGNANT = re.compile(r"\b(not|no longer|n't|stopped)\s+(\w+\s+){0,2}(pregnan\w*|breast-?\s?feed\w*|nursing)\b"
                           r"|\bgave birth\b.*\bnot breast", re.I)
_ALLERGY = re.compile(r"(?:allergic to|allergy to|allergies to|react(?:s|ion)? (?:badly )?to|can'?t (?:use|tolerate)|"
                      r"cannot (?:use|tolerate)|sensitive to|intolerant to|avoid(?:ing)?|no |without |free of |"
                      r"break out from|irritated by)\s+([\w\s,/'-]{2,80})", re.I)
_ALLERGY_NOUN = re.compile(r"\b([\w-]+(?:\s[\w-]+)?)\s+(?:allerg(?:y|ies)|intolerance|sensitivity)\b"
                           r"(?:[,;:\s-]+(?:especially|particularly|like|such as|including|mostly|mainly)\s+([\w\s,/'-]{2,60}))?",
                           re.I)
_CATEGORIES = {
    "serum": "serum", "serums": "serum", "cleanser": "cleanser", "face wash": "cleanser", "wash": "cleanser",
    "moisturiser": "moisturiser", "moisturizer": "moisturiser", "cream": "moisturiser", "lotion": "moisturiser",
    "sunscreen": "sunscreen", "spf": "sunscreen", "sun cream": "sunscreen", "sunblock": "sunscreen",
    "toner": "toner", "exfoliant": "exfoliant", "exfoliator": "exfoliant", "peel": "exfoliant",
    "mask": "mask", "eye cream": "eye-cream", "face oil": "face-oil", "oil": "face-oil", "essence": "essence",
    "spot treatment": "treatment", "treatment": "treatment", "lip balm": "lip", "lip": "lip",
    "body lotion": "body",
}
_CATEGORY_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _CATEGORIES), key=len, reverse=True)) + r")(?:e?s)?\b",
                          re.I)
_DAYS_BEFORE = re.compile(r"\b(\d{1,2})\s*(?:days?|d)\s*(?:before|early|earlier|ahead|in advance|beforehand|prior)\b"
                          r"|\b(a|one|two) weeks? (?:before|early|ahead|in advance)\b", re.I)
#: The customer speaking about themselves ("I'm pregnant", "my skin is oily"), not asking in general.
FIRST_PERSON = re.compile(r"\b(i'?m|i am|i have|i've got|i get|my skin|i suffer|i struggle|i deal|currently|"
                          r"since i|as i|while i|now i|we'?re|i'?ve been|i tend)\b", re.I)


@dataclass
class Slots:
    ingredients: list[str] = field(default_factory=list)
    concerns: list[str] = field(default_factory=list)
    skin_types: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    allergies: list[str] = field(default_factory=list)
    pregnancy: str | None = None
    max_price: float | None = None
    category: str | None = None
    order_id: str | None = None
    email: str | None = None
    phone: str | None = None
    allergen_groups: list[str] = field(default_factory=list)
    days_before: int | None = None


_SEGMENTS = re.compile(r"\s*(?:,|;|\band\b|\bwith\b|\bplus\b|&|\+(?!\s*\d)|\balong with\b|\bor\b)\s*", re.I)


_PRODUCT_WORD = re.compile(r"\b(serum|cream|moisturi[sz]er|cleanser|wash|toner|tonic|essence|mist|gel|lotion|balm|"
                           r"mask|peel|exfoliant|exfoliator|spf|sunscreen|fluid|oil|paste|stick|drops|treatment|"
                           r"solution|emulsion|milk|foam|scrub|pads?|corrector|product)s?\b|\b[A-Z]{2}-[A-Z]{2,4}-\d{3}\b",
                           re.I)


def _products(text: str, graph: GraphStore) -> list[str]:
    """Every product named in the text: the whole text, then each part between "and", "with", commas.

    A product is only looked for where a product word or a SKU appears ("the niacinamide serum"),
    so "what does niacinamide do" is about the ingredient, not the products that contain it.
    """
    threshold = 0.7 if _PRODUCT_WORD.search(text) else 0.85
    found = [m.id for m in graph.find_products(text, limit=2) if m.score >= threshold]
    parts = [p for p in _SEGMENTS.split(text) if p and len(p) > 3]
    if len(parts) > 1:
        for part in parts[:8]:
            for m in graph.find_products(part, limit=1):
                if m.score >= (0.75 if _PRODUCT_WORD.search(part) else 0.9) and m.id not in found:
                    found.append(m.id)
    return found


def extract(text: str, graph: GraphStore) -> Slots:
    s = Slots()
    if not text.strip():
        return s
    for m in graph.resolve(text, limit=12):
        target = {"ingredient": s.ingredients, "concern": s.concerns, "skin_type": s.skin_types}.get(m.kind)
        if target is not None and m.score >= 0.84 and m.id not in target:
            target.append(m.id)
    s.products = _products(text, graph)
    groups: list[str] = []
    clauses = [re.split(r"\b(?:and i|but|so|which|because|what|can you|\.|\?|!)\b", m.group(1))[0]
               for m in _ALLERGY.finditer(text)]
    clauses += [m.group(1) + " " + (m.group(2) or "") for m in _ALLERGY_NOUN.finditer(text)]  # "a nut allergy"
    for clause in clauses:
        for hit in graph.resolve(clause, kinds=("ingredient", "allergen_group"), limit=4):
            if hit.score < 0.84:
                continue
            if hit.kind == "allergen_group":
                groups.append(hit.id)
            elif hit.id not in s.allergies:
                s.allergies.append(hit.id)
    if groups:   # "allergic to fragrance" means every fragrance ingredient, not just Parfum
        s.allergies = list(dict.fromkeys([*s.allergies, *graph.allergen_group_members(groups)]))
        s.allergen_groups = groups
    if _NOT_PREGNANT.search(text):
        s.pregnancy = "none"
    elif _BREASTFEEDING.search(text):
        s.pregnancy = "breastfeeding"
    elif _PREGNANT.search(text):
        s.pregnancy = "pregnant"
    if b := _BUDGET.search(text):
        s.max_price = float(b.group(1).replace(",", "."))
    if d := _DAYS_BEFORE.search(text):
        s.days_before = int(d.group(1)) if d.group(1) else {"a": 7, "one": 7, "two": 14}[d.group(2).lower()]
    if c := _CATEGORY_RE.search(text):
        s.category = _CATEGORIES[c.group(1).lower()]
    if o := _ORDER.search(text):
        s.order_id = f"SS-{next(g for g in o.groups() if g)}"
    if e := _EMAIL.search(text):
        s.email = e.group(0)
    if p := _PHONE.search(text.replace(s.order_id or "\0", "")):
        if len(re.sub(r"\D", "", p.group(0))) >= 9:
            s.phone = p.group(0)
    return s
