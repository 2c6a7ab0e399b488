"""Consent, opt-outs (STOP/START) and the audit log: the records a regulator or a customer may ask for."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from opstore import domain
from opstore.context import StoreContext
from opstore.models import AuditEntry, Consent, OptOut
from opstore.schemas import AuditView
from skinsage.errors import InvalidInput


def audit_entry(actor: str, action: str, subject: str | None, details: dict[str, Any] | None,
                at: datetime) -> AuditEntry:
    """Added to the use case's own unit of work, so the action and its audit line commit together."""
    return AuditEntry(id=domain.new_id(), actor=actor, action=action, subject=subject,
                      details=details or {}, at=at)


class ComplianceService:
    def __init__(self, ctx: StoreContext) -> None:
        self.ctx = ctx

    def set_opt_out(self, channel: str, external_id: str, opted_out: bool, *, source: str = "keyword") -> None:
        def run() -> None:
            now = self.ctx.now()
            with self.ctx.uow() as uow:
                row = uow.identities.opt_out(channel, external_id)
                if row is None:
                    uow.add(OptOut(id=domain.new_id(), channel=channel, external_id=external_id,
                                   opted_out=opted_out, source=source, at=now))
                else:
                    row.opted_out, row.source, row.at = opted_out, source, now
                uow.add(audit_entry(f"{channel}:{external_id}", "opt_out" if opted_out else "opt_in",
                                    f"{channel}:{external_id}", {"source": source}, now))
                uow.commit()

        self.ctx.retrying(run)

    def is_opted_out(self, channel: str, external_id: str) -> bool:
        with self.ctx.reader() as uow:
            return bool(uow.identities.opted_out_among({(channel, external_id)}))

    def apply_keyword(self, channel: str, external_id: str, text: str) -> Literal["stop", "start", "help"] | None:
        """For carrier channels: STOP opts out, START opts back in. Returns the keyword (HELP is only
        reported: what to answer is the channel's business)."""
        keyword = domain.opt_keyword(text)
        if keyword in ("stop", "start"):
            self.set_opt_out(channel, external_id, keyword == "stop", source=f"keyword:{keyword}")
        return keyword

    def record_consent(self, kind: str, granted: bool, *, source: str, customer_id: str | None = None,
                       channel: str | None = None, external_id: str | None = None) -> None:
        if not customer_id and not (channel and external_id):
            raise InvalidInput("a consent needs a customer or a channel identity")
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            uow.add(Consent(id=domain.new_id(), customer_id=customer_id, channel=channel, external_id=external_id,
                            kind=kind, granted=granted, source=source, at=now))
            uow.add(audit_entry(source, "consent_granted" if granted else "consent_withdrawn",
                                customer_id or f"{channel}:{external_id}", {"kind": kind}, now))
            uow.commit()

    def has_consent(self, kind: str, *, customer_id: str | None = None, channel: str | None = None,
                    external_id: str | None = None) -> bool:
        """The latest decision wins; no decision at all means no consent."""
        with self.ctx.reader() as uow:
            return bool(uow.identities.latest_consent(kind, customer_id, channel, external_id))

    def audit(self, actor: str, action: str, subject: str | None = None,
              details: dict[str, Any] | None = None) -> None:
        with self.ctx.uow() as uow:
            uow.add(audit_entry(actor, action, subject, details, self.ctx.now()))
            uow.commit()

    def audit_log(self, subject: str | None = None, limit: int = 100) -> list[AuditView]:
        with self.ctx.reader() as uow:
            rows = uow.audit_trail(subject, limit)
            return [AuditView.model_validate(r) for r in rows]

