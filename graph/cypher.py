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
        "status": "STRING", "allergen_groups": "STRING[]", "reviewed": "BOOLEAN"}),
    "AllergenGroup": ("id", {"id": "STRING", "name": "STRING", "synonyms": "STRING[]", "source": "STRING"}),
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
    Rel("IN_ALLERGEN_GROUP", "Ingredient", "AllergenGroup", {}),
    Rel("PART_OF", "Brand", "Brand", {}),
    Rel("MADE_BY", "Product", "Brand", {}),
    Rel("CONTAINS", "Product", "Ingredient", {"position": "INT64", "percent": "DOUBLE", "is_key": "BOOLEAN"}),
    Rel("TARGETS", "Product", "Concern", {}),
    # derived at load time from CONTAINS(key) + ADDRESSES, so ranking products for a concern is one hop
    Rel("HELPS_WITH", "Product", "Concern", {"score": "DOUBLE", "ingredient": "STRING", "ingredient_name": "STRING",
                                             "evidence": "STRING", "position": "INT64"}),
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


def ladybug_missing_columns(existing: dict[str, set[str]]) -> list[str]:
    """ALTER statements adding columns that a newer schema has and an existing database lacks."""
    out = []
    for label, (_, props) in NODES.items():
        for name, typ in props.items():
            if label in existing and name not in existing[label]:
                out.append(f"ALTER TABLE {label} ADD {name} {typ}")
    for rel in RELS:
        for name, typ in rel.props.items():
            if rel.type in existing and name not in existing[rel.type]:
                out.append(f"ALTER TABLE {rel.type} ADD {name} {typ}")
    return out


SHOW_TABLES = "CALL show_tables() RETURN name"
def table_columns(table: str) -> str:
    """LadybugDB takes no parameters in CALL; the name is one of our own table constants."""
    if table not in NODES and table not in REL_BY_TYPE:
        raise ValueError(f"not a SkinSage table: {table!r}")
    return f"CALL table_info('{table}') RETURN name"


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


def fetch_nodes(label: str) -> str:
    key = NODES[label][0]
    return f"UNWIND $keys AS k MATCH (n:{label} {{{key}: k}}) RETURN n AS node"


def create_nodes(label: str, cast: bool = False) -> str:
    props = NODES[label][1]
    fields = ", ".join(f"{p}: {_value('r', p, t, cast)}" for p, t in props.items())
    return f"UNWIND $rows AS r CREATE (n:{label} {{{fields}}})"


def update_nodes(label: str, cast: bool = False) -> str:
    key, props = NODES[label]
    sets = ", ".join(f"n.{p} = {_value('r', p, t, cast)}" for p, t in props.items() if p != key)
    return f"UNWIND $rows AS r MATCH (n:{label} {{{key}: r.{key}}}) SET {sets}"


def _rel_match(rel: Rel, with_dst: bool) -> str:
    """MATCH a, then WITH, then b: LadybugDB plans the comma form as a join that is ~100x slower."""
    sk, dk = NODES[rel.src][0], NODES[rel.dst][0]
    dst = f" {{{dk}: r.dst}}" if with_dst else ""
    return f"UNWIND $rows AS r MATCH (a:{rel.src} {{{sk}: r.src}}) WITH a, r MATCH (a)-[x:{rel.type}]->(b:{rel.dst}{dst})"


def fetch_rels(rel_type: str) -> str:
    rel = REL_BY_TYPE[rel_type]
    sk, dk = NODES[rel.src][0], NODES[rel.dst][0]
    props = "".join(f", x.{p} AS {p}" for p in rel.props)
    return (f"UNWIND $keys AS k MATCH (a:{rel.src} {{{sk}: k}})-[x:{rel.type}]->(b:{rel.dst}) "
            f"RETURN a.{sk} AS src, b.{dk} AS dst{props}")


def create_rels(rel_type: str, cast: bool = False) -> str:
    rel = REL_BY_TYPE[rel_type]
    sk, dk = NODES[rel.src][0], NODES[rel.dst][0]
    fields = ", ".join(f"{p}: {_value('r', p, t, cast)}" for p, t in rel.props.items())
    body = f" {{{fields}}}" if fields else ""
    return (f"UNWIND $rows AS r MATCH (a:{rel.src} {{{sk}: r.src}}) WITH a, r MATCH (b:{rel.dst} {{{dk}: r.dst}}) "
            f"CREATE (a)-[x:{rel.type}{body}]->(b)")


def update_rels(rel_type: str, cast: bool = False) -> str:
    rel = REL_BY_TYPE[rel_type]
    sets = ", ".join(f"x.{p} = {_value('r', p, t, cast)}" for p, t in rel.props.items())
    return f"{_rel_match(rel, True)} SET {sets}"


def delete_rels(rel_type: str) -> str:
    return f"{_rel_match(REL_BY_TYPE[rel_type], True)} DELETE x"


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
    "allergen_group": "MATCH (n:AllergenGroup) RETURN n.id AS id, n.name AS name, n.synonyms AS aliases",
}

INGREDIENT = """
MATCH (n:Ingredient {id: $id})
OPTIONAL MATCH (p:Product)-[:CONTAINS]->(n)
RETURN n AS node, count(p) AS products
"""

