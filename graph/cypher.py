"""Every Cypher statement SkinSage runs, in one module.

Values always travel as `$parameters`; the only strings assembled here are built from the constant
tables below, never from user text. The read and write statements are one dialect that both Neo4j 5
and LadybugDB (Kùzu Cypher) accept, so one contract suite proves both adapters; only schema DDL
differs per backend.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- node and relationship tables ------------------------------------------------------------

#: label -> (key property, {property: ladybug type}); the key is the primary key / unique constraint.
NODES: dict[str, tuple[str, dict[str, str]]] = {
    "SkinType": ("id", {"id": "STRING", "name": "STRING", "synonyms": "STRING[]",
                        "description": "STRING", "source": "STRING"}),
    "Concern": ("id", {"id": "STRING", "name": "STRING", "synonyms": "STRING[]", "category": "STRING",
                       "description": "STRING", "see_professional": "BOOLEAN", "source": "STRING"}),
    "Ingredient": ("id", {
        "id": "STRING", "inci": "STRING", "name": "STRING", "common_names": "STRING[]",
        "synonyms": "STRING[]", "family": "STRING", "kind": "STRING", "functions": "STRING[]",
        "comedogenic": "INT64", "irritation": "STRING", "pregnancy": "STRING",
        "photosensitising": "BOOLEAN", "time_of_use": "STRING", "typical_concentration": "STRING",
        "evidence": "STRING", "evidence_weight": "DOUBLE", "description": "STRING", "source": "STRING",
        "reviewed": "BOOLEAN"}),
    "Brand": ("id", {"id": "STRING", "name": "STRING", "parent": "STRING", "description": "STRING",
                     "url": "STRING"}),
    "Product": ("sku", {
        "sku": "STRING", "name": "STRING", "brand": "STRING", "category": "STRING",
        "size_amount": "DOUBLE", "size_unit": "STRING", "dose_amount": "DOUBLE", "dose_unit": "STRING",
        "uses_per_day": "DOUBLE", "price": "DOUBLE", "stock_on_hand": "INT64", "lead_time_days": "INT64",
        "time_of_use": "STRING", "skin_types": "STRING[]", "concerns": "STRING[]",
        "actives_json": "STRING", "inci": "STRING", "url": "STRING", "image": "STRING",
        "description": "STRING"}),
    "Customer": ("id", {
        "id": "STRING", "name": "STRING", "email": "STRING", "phone": "STRING", "skin_type": "STRING",
        "concerns": "STRING[]", "pregnancy": "STRING", "age_band": "STRING", "climate": "STRING",
        "timezone": "STRING", "identities": "STRING[]", "consents": "STRING[]"}),
    "Identity": ("ref", {"ref": "STRING"}),
    "CustomerOrder": ("id", {"id": "STRING", "customer_id": "STRING", "placed_at": "STRING", "status": "STRING",
                     "carrier": "STRING", "tracking": "STRING", "currency": "STRING", "total": "DOUBLE"}),
}


@dataclass(frozen=True)
class Rel:
    type: str
    src: str
    dst: str
    props: dict[str, str]


RELS: tuple[Rel, ...] = (
    Rel("ADDRESSES", "Ingredient", "Concern",
        {"evidence": "STRING", "weight": "DOUBLE", "source": "STRING", "note": "STRING"}),
    Rel("MAY_AGGRAVATE", "Ingredient", "Concern",
        {"evidence": "STRING", "weight": "DOUBLE", "source": "STRING", "note": "STRING"}),
    Rel("SUITS", "Ingredient", "SkinType", {}),
    Rel("CAUTION_FOR", "Ingredient", "SkinType", {"reason": "STRING"}),
    Rel("CONFLICTS_WITH", "Ingredient", "Ingredient",
        {"kind": "STRING", "severity": "STRING", "reason": "STRING", "advice": "STRING", "source": "STRING"}),
    Rel("WORKS_WELL_WITH", "Ingredient", "Ingredient",
        {"reason": "STRING", "advice": "STRING", "source": "STRING"}),
    Rel("PART_OF", "Brand", "Brand", {}),
    Rel("MADE_BY", "Product", "Brand", {}),
    Rel("CONTAINS", "Product", "Ingredient", {"position": "INT64", "percent": "DOUBLE", "is_key": "BOOLEAN"}),
    Rel("TARGETS", "Product", "Concern", {}),
    Rel("FOR_SKIN_TYPE", "Product", "SkinType", {}),
    Rel("HAS_SKIN_TYPE", "Customer", "SkinType", {}),
    Rel("HAS_CONCERN", "Customer", "Concern", {}),
    Rel("AVOIDS", "Customer", "Ingredient", {"reason": "STRING"}),
    Rel("IDENTIFIES", "Identity", "Customer", {}),
    Rel("PLACED", "Customer", "CustomerOrder", {}),
    Rel("INCLUDES", "CustomerOrder", "Product", {"quantity": "INT64", "unit_price": "DOUBLE"}),
)
REL_BY_TYPE = {r.type: r for r in RELS}


# --- schema DDL --------------------------------------------------------------------------------

def ladybug_schema() -> list[str]:
    """Idempotent DDL for the embedded graph (typed tables, primary keys)."""
    out = []
    for label, (key, props) in NODES.items():
        cols = ", ".join(f"{name} {typ}" for name, typ in props.items())
        out.append(f"CREATE NODE TABLE IF NOT EXISTS {label}({cols}, PRIMARY KEY ({key}))")
    for rel in RELS:
        cols = "".join(f", {name} {typ}" for name, typ in rel.props.items())
        out.append(f"CREATE REL TABLE IF NOT EXISTS {rel.type}(FROM {rel.src} TO {rel.dst}{cols})")
    return out


def neo4j_schema() -> list[str]:
    """Idempotent uniqueness constraints (which also index the keys) and lookup indexes."""
    out = [
        f"CREATE CONSTRAINT {label.lower()}_{key} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{key} IS UNIQUE"
        for label, (key, _) in NODES.items()
    ]
    out += [
        "CREATE INDEX product_category IF NOT EXISTS FOR (n:Product) ON (n.category)",
        "CREATE INDEX ingredient_pregnancy IF NOT EXISTS FOR (n:Ingredient) ON (n.pregnancy)",
        "CREATE INDEX order_placed_at IF NOT EXISTS FOR (n:CustomerOrder) ON (n.placed_at)",
    ]
    return out


# --- writes ------------------------------------------------------------------------------------

def _value(var: str, prop: str, typ: str, cast: bool) -> str:
    """`r.prop`, cast to its column type where the backend infers types from values (LadybugDB
    types an all-null column as STRING)."""
    return f"CAST({var}.{prop} AS {typ})" if cast and typ != "STRING" else f"{var}.{prop}"


def upsert_nodes(label: str, cast: bool = False) -> str:
    """MERGE on the key, then SET every other property from the row."""
    key, props = NODES[label]
    sets = ", ".join(f"n.{p} = {_value('r', p, t, cast)}" for p, t in props.items() if p != key)
    tail = f" SET {sets}" if sets else ""
    return f"UNWIND $rows AS r MERGE (n:{label} {{{key}: r.{key}}}){tail}"


def prune_rels(rel_type: str) -> str:
    """Delete a source's relationships of this type whose target is not in the row's `keep` list.

    This makes a load a sync: an ingredient removed from a product's INCI loses its CONTAINS.
    """
    rel = REL_BY_TYPE[rel_type]
    sk, dk = NODES[rel.src][0], NODES[rel.dst][0]
    return (f"UNWIND $rows AS r MATCH (a:{rel.src} {{{sk}: r.src}})-[x:{rel.type}]->(b:{rel.dst}) "
            f"WHERE NOT b.{dk} IN r.keep DELETE x")


def upsert_rels(rel_type: str, cast: bool = False) -> str:
    rel = REL_BY_TYPE[rel_type]
    sk, dk = NODES[rel.src][0], NODES[rel.dst][0]
    sets = ", ".join(f"x.{p} = {_value('r', p, t, cast)}" for p, t in rel.props.items())
    tail = f" SET {sets}" if sets else ""
    return (f"UNWIND $rows AS r MATCH (a:{rel.src} {{{sk}: r.src}}), (b:{rel.dst} {{{dk}: r.dst}}) "
            f"MERGE (a)-[x:{rel.type}]->(b){tail}")


def count_nodes(label: str) -> str:
    assert label in NODES
    return f"MATCH (n:{label}) RETURN count(n) AS n"


# --- reads -------------------------------------------------------------------------------------

ALIASES = {
    "ingredient": "MATCH (n:Ingredient) RETURN n.id AS id, n.name AS name, "
                  "[n.inci] + n.common_names + n.synonyms AS aliases",
    "concern": "MATCH (n:Concern) RETURN n.id AS id, n.name AS name, n.synonyms AS aliases",
    "skin_type": "MATCH (n:SkinType) RETURN n.id AS id, n.name AS name, n.synonyms AS aliases",
    "product": "MATCH (n:Product) RETURN n.sku AS id, n.name AS name, [n.sku] AS aliases",
    "brand": "MATCH (n:Brand) RETURN n.id AS id, n.name AS name, [n.id] AS aliases",
}

INGREDIENT = "MATCH (n:Ingredient {id: $id}) RETURN n AS node"

INGREDIENT_CONCERNS = """
MATCH (i:Ingredient {id: $id})-[x:ADDRESSES]->(k:Concern)
RETURN 'addresses' AS rel, k.id AS concern, k.name AS concern_name, x.evidence AS evidence,
       x.source AS source, x.note AS note
