"""Grounded retrieval: brand documents and graph facts, found by meaning, keywords and entities.

Importing this package is cheap on purpose: torch, faiss and sentence-transformers load only inside
the adapters that need them (`MiniLMEmbedder`, `FaissVectorIndex`), so the API and CLI start fast
and unit tests run without them.
"""

from retrieval.models import Chunk, Citation, Hit, IndexItem, SearchFilters

__all__ = ["Chunk", "Citation", "Hit", "IndexItem", "SearchFilters"]
