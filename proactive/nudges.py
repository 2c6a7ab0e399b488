"""Widget nudges travel through the durable outbox like any message, on the channel `nudge`.

"Sending" a nudge means putting it in the visitor's mailbox (its trigger_sends row becomes
`delivered`); the storefront snippet polls the mailbox and each nudge is handed out once. The poll
itself delivers the visitor's due rows (`deliver_due(only=...)`), so no worker is needed for a nudge
to show, and a worker that gets there first does the same thing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from proactive.repo import ProactiveStore

NUDGE_CHANNEL = "nudge"


class NudgeMailbox:
    """The `OutboundSender` for channel `nudge` (the composition root routes that channel here)."""

    def __init__(self, repo: ProactiveStore) -> None:
        self.repo = repo

    def send(self, channel: str, recipient: str, payload: dict[str, Any]) -> str:
        if channel != NUDGE_CHANNEL:
            raise ValueError(f"the nudge mailbox only takes channel {NUDGE_CHANNEL!r}, not {channel!r}")
        send_id = str(payload.get("send_id") or "")
        if not send_id:
            raise ValueError("a nudge payload carries its send_id")
        self.repo.mark_delivered(send_id)  # False = already delivered (a retried send): still fine
        return f"nudge:{send_id}"


class Nudge(BaseModel):
    id: str
    trigger: str
    text: str
    quick_replies: list[str] = []
    sku: str | None = None


def take_nudges(repo: ProactiveStore, visitor_id: str) -> list[Nudge]:
    """Deliver this visitor's due nudges now (opt-outs checked by the outbox), then hand them out once."""
    due = repo.nudge_outbox_ids(visitor_id)
    if due:
        repo.store.outbox.deliver_due(NudgeMailbox(repo), only=due, worker_id=f"poll:{visitor_id}")
    return [Nudge(id=r.id, trigger=r.trigger, text=str(r.payload.get("text", "")),
                  quick_replies=list(r.payload.get("quick_replies") or []), sku=r.sku)
            for r in repo.take_delivered_nudges(visitor_id)]