UNION ALL
MATCH (i:Ingredient {id: $id})-[x:MAY_AGGRAVATE]->(k:Concern)
RETURN 'may_aggravate' AS rel, k.id AS concern, k.name AS concern_name, x.evidence AS evidence,
       x.source AS source, x.note AS note
"""

INGREDIENT_SKIN_TYPES = """
MATCH (i:Ingredient {id: $id})-[:SUITS]->(s:SkinType)
RETURN 'suits' AS rel, s.id AS skin_type, '' AS reason
UNION ALL
MATCH (i:Ingredient {id: $id})-[x:CAUTION_FOR]->(s:SkinType)
RETURN 'caution_for' AS rel, s.id AS skin_type, x.reason AS reason
"""

INGREDIENT_INTERACTIONS = """
MATCH (i:Ingredient {id: $id})-[x:CONFLICTS_WITH]-(o:Ingredient)
RETURN o.id AS other_id, o.name AS other_name, x.kind AS kind, x.severity AS severity,
       x.reason AS reason, x.advice AS advice, x.source AS source
UNION ALL
MATCH (i:Ingredient {id: $id})-[x:WORKS_WELL_WITH]-(o:Ingredient)
RETURN o.id AS other_id, o.name AS other_name, 'synergy' AS kind, 'low' AS severity,
       x.reason AS reason, x.advice AS advice, x.source AS source
