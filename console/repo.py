"""Every query of the console: agents, sessions, tickets, notes, canned responses, CSAT, dashboard rows.

The console runs inside the operational store's unit of work (one transaction per use case), on its
SQLAlchemy session: the console's tables sit on the same database as conversations and handoffs, so a
claim, its ticket and its audit line commit together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from opstore.models import Conversation, Handoff, Message
from opstore.models_console import (
    CannedResponse,
    ConsoleAgent,
    ConsoleNote,
    ConsoleSession,
    CsatRating,
    HandoffTicket,
)
from opstore.ports import UnitOfWork
from opstore.service import StoreService


@contextmanager
def unit(store: StoreService) -> Iterator[tuple[UnitOfWork, Session]]:
    """The store's unit of work and its session (the SQL adapter is the only one the console supports)."""
    with store.ctx.uow() as uow:
        session = getattr(uow, "session", None)
        if not isinstance(session, Session):
            raise TypeError("the console needs the SQL operational store")
        yield uow, session


def _lock(s: Session, q: Any) -> Any:
    return q.with_for_update() if s.get_bind().dialect.name == "postgresql" else q


# -- agents and sessions ------------------------------------------------------------------------------
def agent_by_username(s: Session, username: str, *, lock: bool = False) -> ConsoleAgent | None:
    q = select(ConsoleAgent).where(ConsoleAgent.username == username)
    return s.scalar(_lock(s, q) if lock else q)


def agent_by_id(s: Session, agent_id: str) -> ConsoleAgent | None:
    return s.get(ConsoleAgent, agent_id)


def agents(s: Session) -> Sequence[ConsoleAgent]:
    return s.scalars(select(ConsoleAgent).order_by(ConsoleAgent.username)).all()


def loads(s: Session) -> dict[str, int]:
    """Conversations each agent holds right now."""
    rows = s.execute(select(Conversation.assigned_agent, func.count()).where(
        Conversation.status == "human", Conversation.assigned_agent.is_not(None))
        .group_by(Conversation.assigned_agent))
    return {str(a): int(n) for a, n in rows}


def session_with_agent(s: Session, session_id: str) -> tuple[ConsoleSession, ConsoleAgent] | None:
    row = s.execute(select(ConsoleSession, ConsoleAgent).join(ConsoleAgent, ConsoleAgent.id == ConsoleSession.agent_id)
                    .where(ConsoleSession.id == session_id)).first()
    return (row[0], row[1]) if row else None


def revoke_sessions(s: Session, agent_id: str, now: datetime) -> None:
    s.execute(update(ConsoleSession).where(ConsoleSession.agent_id == agent_id, ConsoleSession.revoked_at.is_(None))
              .values(revoked_at=now).execution_options(synchronize_session=False))


# -- conversations in the console --------------------------------------------------------------------
def desk_rows(s: Session, statuses: tuple[str, ...], agent: str | None = None,
              limit: int = 200) -> list[tuple[Conversation, Handoff | None, HandoffTicket | None]]:
    """Conversations waiting for or held by a person, with their open handoff and its ticket."""
    q = (select(Conversation, Handoff, HandoffTicket)
         .outerjoin(Handoff, and_(Handoff.conversation_id == Conversation.id, Handoff.resolved_at.is_(None)))
         .outerjoin(HandoffTicket, HandoffTicket.handoff_id == Handoff.id)
         .where(Conversation.status.in_(statuses)))
    if agent is not None:
        q = q.where(Conversation.assigned_agent == agent)
    return [(c, h, t) for c, h, t in s.execute(q.order_by(Conversation.updated_at).limit(limit))]


def ticket(s: Session, handoff_id: str) -> HandoffTicket | None:
    return s.get(HandoffTicket, handoff_id)


def last_handoff(s: Session, conversation_id: str) -> Handoff | None:
    return s.scalar(select(Handoff).where(Handoff.conversation_id == conversation_id)
                    .order_by(Handoff.opened_at.desc(), Handoff.id.desc()).limit(1))


def transfer(s: Session, conversation_id: str, from_agent: str | None, to_agent: str, now: datetime) -> bool:
    """Conditional: only while the conversation is still held by `from_agent` (None: by anyone)."""
    cond = [Conversation.id == conversation_id, Conversation.status == "human"]
    if from_agent is not None:
        cond.append(Conversation.assigned_agent == from_agent)
    res = s.execute(update(Conversation).where(*cond).values(assigned_agent=to_agent, updated_at=now)
                    .execution_options(synchronize_session=False))
    return int(res.rowcount or 0) == 1  # type: ignore[attr-defined]


def customer_messages(s: Session, conversation: Conversation, limit: int = 500) -> list[Message]:
    """The whole story: every channel of a verified customer, else this conversation; oldest first."""
    scope: Any = Message.conversation_id == conversation.id
    if conversation.customer_id:
        scope = Message.conversation_id.in_(select(Conversation.id).where(
            Conversation.customer_id == conversation.customer_id))
    rows = s.scalars(select(Message).where(scope).order_by(Message.created_at.desc(), Message.id.desc())
                     .limit(limit)).all()
    return list(reversed(rows))


def notes(s: Session, conversation_id: str) -> Sequence[ConsoleNote]:
    return s.scalars(select(ConsoleNote).where(ConsoleNote.conversation_id == conversation_id)
                     .order_by(ConsoleNote.created_at, ConsoleNote.id)).all()


def canned(s: Session) -> Sequence[CannedResponse]:
    return s.scalars(select(CannedResponse).order_by(CannedResponse.title)).all()


# -- dashboard ------------------------------------------------------------------------------------
def conversations_in(s: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """(conversations started in the window, of those how many ever went to a person). Windows include
    both ends: "the last 7 days" includes what happened this very second."""
    window = and_(Conversation.created_at >= start, Conversation.created_at <= end)
    total = s.scalar(select(func.count()).select_from(Conversation).where(window)) or 0
    handed = s.scalar(select(func.count()).select_from(Conversation).where(
        window, Conversation.id.in_(select(Handoff.conversation_id)))) or 0
    return int(total), int(handed)


def handoffs_in(s: Session, start: datetime, end: datetime) -> list[tuple[Handoff, HandoffTicket | None]]:
    q = (select(Handoff, HandoffTicket).outerjoin(HandoffTicket, HandoffTicket.handoff_id == Handoff.id)
         .where(Handoff.opened_at >= start, Handoff.opened_at <= end))
    return [(h, t) for h, t in s.execute(q)]


def csat_in(s: Session, start: datetime, end: datetime) -> list[int]:
    return [int(x) for x in s.scalars(select(CsatRating.score).where(CsatRating.at >= start, CsatRating.at <= end))]
