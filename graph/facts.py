"""Graph knowledge as citable sentences: what retrieval indexes next to the brand's documents.

Each fact keeps the graph path it came from, so a reply can cite "Ingredient:niacinamide
-ADDRESSES(moderate)-> Concern:enlarged-pores" rather than a vague "our knowledge base".
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graph.views import GraphPath, PathStep

_PREGNANCY = {"safe": "generally considered safe in pregnancy at cosmetic use levels",
              "caution": "to be used with caution in pregnancy (ask a doctor or midwife)",
              "avoid": "to be avoided during pregnancy and breastfeeding",
              "unknown": "without established pregnancy safety data"}


class GraphFact(BaseModel):
    id: str
    kind: str
    text: str
    entities: list[str]
    path: GraphPath
    source: str | None = None


def _step(label: str, id_: str, name: str) -> PathStep:
    return PathStep(label=label, id=id_, name=name)


def concern_link_fact(r: dict[str, Any]) -> GraphFact:
    verb = "helps with" if r["kind"] == "addresses" else "may aggravate"
    text = f"{r['a_name']} {verb} {r['b_name'].lower()} (evidence: {r['evidence']})."
    if r.get("note"):
        text += f" {r['note']}"
    rel = "ADDRESSES" if r["kind"] == "addresses" else "MAY_AGGRAVATE"
    return GraphFact(id=f"{r['kind']}:{r['a']}:{r['b']}", kind=r["kind"], text=text, entities=[r["a"], r["b"]],
                     source=r.get("source"),
                     path=GraphPath(nodes=[_step("Ingredient", r["a"], r["a_name"]),
                                           _step("Concern", r["b"], r["b_name"])],
                                    relationships=[f"{rel}({r['evidence']})"]))


def interaction_fact(r: dict[str, Any]) -> GraphFact:
    if r["kind"] == "synergy":
        head = f"{r['a_name']} and {r['b_name']} work well together."
        rel = "WORKS_WELL_WITH"
    else:
        word = "should not be combined" if r["kind"] == "conflict" else "need care when combined"
        head = f"{r['a_name']} and {r['b_name']} {word} ({r['severity']} severity)."
        rel = f"CONFLICTS_WITH({r['kind']})"
    text = " ".join(x for x in (head, r.get("reason"), r.get("advice")) if x)
    return GraphFact(id=f"{r['kind']}:{r['a']}:{r['b']}", kind=r["kind"], text=text, entities=[r["a"], r["b"]],
                     source=r.get("source"),
                     path=GraphPath(nodes=[_step("Ingredient", r["a"], r["a_name"]),
                                           _step("Ingredient", r["b"], r["b_name"])], relationships=[rel]))


def ingredient_fact(n: dict[str, Any]) -> GraphFact:
    names = ", ".join(dict.fromkeys([*(n.get("common_names") or []), n["inci"]]))
    parts = [f"{n['name']} (INCI: {n['inci']}; also known as {names})." if names != n["inci"]
             else f"{n['name']} (INCI: {n['inci']})."]
    if n.get("description"):
        parts.append(n["description"])
    parts.append(f"It is {_PREGNANCY.get(n.get('pregnancy') or 'unknown', '')}.")
    if n.get("photosensitising"):
        parts.append("It increases sun sensitivity, so daily sunscreen is essential.")
    if n.get("time_of_use") in ("am", "pm"):
        parts.append(f"Best used in the {'morning' if n['time_of_use'] == 'am' else 'evening'}.")
    if n.get("typical_concentration"):
        parts.append(f"Typical concentration: {n['typical_concentration']}.")
    if n.get("comedogenic") is not None:
        parts.append(f"Comedogenic rating {n['comedogenic']}/5.")
    return GraphFact(id=f"ingredient:{n['id']}", kind="ingredient", text=" ".join(parts), entities=[n["id"]],
                     source=n.get("source"),
                     path=GraphPath(nodes=[_step("Ingredient", n["id"], n["name"])], relationships=[]))


def concern_fact(n: dict[str, Any]) -> GraphFact:
    text = f"{n['name']}: {n.get('description') or ''}".strip()
    if n.get("see_professional"):
        text += " A dermatologist should assess this concern."
    return GraphFact(id=f"concern:{n['id']}", kind="concern", text=text, entities=[n["id"]], source=n.get("source"),
                     path=GraphPath(nodes=[_step("Concern", n["id"], n["name"])], relationships=[]))


def product_fact(r: dict[str, Any]) -> GraphFact:
    actives = sorted(r.get("actives") or [], key=lambda a: a["position"])
    names = ", ".join(f"{a['name']}" + (f" {a['percent']:g}%" if a.get("percent") else "") for a in actives)
    stock = "in stock" if (r.get("stock_on_hand") or 0) > 0 else "currently out of stock"
    text = (f"{r['name']} ({r['sku']}) is a {r['category']} with {names or 'no headline actives'}; "
            f"for {', '.join(r.get('skin_types') or []) or 'all'} skin; EUR {r['price']:.2f}, {stock}.")
    if r.get("description"):
        text += f" {r['description']}"
    return GraphFact(id=f"product:{r['sku']}", kind="product", text=text,
                     entities=[r["sku"], *(a["id"] for a in actives)],
                     path=GraphPath(nodes=[_step("Product", r["sku"], r["name"]),
                                           *(_step("Ingredient", a["id"], a["name"]) for a in actives[:1])],
                                    relationships=["CONTAINS"] if actives else []))