"""

INGREDIENT_PRODUCT_COUNT = "MATCH (p:Product)-[:CONTAINS]->(i:Ingredient {id: $id}) RETURN count(p) AS n"

CONCERN = "MATCH (n:Concern {id: $id}) RETURN n AS node"

INGREDIENTS_FOR_CONCERN = """
MATCH (i:Ingredient)-[x:ADDRESSES]->(k:Concern {id: $id})
RETURN i.id AS id, i.name AS name, i.inci AS inci, x.evidence AS evidence, x.weight AS weight,
       x.source AS source, i.pregnancy AS pregnancy
ORDER BY x.weight DESC, i.evidence_weight DESC, i.id
LIMIT $limit
"""

PRODUCT = """
MATCH (p:Product {sku: $sku})
OPTIONAL MATCH (p)-[:MADE_BY]->(b:Brand)
RETURN p AS node, b.name AS brand_name
"""

PRODUCT_INGREDIENTS = """
MATCH (p:Product {sku: $sku})-[c:CONTAINS]->(i:Ingredient)
RETURN c.position AS position, c.percent AS percent, i.id AS id, i.name AS name, i.inci AS inci,
       i.kind AS kind
ORDER BY c.position
"""

#: Shared exclusion: nothing the customer avoids, nothing unsafe for their pregnancy, at any position.
_SAFE = """
  NOT EXISTS { MATCH (p)-[:CONTAINS]->(x:Ingredient)
               WHERE x.id IN $avoid OR x.pregnancy IN $pregnancy_excluded }
  AND ($include_oos OR p.stock_on_hand > 0)
  AND p.price <= $max_price
  AND ($category = '' OR p.category = $category)
"""

PRODUCTS_FOR_CONCERNS = f"""
MATCH (p:Product)-[c:CONTAINS]->(i:Ingredient)-[a:ADDRESSES]->(k:Concern)
WHERE k.id IN $concerns AND c.is_key AND {_SAFE}
WITH p, i, c, a, k,
     a.weight * (CASE WHEN k.id IN p.concerns THEN 1.5 ELSE 1.0 END) AS link_score
WITH p, sum(link_score) AS score,
     collect({{ingredient: i.id, ingredient_name: i.name, position: c.position, concern: k.id,
               concern_name: k.name, evidence: a.evidence}}) AS links
RETURN p.sku AS sku, p.name AS name, p.brand AS brand, p.category AS category, p.price AS price,
       p.stock_on_hand AS stock_on_hand, p.url AS url, p.image AS image, p.skin_types AS skin_types,
       score + (CASE WHEN $skin_type <> '' AND $skin_type IN p.skin_types THEN 1.0 ELSE 0.0 END) AS score,
       links
ORDER BY score DESC, sku
LIMIT $limit
"""

PRODUCTS_FOR_SKIN_TYPE = f"""
MATCH (p:Product)
WHERE ($skin_type = '' OR $skin_type IN p.skin_types) AND {_SAFE}
RETURN p.sku AS sku, p.name AS name, p.brand AS brand, p.category AS category, p.price AS price,
       p.stock_on_hand AS stock_on_hand, p.url AS url, p.image AS image, p.skin_types AS skin_types,
       (CASE WHEN $skin_type <> '' AND $skin_type IN p.skin_types THEN 1.0 ELSE 0.0 END) AS score
