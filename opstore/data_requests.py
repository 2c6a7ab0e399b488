"""Customer data requests (GDPR art. 15 and 17, CCPA): export everything held about one customer as
one JSON document, or erase it, across the three places it lives: the graph (profile, identities,
orders), the operational store (conversations, consents, reminders, proactive records, console work,
audit) and the photo-analysis store (scores and consented photos).

The HTTP routes (`api/routes/privacy.py`) and the CLI (`skinsage customer ...`) are thin callers of
`CustomerDataRequests`; the table-by-table rules are in `opstore.privacy`.

Erasure order: graph and photos first, then the operational store in one transaction whose last write
is the ledger entry (`customer_erased`). The ledger entry therefore means "finished"; if anything fails
before it, nothing claims success and running the erasure again completes it (every step is idempotent).
"""

from __future__ import annotations

import base64
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from opstore import privacy
from opstore.compliance import audit_entry
from opstore.service import StoreService
from skinsage.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from graph.store import GraphStore
    from vision.ports import AnalysisRepository

log = logging.getLogger("skinsage.privacy")

EXPORT_FORMAT = "skinsage-export/1"
#: Orders, audit trail and every other list in an export are complete: no paging in a legal request.
ORDER_LIMIT = 1_000_000


class ErasureReport(BaseModel):
    customer_id: str
    erased_at: datetime
    #: True when an earlier erasure had already removed everything (nothing was left to do).
    already_erased: bool = False
    #: rows (opstore tables), nodes (graph) and analyses (photos) removed or anonymised
    counts: dict[str, int]


_REFERENCE = re.compile(r"^[A-Za-z0-9._:#/-]{1,64}$")


def _valid_reference(reference: str | None) -> str | None:
    """A ticket or case number goes into the audit log, so it must not be able to carry a name or an
    e-mail address."""
    if reference is not None and not _REFERENCE.match(reference):
        raise InvalidInput("reference is a ticket or case number: 1-64 letters, digits and . _ : # / -")
    return reference


def _valid_id(customer_id: str) -> str:
    if not isinstance(customer_id, str) or not customer_id.strip() or len(customer_id) > 64:
        raise InvalidInput("a customer id is 1 to 64 characters")
    return customer_id


