"""The Cypher of the right to erasure (`GraphStore.forget_customer`), kept apart from `graph.cypher`
only because that module has another owner right now; the same rules hold: one dialect both Neo4j 5 and
LadybugDB accept, values only as parameters (the adapters' `_write` passes `$rows`)."""

from __future__ import annotations

#: What erasure will touch, read first so the caller gets counts (and a second run reports zeros).
CUSTOMER_FOOTPRINT = """
MATCH (c:Customer {id: $id})
OPTIONAL MATCH (i:Identity)-[:IDENTIFIES]->(c)
RETURN c.id AS id, count(i) AS identities
"""

#: Every order carrying the customer's id (linked by PLACED, or left by a load without the customer).
CUSTOMER_ORDER_COUNT = "MATCH (o:CustomerOrder) WHERE o.customer_id = $id RETURN count(o) AS orders"

#: Orders stay for accounting and demand history (`product_sales` needs no customer), anonymised: no
#: customer id, no carrier or tracking number (a tracking number leads to a delivery address).
ANONYMISE_ORDERS = """
UNWIND $rows AS r
MATCH (o:CustomerOrder)
WHERE o.customer_id = r.id
SET o.customer_id = NULL, o.carrier = NULL, o.tracking = NULL
"""

DELETE_IDENTITIES = """
UNWIND $rows AS r
MATCH (i:Identity)-[:IDENTIFIES]->(c:Customer {id: r.id})
DETACH DELETE i
"""

#: DETACH: the profile edges (HAS_SKIN_TYPE, HAS_CONCERN, AVOIDS) and PLACED go with the node.
DELETE_CUSTOMER = """
UNWIND $rows AS r
MATCH (c:Customer {id: r.id})
DETACH DELETE c
"""