#: Everything around an ingredient in one round trip: concern links, skin types, interactions.
INGREDIENT_LINKS = """
MATCH (i:Ingredient {id: $id})-[x:ADDRESSES]->(o:Concern)
RETURN 'addresses' AS rel, o.id AS other_id, o.name AS other_name, x.evidence AS evidence, x.source AS source,
       x.note AS note, '' AS kind, '' AS severity, '' AS reason, '' AS advice
UNION ALL
MATCH (i:Ingredient {id: $id})-[x:MAY_AGGRAVATE]->(o:Concern)
RETURN 'may_aggravate' AS rel, o.id AS other_id, o.name AS other_name, x.evidence AS evidence, x.source AS source,
       x.note AS note, '' AS kind, '' AS severity, '' AS reason, '' AS advice
UNION ALL
MATCH (i:Ingredient {id: $id})-[:SUITS]->(o:SkinType)
RETURN 'suits' AS rel, o.id AS other_id, o.name AS other_name, '' AS evidence, '' AS source, '' AS note,
       '' AS kind, '' AS severity, '' AS reason, '' AS advice
UNION ALL
MATCH (i:Ingredient {id: $id})-[x:CAUTION_FOR]->(o:SkinType)
RETURN 'caution_for' AS rel, o.id AS other_id, o.name AS other_name, '' AS evidence, '' AS source, '' AS note,
       '' AS kind, '' AS severity, x.reason AS reason, '' AS advice
UNION ALL
MATCH (i:Ingredient {id: $id})-[x:CONFLICTS_WITH]-(o:Ingredient)
RETURN 'interaction' AS rel, o.id AS other_id, o.name AS other_name, '' AS evidence, x.source AS source, '' AS note,
       x.kind AS kind, x.severity AS severity, x.reason AS reason, x.advice AS advice
UNION ALL
MATCH (i:Ingredient {id: $id})-[x:WORKS_WELL_WITH]-(o:Ingredient)
RETURN 'interaction' AS rel, o.id AS other_id, o.name AS other_name, '' AS evidence, x.source AS source, '' AS note,
       'synergy' AS kind, 'low' AS severity, x.reason AS reason, x.advice AS advice
"""

CONCERN = "MATCH (n:Concern {id: $id}) RETURN n AS node"

INGREDIENTS_FOR_CONCERN = """
MATCH (i:Ingredient)-[x:ADDRESSES]->(k:Concern {id: $id})
WHERE i.status IN $statuses
RETURN i.id AS id, i.name AS name, i.inci AS inci, x.evidence AS evidence, x.weight AS weight,
       x.source AS source, i.pregnancy AS pregnancy, i.status AS status
ORDER BY x.weight DESC, i.evidence_weight DESC, i.id
LIMIT $limit
"""

PRODUCT_SKUS = "MATCH (p:Product) RETURN p.sku AS sku ORDER BY sku"
PRODUCTS_BY_SKU = "MATCH (p:Product) WHERE p.sku IN $skus RETURN p AS node"
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

#: Shop filters every candidate must pass. Safety exclusions (allergens, pregnancy) are applied after,
#: in code, over the full ingredient list of each candidate (`GraphStore.ingredient_safety`).
_SHOP_FILTERS = """
  ($include_oos OR p.stock_on_hand > 0)
  AND p.price <= $max_price
  AND ($category = '' OR p.category = $category)
  AND (size($contains) = 0 OR EXISTS { MATCH (p)-[:CONTAINS]->(m:Ingredient) WHERE m.id IN $contains })
"""

#: Anchored on the few concerns asked about, one hop over the derived HELPS_WITH to products.
PRODUCTS_FOR_CONCERNS = f"""
MATCH (k:Concern)
WHERE k.id IN $concerns
MATCH (k)<-[h:HELPS_WITH]-(p:Product)
WHERE {_SHOP_FILTERS}
WITH p, sum(h.score) + (CASE WHEN $skin_type <> '' AND $skin_type IN p.skin_types THEN 1.0 ELSE 0.0 END) AS score
ORDER BY score DESC, p.sku
LIMIT $limit
MATCH (p)-[h:HELPS_WITH]->(k:Concern)
WHERE k.id IN $concerns
WITH p, score, collect({{ingredient: h.ingredient, ingredient_name: h.ingredient_name, position: h.position,
                         concern: k.id, concern_name: k.name, evidence: h.evidence}}) AS links
RETURN p.sku AS sku, p.name AS name, p.brand AS brand, p.category AS category, p.price AS price,
       p.stock_on_hand AS stock_on_hand, p.url AS url, p.image AS image, p.skin_types AS skin_types,
       score, links
ORDER BY score DESC, sku
"""

PRODUCTS_FOR_SKIN_TYPE = f"""
MATCH (p:Product)
WHERE ($skin_type = '' OR $skin_type IN p.skin_types) AND {_SHOP_FILTERS}
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
CUSTOMER_IDS = "MATCH (c:Customer) RETURN c.id AS id ORDER BY id"

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

ALLERGEN_GROUP_MEMBERS = """
MATCH (i:Ingredient)-[:IN_ALLERGEN_GROUP]->(g:AllergenGroup)
WHERE g.id IN $ids
RETURN DISTINCT i.id AS id
ORDER BY id
"""

#: Neo4j: delete in batches (relationships first, so no single node drags thousands of them into one
#: transaction) and a large graph never exceeds the transaction memory limit.
DELETE_RELS_BATCH = "MATCH ()-[r]->() WITH r LIMIT $batch DELETE r RETURN count(*) AS deleted"
DELETE_NODES_BATCH = "MATCH (n) WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS deleted"

CONCERN_LINKS = """
MATCH (i:Ingredient)-[a:ADDRESSES]->(k:Concern)
RETURN i.id AS ingredient, i.name AS name, k.id AS concern, a.evidence AS evidence, a.weight AS weight
"""
