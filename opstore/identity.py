"""Who is writing: channel identities, the customer they prove, and one-time link codes.

The rule that protects order data lives here and in a CHECK constraint: an identity gets a customer
only once it is verified (by a signed proof from the channel, or by redeeming a link code that a
logged-in customer created). Unverified identities keep talking to the bot, anonymously.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from opstore import domain
from opstore.compliance import audit_entry
from opstore.context import StoreContext
from opstore.errors import LinkCodeInvalid
from opstore.models import ChannelIdentity, LinkCode
from opstore.ports import CustomerDirectory, UnitOfWork
from skinsage.errors import InvalidInput


@dataclass(frozen=True)
class ProofLookup:
    """A proof of identity resolved as far as possible outside the store: either the customer is known
    (the proof names it, or the directory knows it), or only this store's verified identities can tell,
    which `customer(uow)` asks inside the caller's transaction (no transaction of its own)."""

    known: str | None
    channel: str | None = None
    external_id: str | None = None

    def customer(self, uow: UnitOfWork) -> str | None:
        if self.known or not (self.channel and self.external_id):
            return self.known
        ident = uow.identities.get(self.channel, self.external_id)
        return ident.customer_id if ident is not None and ident.verified else None


def attach_identity(uow: UnitOfWork, channel: str, external_id: str, now: datetime, *,
                    customer_id: str | None = None, display_name: str | None = None,
                    source: str = "channel") -> ChannelIdentity:
    """Find or create the identity; with `customer_id`, mark it verified and link it (latest proof
    wins, audited) and give the person's open conversation on this channel the customer too."""
    ident = uow.identities.get(channel, external_id)
    if ident is None:
        ident = ChannelIdentity(id=domain.new_id(), channel=channel, external_id=external_id,
                                verified=False, created_at=now, display_name=display_name)
        uow.add(ident)
    elif display_name and not ident.display_name:
        ident.display_name = display_name
    if customer_id and (not ident.verified or ident.customer_id != customer_id):
        uow.add(audit_entry(source, "identity_verified", f"{channel}:{external_id}",
                            {"customer_id": customer_id, "previous": ident.customer_id}, now))
        ident.verified, ident.verified_at, ident.customer_id = True, now, customer_id
        conv = uow.conversations.open_for(channel, external_id)
        if conv is not None:
            conv.customer_id = customer_id
    return ident


class IdentityService:
    def __init__(self, ctx: StoreContext, directory: CustomerDirectory | None = None) -> None:
        self.ctx = ctx
        self.directory = directory

    def customer_for_proof(self, proof: str) -> str | None:
        """A channel's proof of identity -> customer id. `customer:<id>` (a signed shop token names the
        customer), else `channel:value` (verified email/phone) through the directory (the graph),
        else through identities this store has already verified."""
        found = self.resolve_proof(proof)
        if found.known or not (found.channel and found.external_id):
            return found.known
        return self.customer_for(found.channel, found.external_id)

    def resolve_proof(self, proof: str) -> ProofLookup:
        """`customer_for_proof` without touching the store (so `receive` can finish the lookup inside
        its own write transaction instead of opening one more)."""
        kind, _, value = proof.partition(":")
        if not value:
            return ProofLookup(None)
        if kind == "customer":
            return ProofLookup(value)
        if self.directory is not None:
            found = self.directory.customer_by_identity(proof)
            if found:
                return ProofLookup(found)
        return ProofLookup(None, kind, value)

    def customer_for(self, channel: str, external_id: str) -> str | None:
        """The customer behind a channel identity, only if that identity is verified."""
        with self.ctx.reader() as uow:
            ident = uow.identities.get(channel, external_id)
            return ident.customer_id if ident is not None and ident.verified else None

    def verify(self, channel: str, external_id: str, customer_id: str, *, source: str) -> None:
        """Link an identity the caller has proven (e.g. a phone verified by the shop)."""
        def run() -> None:
            with self.ctx.uow() as uow:
                attach_identity(uow, channel, external_id, self.ctx.now(), customer_id=customer_id, source=source)
                uow.commit()

        self.ctx.retrying(run)

    def link_code_create(self, customer_id: str, ttl_s: int | None = None) -> str:
        """A one-time code the logged-in customer sends from another channel (Telegram `/start CODE`)."""
        if not customer_id:
            raise InvalidInput("a link code needs a customer")
        code = domain.new_link_code()
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            uow.add(LinkCode(id=domain.new_id(), code_hash=domain.hash_link_code(code), customer_id=customer_id,
                             created_at=now, expires_at=now + timedelta(seconds=ttl_s or self.ctx.config.link_code_ttl_s)))
            uow.add(audit_entry(f"customer:{customer_id}", "link_code_created", f"customer:{customer_id}", {}, now))
            uow.commit()
        return code

    def link_code_redeem(self, code: str, channel: str, external_id: str) -> str:
        """Joins the identity to the code's customer and returns the customer id. Raises `LinkCodeInvalid`
        for unknown, used and expired codes alike; of two concurrent redemptions exactly one wins."""
        now = self.ctx.now()
        with self.ctx.uow() as uow:
            row = uow.identities.redeem_code(domain.hash_link_code(code), now, channel, external_id)
            if row is None:
                raise LinkCodeInvalid("this link code is not valid (unknown, already used or expired)")
            attach_identity(uow, channel, external_id, now, customer_id=row.customer_id, source="link_code")
            uow.commit()
            return row.customer_id
