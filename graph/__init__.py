"""The skincare knowledge graph: schema, Cypher, and the GraphStore port with its two adapters."""
