"""Customer data requests at the store level, on every backend: the graph's `forget_customer` (embedded
and Neo4j) and export/erasure over the operational store (SQLite and PostgreSQL), plus the guard that
every table of the operational store has been classified for data requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from graph.cypher_store import CypherGraphStore
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from opstore import privacy
from opstore.data_requests import CustomerDataRequests
from opstore.models import AuditEntry, Base, OutboxRow
from opstore.service import StoreService
from opstore.testing import Clock, make_store
from skinsage.errors import NotFound
from tests.support.privacy_world import ANA, ANA_SECRETS, BEN, build_world

#: Columns that tie a row to a person, directly or through their conversation, message or handoff.
PERSONAL_COLUMNS = {"customer_id", "conversation_id", "message_id", "handoff_id", "reminder_id", "visitor_id",
                    "external_id", "channel_user_id", "recipient", "subject"}


# --- the guard: a new table fails here until someone decides what a data request does with it -------
def test_every_operational_table_is_classified_for_data_requests() -> None:
    tables = set(Base.metadata.tables)
    classified = set(privacy.COVERED) | set(privacy.NOT_PERSONAL)
    assert not tables - classified, f"add these tables to opstore/privacy.py (COVERED or NOT_PERSONAL): " \
                                    f"{sorted(tables - classified)}"
    assert not classified - tables, f"opstore/privacy.py names tables that no longer exist: {sorted(classified - tables)}"
    assert not set(privacy.COVERED) & set(privacy.NOT_PERSONAL)


def test_every_table_with_a_customer_column_is_exported_and_erased() -> None:
    personal = {name for name, t in Base.metadata.tables.items() if PERSONAL_COLUMNS & set(t.c.keys())}
    assert "conversations" in personal and "commerce_reminders" in personal   # the check sees columns
    uncovered = sorted(personal - set(privacy.COVERED))
    assert not uncovered, f"these tables hold a customer's data but are not in privacy.COVERED: {uncovered}"


# --- the graph, on each backend ----------------------------------------------------------------------
def test_forget_customer_deletes_the_profile_and_keeps_orders_anonymised(
        empty_store: CypherGraphStore, fixture_bundle: KnowledgeBundle) -> None:
    g = empty_store
    g.load(fixture_bundle)
    sales_before = g.product_sales("FX-NIA-10", date(2025, 1, 1))
    assert g.forget_customer(ANA) == {"customer": 1, "identities": 2, "orders_anonymised": 2}
    with pytest.raises(NotFound):
        g.customer(ANA)
    with pytest.raises(NotFound):
        g.order("SS-1001")          # nobody can look an anonymised order up any more
    assert g.customer_by_identity("email:ana@example.eu") is None
    assert g.customer_by_identity("phone:+4915112345678") is None
    assert g.product_sales("FX-NIA-10", date(2025, 1, 1)) == sales_before   # demand history stays true
    left = [r["node"] for r in g._read("MATCH (o:CustomerOrder) RETURN o AS node ORDER BY o.id")]
    # Neo4j drops a property set to null; LadybugDB keeps the column as null: both mean "gone"
    assert [(o["id"], o.get("customer_id"), o.get("carrier"), o.get("tracking")) for o in left] == [
        ("SS-1001", None, None, None), ("SS-1002", None, None, None)]
    # Ben is untouched, and a second erasure finds nothing to do
    assert g.customer(BEN).customer.pregnancy == "pregnant" and g.customer_by_identity("telegram:9001") == BEN
    assert g.customer_ids() == [BEN]
    assert g.forget_customer(ANA) == {"customer": 0, "identities": 0, "orders_anonymised": 0}


# --- the operational store, on each backend (with the embedded graph) -----------------------------
@pytest.fixture
def world(opstore_url: str, tmp_path: Path,
          fixture_bundle: KnowledgeBundle) -> Iterator[tuple[StoreService, CustomerDataRequests]]:
    graph = EmbeddedGraphStore(tmp_path / "graph.lbdb")
    graph.load(fixture_bundle)
    clock = Clock()
    store = make_store(opstore_url, clock=clock, directory=graph)  # type: ignore[arg-type]
    build_world(store, graph, clock)
    yield store, CustomerDataRequests(store, graph)
    store.close()
    graph.close()


def _count(store: StoreService, model: type, *where: object) -> int:
    assert store.database is not None
    with store.database.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(model).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_erasure_removes_every_row_of_the_customer_and_no_row_of_anyone_else(
        world: tuple[StoreService, CustomerDataRequests]) -> None:
    store, requests = world
    before = requests.export(ANA, requested_by="test")
    for section in ("conversations", "channel_identities", "consents", "opt_outs", "reminders", "reminder_sends",
                    "handoffs", "handoff_tickets", "csat_ratings", "console_notes", "behaviour_events",
                    "trigger_sends", "segments", "conversation_outcomes", "link_codes", "outbox", "audit_log"):
        assert before[section], f"the world should give Ana some {section}"
    ben_before = requests.export(BEN, requested_by="test")

    report = requests.erase(ANA, requested_by="agent:root", reference="DSR-42")
    assert not report.already_erased and report.counts["conversations"] == 2 and report.counts["graph_customer"] == 1

    after = json.dumps(requests.export(ANA, requested_by="test"))
    assert not [s for s in ANA_SECRETS if s in after.replace(f'"customer_id": "{ANA}"', "")]
    ben_after = requests.export(BEN, requested_by="test")
    assert [e["sku"] for e in ben_before["behaviour_events"]] == ["FX-BHA-02"]
    for section in ("conversations", "consents", "channel_identities", "handoffs", "outbox", "behaviour_events"):
        assert ben_after[section] == ben_before[section], section

    # the ledger: that it happened, who asked, counts; nothing about Ana
    ledger = [a for a in store.compliance.audit_log(limit=1000) if a.action == privacy.ERASED_ACTION]
    assert len(ledger) == 1 and ledger[0].actor == "agent:root"
    assert ledger[0].details["reference"] == "DSR-42" and ledger[0].details["counts"]["messages"] >= 8
    everything = json.dumps([a.model_dump(mode="json") for a in store.compliance.audit_log(limit=1000)])
    assert not [s for s in ANA_SECRETS if s in everything]

    assert requests.erase(ANA, requested_by="agent:root").already_erased   # idempotent
    assert _count(store, AuditEntry, AuditEntry.action == privacy.ERASED_ACTION) == 2
    with pytest.raises(NotFound):
        requests.erase("cus-nobody", requested_by="agent:root")


def test_erasure_cancels_what_was_waiting_to_be_sent_to_the_customer(
        world: tuple[StoreService, CustomerDataRequests]) -> None:
    store, requests = world
    pending_to_ana = _count(store, OutboxRow, OutboxRow.status == "pending", OutboxRow.recipient.in_(
        ["+4915112345678", "5550001"]))
    pending_to_ben = _count(store, OutboxRow, OutboxRow.status == "pending", OutboxRow.recipient == "9001")
    assert pending_to_ana and pending_to_ben
    requests.erase(ANA, requested_by="test")
    assert _count(store, OutboxRow, OutboxRow.recipient.in_(["+4915112345678", "5550001"])) == 0
    assert _count(store, OutboxRow, OutboxRow.status == "pending", OutboxRow.recipient == "9001") == pending_to_ben
    assert [i.recipient for i in store.outbox.claim_due(100, "w")] == ["9001"] * pending_to_ben


def test_a_shared_browser_keeps_the_other_customers_events(world: tuple[StoreService, CustomerDataRequests]) -> None:
    from opstore.models_proactive import BehaviourEvent
    from proactive.events import EventBatch, StorefrontEvent
    from proactive.repo import ProactiveStore

    store, requests = world
    shop = ProactiveStore(store)

    def view(sku: str, event_id: str, customer: str | None) -> None:
        shop.record_events(EventBatch(visitor_id="family-laptop", consent=True, events=[
            StorefrontEvent(kind="product_view", sku=sku, id=event_id)]), customer)

    view("FX-NIA-10", "s1", None)       # nobody signed in: cannot be told apart
    view("FX-BHA-02", "s2", ANA)
    view("FX-NIA-10", "s3", BEN)
    assert "s1" not in json.dumps(requests.export(ANA, requested_by="test")["behaviour_events"])
    requests.erase(ANA, requested_by="test")
    left = {e.client_event_id: e.customer_id for e in shop.events_of(visitor_id="family-laptop")}
    assert left == {"s1": None, "s3": BEN}
    assert _count(store, BehaviourEvent, BehaviourEvent.customer_id == ANA) == 0