class CustomerDataRequests:
    def __init__(self, store: StoreService, graph: GraphStore, analyses: AnalysisRepository | None = None) -> None:
        self.store = store
        self.graph = graph
        self.analyses = analyses

    # -- access ----------------------------------------------------------------------------------
    def export(self, customer_id: str, *, requested_by: str, include_media: bool = False) -> dict[str, Any]:
        """Everything held about the customer. NotFound when nothing is held and no erasure is on
        record; after an erasure, a document with empty sections and the erasure dates.
        `include_media`: photos (sent in chat, stored with an analysis) as base64, not only described."""
        customer_id = _valid_id(customer_id)
        profile, orders = self._graph_part(customer_id)
        photos = self._photos(customer_id, include_media)
        ctx = self.store.ctx
        with ctx.reader() as uow:   # a snapshot: never holds up the channels' writes
            s = privacy_session(uow)
            scope = privacy.scope_of(s, customer_id, {f"analysis:{p['analysis_id']}" for p in photos})
            rows = privacy.collect(s, scope, include_media=include_media)
            erased = [e.at.isoformat() for e in privacy.erasures(s, customer_id)]
        held = profile is not None or bool(photos) or any(rows.values())
        if not held and not erased:
            raise NotFound(f"no customer {customer_id!r} in the graph or the operational store")
        # reading special-category data is itself recorded; after an erasure, against the ledger key
        # (an audit line naming the customer again would undo part of the erasure)
        subject = f"customer:{customer_id}" if held else f"erasure:{privacy.erasure_ref(customer_id)}"
        self.store.compliance.audit(requested_by, "customer_data_exported", subject,
                                    {"include_media": include_media})
        return _document(customer_id, ctx.now(), profile, orders, photos, rows, erased)

    def _graph_part(self, customer_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        try:
            found = self.graph.customer(customer_id, order_limit=ORDER_LIMIT)
        except NotFound:
            return None, []
        return (found.customer.model_dump(mode="json"), [o.model_dump(mode="json") | {"total": o.total}
                                                         for o in found.orders])

    def _photos(self, customer_id: str, include_media: bool = False) -> list[dict[str, Any]]:
        if self.analyses is None:
            return []
        out = []
        for a in self.analyses.list_for(customer_id):
            item = {"analysis_id": a.analysis.id, "created_at": a.analysis.created_at.isoformat(),
                    "has_photo": a.has_photo, "analysis": a.analysis.model_dump(mode="json")}
            jpeg = self.analyses.photo(a.analysis.id) if include_media and a.has_photo else None
            if jpeg is not None:
                item["photo_jpeg_base64"] = base64.b64encode(jpeg).decode("ascii")
            out.append(item)
        return out

    # -- erasure ---------------------------------------------------------------------------------
    def erase(self, customer_id: str, *, requested_by: str, reference: str | None = None) -> ErasureReport:
        """Delete or irreversibly anonymise everything about the customer. Idempotent: a second call
        reports `already_erased`. NotFound for an id that was never held."""
        customer_id, reference = _valid_id(customer_id), _valid_reference(reference)
        photos = self._photos(customer_id)
        counts = {f"graph_{k}": v for k, v in self.graph.forget_customer(customer_id).items()}
        counts["photo_analyses"] = self.analyses.delete_customer(customer_id) if self.analyses is not None else 0
        ctx = self.store.ctx

        def run() -> ErasureReport:
            with ctx.uow() as uow:
                s = privacy_session(uow)
                scope = privacy.scope_of(s, customer_id, {f"analysis:{p['analysis_id']}" for p in photos})
                table_counts = privacy.erase(s, scope)
                total = {**counts, **table_counts}
                earlier = privacy.erasures(s, customer_id)
                if not any(total.values()) and not earlier:
                    raise NotFound(f"no customer {customer_id!r} in the graph or the operational store")
                now = ctx.now()
                details: dict[str, Any] = {"counts": {k: v for k, v in total.items() if v},
                                           "repeat": bool(earlier) and not any(total.values())}
                if reference:
                    details["reference"] = reference
                uow.add(audit_entry(requested_by, privacy.ERASED_ACTION,
                                    f"erasure:{privacy.erasure_ref(customer_id)}", details, now))
                uow.commit()
            return ErasureReport(customer_id=customer_id, erased_at=now, counts=total,
                                 already_erased=bool(earlier) and not any(total.values()))

        report = ctx.retrying(run)
        _checkpoint(self.store)
        log.info("customer data erased (ledger erasure:%s): %s", privacy.erasure_ref(customer_id),
                 {k: v for k, v in report.counts.items() if v})
        return report


def privacy_session(uow: Any) -> Session:
    """The SQLAlchemy session behind a unit of work (data requests need the SQL adapter)."""
    session = getattr(uow, "session", None)
    if not isinstance(session, Session):
        raise TypeError("customer data requests need the SQL operational store")
    return session


def _checkpoint(store: StoreService) -> None:
    """SQLite: copy the WAL into the database and truncate it, so the deleted rows' old page images
    do not linger in the WAL file. Best effort: a busy reader only delays it to the next checkpoint."""
    db = store.database
    if db is None or db.backend != "sqlite":
        return
    try:
        raw = db.engine.raw_connection()   # no BEGIN: a checkpoint cannot run inside a transaction
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()
    except Exception as e:  # noqa: BLE001 - the erasure itself is committed; this only tidies the WAL
        log.warning("WAL checkpoint after erasure failed (will happen later): %s", e)


def _document(customer_id: str, now: datetime, profile: dict[str, Any] | None, orders: list[dict[str, Any]],
              photos: list[dict[str, Any]], rows: dict[str, list[dict[str, Any]]],
              erased: list[str]) -> dict[str, Any]:
    """Conversations carry their messages (and each message its media references); every other
    section is a list of that table's rows."""
    media: dict[str, list[dict[str, Any]]] = {}
    for m in rows.pop("media"):
        media.setdefault(m["message_id"], []).append(m)
    messages: dict[str, list[dict[str, Any]]] = {}
    for m in rows.pop("messages"):
        messages.setdefault(m["conversation_id"], []).append(m | {"media": media.get(m["id"], [])})
    conversations = [c | {"messages": messages.get(c["id"], [])} for c in rows.pop("conversations")]
    return {"format": EXPORT_FORMAT, "generated_at": now.isoformat(), "customer_id": customer_id,
            "erasures": erased, "profile": profile, "orders": orders, "conversations": conversations,
            "photo_analyses": photos, **dict(sorted(rows.items()))}