ORDER BY score DESC, p.stock_on_hand DESC, sku
LIMIT $limit
"""

ROUTINE_CONFLICTS = """
MATCH (p1:Product)-[c1:CONTAINS]->(i1:Ingredient)-[x:CONFLICTS_WITH]-(i2:Ingredient)<-[c2:CONTAINS]-(p2:Product)
WHERE p1.sku IN $skus AND p2.sku IN $skus AND p1.sku < p2.sku AND c1.is_key AND c2.is_key
RETURN p1.sku AS product_a, i1.id AS ingredient_a, p2.sku AS product_b, i2.id AS ingredient_b,
       x.kind AS kind, x.severity AS severity, x.reason AS reason, x.advice AS advice
"""

CUSTOMER = "MATCH (n:Customer {id: $id}) RETURN n AS node"

CUSTOMER_AVOIDS = """
MATCH (c:Customer {id: $id})-[x:AVOIDS]->(i:Ingredient)
RETURN i.id AS ingredient, x.reason AS reason
ORDER BY ingredient
"""

CUSTOMER_ORDERS = """
MATCH (c:Customer {id: $id})-[:PLACED]->(o:CustomerOrder)-[l:INCLUDES]->(p:Product)
WITH o, collect({sku: p.sku, quantity: l.quantity, unit_price: l.unit_price}) AS lines
RETURN o AS node, lines
ORDER BY o.placed_at DESC, o.id DESC
LIMIT $limit
"""

CUSTOMER_BY_IDENTITY = "MATCH (i:Identity {ref: $ref})-[:IDENTIFIES]->(c:Customer) RETURN c.id AS id"

#: Deletes every node and relationship: for `skinsage graph reset` and test isolation only.
DELETE_ALL = "MATCH (n) DETACH DELETE n"

# --- facts, for retrieval ----------------------------------------------------------------------

FACTS_CONCERN_LINKS = """
MATCH (i:Ingredient)-[x:ADDRESSES]->(k:Concern)
RETURN 'addresses' AS kind, i.id AS a, i.name AS a_name, k.id AS b, k.name AS b_name,
       x.evidence AS evidence, x.source AS source, x.note AS note
UNION ALL
MATCH (i:Ingredient)-[x:MAY_AGGRAVATE]->(k:Concern)
RETURN 'may_aggravate' AS kind, i.id AS a, i.name AS a_name, k.id AS b, k.name AS b_name,
       x.evidence AS evidence, x.source AS source, x.note AS note
"""

FACTS_INTERACTIONS = """
MATCH (i:Ingredient)-[x:CONFLICTS_WITH]->(o:Ingredient)
RETURN x.kind AS kind, i.id AS a, i.name AS a_name, o.id AS b, o.name AS b_name, x.severity AS severity,
       x.reason AS reason, x.advice AS advice, x.source AS source
UNION ALL
MATCH (i:Ingredient)-[x:WORKS_WELL_WITH]->(o:Ingredient)
RETURN 'synergy' AS kind, i.id AS a, i.name AS a_name, o.id AS b, o.name AS b_name, 'low' AS severity,
       x.reason AS reason, x.advice AS advice, x.source AS source
"""

FACTS_INGREDIENTS = "MATCH (n:Ingredient) RETURN n AS node"
FACTS_CONCERNS = "MATCH (n:Concern) RETURN n AS node"

FACTS_PRODUCTS = """
MATCH (p:Product)-[c:CONTAINS]->(i:Ingredient)
WHERE c.is_key
WITH p, collect({id: i.id, name: i.name, percent: c.percent, position: c.position}) AS actives
RETURN p.sku AS sku, p.name AS name, p.category AS category, p.price AS price,
       p.stock_on_hand AS stock_on_hand, p.skin_types AS skin_types, p.concerns AS concerns,
       p.time_of_use AS time_of_use, p.description AS description, actives
"""

ORDER = """
MATCH (c:Customer)-[:PLACED]->(o:CustomerOrder {id: $id})-[l:INCLUDES]->(p:Product)
WITH c, o, collect({sku: p.sku, quantity: l.quantity, unit_price: l.unit_price}) AS lines
RETURN o AS node, lines, c.id AS customer_id, c.email AS email, c.phone AS phone
"""

PRODUCT_SALES = """
MATCH (o:CustomerOrder)-[l:INCLUDES]->(p:Product {sku: $sku})
WHERE o.placed_at >= $since AND o.status <> 'cancelled'
RETURN o.placed_at AS day, sum(l.quantity) AS quantity
ORDER BY day
"""

PRODUCTS_INGREDIENT_FLAGS = """
MATCH (p:Product)-[:CONTAINS]->(i:Ingredient)
WHERE p.sku IN $skus
RETURN p.sku AS sku, collect({id: i.id, pregnancy: i.pregnancy}) AS ingredients
"""
