"""Customer data requests end to end: a customer with a real footprint (two channels, a photo, a skin
analysis with a stored photo, a handoff, reminders, consents, storefront events), exported and erased
through the staff HTTP routes and the CLI, on the embedded graph and SQLite."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from graph.embedded import EmbeddedGraphStore
from graph.model import KnowledgeBundle
from opstore import privacy
from opstore.migrate import upgrade
from opstore.service import StoreService
from opstore.testing import Clock, EchoEngine, make_store
from skinsage.settings import Settings
from tests.support.privacy_world import ANA, ANA_SECRETS, BEN, World, build_world
from vision.store import SqlAnalysisRepository

KEY = "staff-api-key"


@dataclass
class Env:
    client: TestClient
    store: StoreService
    graph: EmbeddedGraphStore
    world: World
    settings: Settings
    admin: dict[str, str]
    agent: dict[str, str]


@pytest.fixture(scope="module")
def photo() -> bytes:
    from vision.testing import encode, sample

    return encode(sample(), "JPEG")


@pytest.fixture
def env(tmp_path: Path, fixture_bundle: KnowledgeBundle, photo: bytes) -> Iterator[Env]:
    settings = Settings(data_dir=tmp_path, load_demo_on_start=False, api_key=KEY,  # type: ignore[arg-type]
                        widget_secret="widget-test-secret", widget_customer_token_secret="widget-customer-secret")
    graph = EmbeddedGraphStore(tmp_path / "graph.lbdb")
    graph.load(fixture_bundle)
    upgrade(settings.store_url)
    clock = Clock()
    store = make_store(settings.store_url, clock=clock, directory=graph)  # type: ignore[arg-type]
    analyses = SqlAnalysisRepository(settings.vision_database_url)
    world = build_world(store, graph, clock, analyses=analyses, photo=photo, settings=settings)
    analyses.close()
    app = create_app(settings, graph=graph, store=store, engine=EchoEngine())
    with TestClient(app) as client:
        auth = app.state.console.auth
        auth.create_agent("root", "admin-password-1", "admin")
        creds = {}
        for user, password in (("root", "admin-password-1"), ("alice", "agent-password-1")):
            token, info = auth.login(user, password)
            creds[user] = {"Cookie": f"skinsage_console={token}", "X-CSRF-Token": info.csrf_token}
        yield Env(client, store, graph, world, settings, creds["root"], creds["alice"])
    store.close()
    graph.close()


def _export(env: Env, customer: str = ANA) -> dict[str, Any]:
    r = env.client.get(f"/v1/admin/customers/{customer}/export", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()  # type: ignore[no-any-return]


def test_the_export_holds_every_part_of_what_we_know(env: Env) -> None:
    doc = _export(env)
    assert doc["format"] == "skinsage-export/1" and doc["customer_id"] == ANA and doc["generated_at"]
    assert doc["profile"]["avoids"] == [{"ingredient": "linalool", "reason": "allergy"}]
    assert doc["profile"]["skin_type"] == "oily" and "phone:+4915112345678" in doc["profile"]["identities"]
    assert sorted(o["id"] for o in doc["orders"]) == ["SS-1001", "SS-1002"]
    by_channel = {c["channel"]: c for c in doc["conversations"]}
    assert set(by_channel) == {"sms", "telegram"}
    sms = by_channel["sms"]["messages"]
    assert [m["direction"] for m in sms] == ["in", "out", "in", "out"]
    assert sms[0]["text"] == "I am pregnant and allergic to linalool, what serum?" and sms[0]["created_at"]
    media = [m for msg in sms for m in msg["media"]]
    assert media == [{"id": media[0]["id"], "message_id": sms[2]["id"], "position": 0, "content_type": "image/jpeg",
                      "url": None, "filename": "selfie.jpg", "data": media[0]["data"]}]
    assert media[0]["data"]["bytes"] == len(b"\xff\xd8fake-jpeg-bytes")   # a reference, not the bytes
    telegram = [m["text"] for m in by_channel["telegram"]["messages"]]
    assert "hello from telegram" in telegram          # written before the identity was linked
    assert "Hi Ana, Alice here. Let me check safe serums for you." in telegram   # the agent's reply
    assert {c["kind"] for c in doc["consents"]} == {"telegram", "photo_storage"}
    assert doc["opt_outs"][0]["external_id"] == "+4915112345678" and doc["opt_outs"][0]["opted_out"]
    assert {r["sku"] for r in doc["reminders"]} >= {"FX-BHA-02"} and doc["reminder_sends"]
    assert doc["handoffs"] and doc["handoff_tickets"] and doc["csat_ratings"][0]["score"] == 5
    assert doc["console_notes"][0]["text"].startswith("Ana: pregnant")
    assert {e["kind"] for e in doc["behaviour_events"]} == {"product_view", "add_to_cart"}
    assert doc["trigger_sends"][0]["trigger"] == "cart_abandoned" and doc["segments"][0]["segment"] == "loyal"
    assert len(doc["conversation_outcomes"]) == 2
    assert doc["photo_analyses"][0]["analysis_id"] == env.world.analysis_id and doc["photo_analyses"][0]["has_photo"]
    assert {"opt_out", "consent_granted", "identity_verified", "note_added"} <= {a["action"] for a in doc["audit_log"]}
    assert not any("code_hash" in c for c in doc["link_codes"])   # secrets stay out of an export
    assert BEN not in json.dumps(doc)
    assert "base64" not in json.dumps(doc) and "photo_jpeg_base64" not in doc["photo_analyses"][0]


def test_the_export_can_carry_the_photos_themselves(env: Env) -> None:
    import base64

    r = env.client.get(f"/v1/admin/customers/{ANA}/export", params={"include_media": "true"},
                       headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200
    doc = r.json()
    media = [m for c in doc["conversations"] for msg in c["messages"] for m in msg["media"]]
    assert base64.b64decode(media[0]["data"]["base64"]) == b"\xff\xd8fake-jpeg-bytes"
    jpeg = base64.b64decode(doc["photo_analyses"][0]["photo_jpeg_base64"])
    assert jpeg[:2] == b"\xff\xd8" and len(jpeg) > 1000


def test_erasure_through_the_api_leaves_nothing_personal_and_spares_others(env: Env) -> None:
    ben_before = _export(env, BEN)
    r = env.client.post(f"/v1/admin/customers/{ANA}/erase", json={"confirm": ANA, "reference": "DSR-7"},
                        headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert not report["already_erased"]
    assert report["counts"]["photo_analyses"] == 1 and report["counts"]["message_media"] == 1
    assert report["counts"]["graph_orders_anonymised"] == 2

    after = _export(env)
    assert after["erasures"] and after["profile"] is None and after["orders"] == []
    assert all(after[k] == [] for k in after if isinstance(after[k], list) and k != "erasures")
    assert not [s for s in ANA_SECRETS if s in json.dumps(after).replace(f'"customer_id": "{ANA}"', "")]
    ben_after = _export(env, BEN)
    assert ben_after["conversations"] == ben_before["conversations"] and ben_after["profile"] == ben_before["profile"]

    # the photo store, the graph and the raw database files hold nothing of hers any more
    analyses = SqlAnalysisRepository(env.settings.vision_database_url)
    assert analyses.list_for(ANA) == [] and analyses.photo(env.world.analysis_id or "") is None
    analyses.close()
    assert env.graph.customer_by_identity("phone:+4915112345678") is None
    for f in Path(env.settings.data_dir).glob("skinsage.db*"):   # secure_delete + WAL checkpoint
        raw = f.read_bytes()
        assert b"rash on my chin" not in raw and b"pregnant and allergic" not in raw, f.name

    # the ledger says who, when and how much, without naming her
    audit = env.client.get("/console/api/admin/audit", params={"limit": 1000}, headers=env.admin).json()
    ledger = [a for a in audit if a["action"] == privacy.ERASED_ACTION]
    assert len(ledger) == 1 and ledger[0]["actor"] == "api_key" and ledger[0]["details"]["reference"] == "DSR-7"
    assert ledger[0]["subject"] == f"erasure:{privacy.erasure_ref(ANA)}"
    assert not [s for s in ANA_SECRETS if s in json.dumps(audit)]

    again = env.client.post(f"/v1/admin/customers/{ANA}/erase", json={"confirm": ANA},
                            headers={"Authorization": f"Bearer {KEY}"})
    assert again.status_code == 200 and again.json()["already_erased"] is True


def test_the_console_admin_may_erase_with_csrf_and_a_typo_erases_nobody(env: Env) -> None:
    path = f"/console/api/admin/customers/{ANA}/erase"
    wrong = env.client.post(path, json={"confirm": BEN}, headers=env.admin)
    assert wrong.status_code == 422 and _export(env)["profile"] is not None
    no_csrf = env.client.post(path, json={"confirm": ANA}, headers={"Cookie": env.admin["Cookie"]})
    assert no_csrf.status_code == 403
    r = env.client.post(path, json={"confirm": ANA}, headers=env.admin)
    assert r.status_code == 200 and r.json()["counts"]["conversations"] == 2
    ledger = [a for a in env.store.compliance.audit_log(limit=1000) if a.action == privacy.ERASED_ACTION]
    assert [a.actor for a in ledger] == ["agent:root"]


def test_unknown_customers_are_a_clear_404(env: Env) -> None:
    for method, path, body in (("GET", "export", None), ("POST", "erase", {"confirm": "cus-nobody"})):
        r = env.client.request(method, f"/v1/admin/customers/cus-nobody/{path}", json=body,
                               headers={"Authorization": f"Bearer {KEY}"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


#: (status on the /v1 door, status on the console door): 401 without this door's credential, 403 with
#: the wrong one (a guest's widget token where the API key belongs, an agent where an admin belongs).
TURNED_AWAY = {"nobody": (401, 401), "wrong_key": (403, 401), "guest": (403, 401), "agent": (401, 403),
               "admin_cookie": (401, None)}


@pytest.mark.parametrize("who", sorted(TURNED_AWAY))
def test_only_staff_may_export_or_erase(env: Env, who: str) -> None:
    headers: dict[str, str] = {}
    if who == "wrong_key":
        headers = {"Authorization": "Bearer not-the-key"}
    elif who == "guest":
        session = env.client.post("/widget/session", json={})
        assert session.status_code == 200, session.text
        headers = {"Authorization": f"Bearer {session.json()['session_token']}"}
    elif who == "agent":
        headers = env.agent
    elif who == "admin_cookie":
        headers = env.admin                   # an admin's console cookie is not the API key
    v1, console = TURNED_AWAY[who]
    for prefix, want in (("/v1/admin", v1), ("/console/api/admin", console)):
        if want is None:
            continue
        for method, action in (("GET", "export"), ("POST", "erase")):
            env.client.cookies.clear()
            r = env.client.request(method, f"{prefix}/customers/{ANA}/{action}",
                                   json={"confirm": ANA} if method == "POST" else None, headers=headers)
            assert r.status_code == want, (method, prefix, action, r.status_code, r.text)
    assert _export(env)["profile"] is not None   # nothing was erased


def test_the_cli_exports_to_a_private_file_and_erases_only_with_yes(env: Env, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from skinsage.cli import app
    from skinsage.settings import get_settings

    env.client.__exit__(None, None, None)   # the CLI opens the stores itself (the embedded graph is one-process)
    env.graph.close()
    monkeypatch.setenv("SKINSAGE_DATA_DIR", str(env.settings.data_dir))
    monkeypatch.setenv("SKINSAGE_EMBEDDED_GRAPH_PATH", str(Path(env.settings.data_dir) / "graph.lbdb"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = tmp_path / "ana.json"
        r = runner.invoke(app, ["customer", "export", ANA, "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert json.loads(out.read_text())["profile"]["name"] == "Ana Keller"
        assert os.stat(out).st_mode & 0o777 == 0o600
        refused = runner.invoke(app, ["customer", "erase", ANA])
        assert refused.exit_code == 1 and "--yes" in refused.output
        r = runner.invoke(app, ["customer", "erase", ANA, "--yes", "--reference", "DSR-9"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["counts"]["graph_customer"] == 1
        r = runner.invoke(app, ["customer", "export", ANA])
        assert r.exit_code == 0 and json.loads(r.output)["profile"] is None
        missing = runner.invoke(app, ["customer", "erase", "cus-nobody", "--yes"])
        assert missing.exit_code == 1 and "no customer" in missing.output
    finally:
        get_settings.cache_clear()
