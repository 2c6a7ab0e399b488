"""Read the curated knowledge folder into one validated, cross-checked `KnowledgeBundle`.

Everything is checked before anything is written: a bad entry fails with its file, entry number,
line and reason, and the graph is left as it was.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from graph.model import (
    AllergenGroup,
    Brand,
    Concern,
    Ingredient,
    Interaction,
    KnowledgeBundle,
    Product,
    SkinType,
)
from ingest.inci import InciMatcher, split_inci
from skinsage.errors import KnowledgeError

M = TypeVar("M", bound=BaseModel)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: An active high on the list is present at an active level even when no % is declared.
KEY_POSITION = 10
#: An acid that doubles as a pH adjuster is an exfoliant only when declared or this high on the list.
PH_ADJUSTER_KEY_POSITION = 4


def key_ingredients(ids: list[str], declared: dict[str, float], by_id: dict[str, Ingredient]) -> list[str]:
    """Which ingredients are present at an active level, reading the label the way a chemist does.

    Declared percentages always count. Otherwise an active counts when it is high on the list and
    above the "1% line" (the first preservative: everything after it is at 1% or less), and an acid
    that is also a pH adjuster (citric acid near the end of a cleanser) only when very high up.
    """
    first_preservative = next((pos for pos, i in enumerate(ids, start=1)
                               if any("preserv" in f.lower() for f in by_id[i].functions)), len(ids) + 1)
    out = []
    for pos, i in enumerate(ids, start=1):
        ing = by_id[i]
        if i in declared:
            out.append(i)
        elif ing.kind != "active" or pos > KEY_POSITION or pos > first_preservative:
            continue
        elif any("ph adjust" in f.lower() or "buffer" in f.lower() for f in ing.functions):
            if pos <= PH_ADJUSTER_KEY_POSITION:
                out.append(i)
        else:
            out.append(i)
    return out


def read_entries(path: Path, root: Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, mapping) for each entry of a YAML list, `where` naming the entry and its line."""
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except UnicodeDecodeError as e:
        raise KnowledgeError(rel, None, f"not UTF-8 text: {e}") from e
    except yaml.YAMLError as e:
        raise KnowledgeError(rel, None, f"not valid YAML: {e}") from e
    if data is None:
        return []
    if not isinstance(data, list) or node is None:
        raise KnowledgeError(rel, None, "expected a list of entries")
    out = []
    for i, (item, n) in enumerate(zip(data, node.value, strict=True), start=1):
        where = f"{i} (line {n.start_mark.line + 1})"
        if not isinstance(item, dict):
            raise KnowledgeError(rel, where, "entry is not a mapping")
        out.append((where, item))
    return out


def _validate(model: type[M], path: Path, root: Path) -> list[tuple[str, M]]:
    out = []
    rel = str(path.relative_to(root))
    for where, item in read_entries(path, root):
        try:
            out.append((where, model.model_validate(item)))
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or "entry"
            raise KnowledgeError(rel, where, f"{loc}: {first['msg']}"
                                 + (f" ({len(e.errors())} problems)" if len(e.errors()) > 1 else "")) from e
    return out


def _unique(items: list[tuple[str, M]], key: str, file: str) -> None:
    seen: dict[str, str] = {}
    for where, item in items:
        k = getattr(item, key)
        if k in seen:
            raise KnowledgeError(file, where, f"duplicate {key} {k!r} (first at entry {seen[k]})")
        seen[k] = where


def _expand(ref: str, families: dict[str, list[str]], ids: set[str]) -> list[str]:
    if ref.startswith("family:"):
        return families.get(ref.removeprefix("family:"), [])
    return [ref] if ref in ids else []


def load_knowledge(root: Path) -> KnowledgeBundle:
    """Validate every curated file under `root` and return the bundle to write."""
    def files(pattern: str) -> list[Path]:
        return sorted(root.glob(pattern))

    skin_types = [x for f in files("skin_types.yaml") for x in _validate(SkinType, f, root)]
    concerns = [x for f in files("concerns.yaml") for x in _validate(Concern, f, root)]
    ingredients: list[tuple[str, Ingredient]] = []
    ing_file: dict[str, str] = {}
    for f in files("ingredients/*.yaml"):
        for where, ing in _validate(Ingredient, f, root):
            if ing.id in ing_file:
                raise KnowledgeError(str(f.relative_to(root)), where,
                                     f"duplicate ingredient id {ing.id!r} (also in {ing_file[ing.id]})")
            ing_file[ing.id] = str(f.relative_to(root))
            ingredients.append((where, ing))
    interactions = [x for f in files("interactions.yaml") for x in _validate(Interaction, f, root)]
    groups = [x for f in files("allergen_groups.yaml") for x in _validate(AllergenGroup, f, root)]
    brands = [x for f in files("brands.yaml") for x in _validate(Brand, f, root)]
    products = [x for f in files("products.yaml") for x in _validate(Product, f, root)]
    _unique(skin_types, "id", "skin_types.yaml")
    _unique(concerns, "id", "concerns.yaml")
    _unique(brands, "id", "brands.yaml")
    _unique(products, "sku", "products.yaml")

    st_ids = {s.id for _, s in skin_types}
    c_ids = {c.id for _, c in concerns}
    ing_ids = {i.id for _, i in ingredients}
    for where, ing in ingredients:
        file = ing_file[ing.id]
        for link in [*ing.addresses, *ing.may_aggravate]:
            if link.concern not in c_ids:
                raise KnowledgeError(file, where, f"unknown concern {link.concern!r}")
        for st in [*ing.suits, *(c.skin_type for c in ing.caution_for)]:
            if st not in st_ids:
                raise KnowledgeError(file, where, f"unknown skin type {st!r}")

    families: dict[str, list[str]] = {}
    for _, ing in ingredients:
        if ing.family:
            families.setdefault(ing.family, []).append(ing.id)
    expanded: dict[tuple[str, str, str], Interaction] = {}
    for where, x in interactions:
        side_a, side_b = _expand(x.a, families, ing_ids), _expand(x.b, families, ing_ids)
        for side, ref in ((side_a, x.a), (side_b, x.b)):
            if not side:
                raise KnowledgeError("interactions.yaml", where, f"unknown ingredient or family {ref!r}")
        for a, b in itertools.product(side_a, side_b):
            if a == b:
                continue
            lo, hi = sorted((a, b))
            kind_key = "synergy" if x.kind == "synergy" else "conflict"
            prev = expanded.get((lo, hi, kind_key))
            # the most specific statement wins: an explicit pair beats a family-wide one
            specific = not x.a.startswith("family:") and not x.b.startswith("family:")
            if prev is None or specific:
                expanded[(lo, hi, kind_key)] = x.model_copy(update={"a": lo, "b": hi})

    _unique(groups, "id", "allergen_groups.yaml")
    by_family: dict[str, list[str]] = families
    for where, g in groups:
        members = [i for fam in g.families for i in by_family.get(fam, [])]
        for ref in g.ingredients:
            if ref not in ing_ids:
                raise KnowledgeError("allergen_groups.yaml", where, f"unknown ingredient {ref!r}")
            members.append(ref)
        for fam in g.families:
            if fam not in by_family:
                raise KnowledgeError("allergen_groups.yaml", where, f"unknown ingredient family {fam!r}")
        for _, ing in ingredients:
            if ing.id in members and g.id not in ing.allergen_groups:
                ing.allergen_groups.append(g.id)

    brand_ids = {b.id for _, b in brands}
    for where, b in brands:
        if b.parent and b.parent not in brand_ids:
            raise KnowledgeError("brands.yaml", where, f"unknown parent brand {b.parent!r}")

    by_id = {i.id: i for _, i in ingredients}
    matcher = InciMatcher({i.id: [i.inci, *i.common_names, *i.synonyms] for _, i in ingredients})
    for where, p in products:
        if p.brand not in brand_ids:
            raise KnowledgeError("products.yaml", where, f"unknown brand {p.brand!r}")
        for ref, known, what in ((p.skin_types, st_ids, "skin type"), (p.concerns, c_ids, "concern"),
                                 (list(p.actives), ing_ids, "active ingredient")):
            bad = [r for r in ref if r not in known]
            if bad:
                raise KnowledgeError("products.yaml", where, f"unknown {what} {bad[0]!r}")
        ids: list[str] = []
        for entry in split_inci(p.inci):
            hit = matcher.match(entry)
            if hit is None:
                raise KnowledgeError("products.yaml", where, f"INCI entry {entry!r} matches no ingredient")
            if hit not in ids:
                ids.append(hit)
        missing = [a for a in p.actives if a not in ids]
        if missing:
            raise KnowledgeError("products.yaml", where, f"declared active {missing[0]!r} is not in its INCI list")
        p.ingredients = ids
        p.key_ingredients = key_ingredients(ids, p.actives, by_id)

    return KnowledgeBundle(
        skin_types=[s for _, s in skin_types], concerns=[c for _, c in concerns],
        ingredients=[i for _, i in ingredients], interactions=list(expanded.values()),
        allergen_groups=[g for _, g in groups],
        brands=[b for _, b in brands], products=[p for _, p in products])
