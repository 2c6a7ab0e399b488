"""Agents, logins and server-side sessions.

The cookie carries a random token; the table keeps only its SHA-256, so a database leak hands out no
live sessions. Each session has its own CSRF token (synchronizer pattern). Wrong passwords count
towards a temporary lock; a wrong username costs the same time as a wrong password.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from console import passwords, repo
from opstore import domain
from opstore.compliance import audit_entry
from opstore.errors import Conflict
from opstore.models_console import ROLES, ConsoleAgent, ConsoleSession
from opstore.service import StoreService
from skinsage.errors import InvalidInput, NotFound, SkinSageError
from skinsage.settings import Settings

Role = Literal["agent", "admin"]
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class LoginFailed(SkinSageError):
    """One message for unknown user, wrong password and locked account: nothing to probe."""


@dataclass(frozen=True)
class ConsoleConfig:
    session_hours: float = 12.0
    idle_minutes: float = 60.0
    max_failed_logins: int = 5
    lockout_minutes: float = 15.0
    default_capacity: int = 3
    auto_assign: bool = True
    csat: bool = True

    @classmethod
    def from_settings(cls, s: Settings) -> ConsoleConfig:
        return cls(session_hours=s.console_session_hours, idle_minutes=s.console_idle_minutes,
                   max_failed_logins=s.console_max_failed_logins, lockout_minutes=s.console_lockout_minutes,
                   default_capacity=s.console_default_capacity, auto_assign=s.console_auto_assign, csat=s.console_csat)


class AgentView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    username: str
    display_name: str
    role: Role
    capacity: int
    active: bool
    online: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class SessionInfo(BaseModel):
    session_id: str
    csrf_token: str
    agent: AgentView


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(self, store: StoreService, config: ConsoleConfig) -> None:
        self.store, self.config = store, config

    def _now(self) -> datetime:
        return self.store.ctx.now()

    def create_agent(self, username: str, password: str, role: Role = "agent", *, display_name: str | None = None,
                     capacity: int | None = None, actor: str = "cli") -> AgentView:
        username = username.strip().lower()
        if not _USERNAME.match(username):
            raise InvalidInput("a username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        if capacity is not None and not 0 <= capacity <= 50:
            raise InvalidInput("capacity must be between 0 and 50")
        passwords.check_strength(password)
        now = self._now()
        agent = ConsoleAgent(id=domain.new_id(), username=username, display_name=(display_name or username)[:120],
                             password_hash=passwords.hash_password(password), role=role,
                             capacity=self.config.default_capacity if capacity is None else capacity,
                             active=True, online=False, failed_logins=0, created_at=now)
        try:
            with repo.unit(self.store) as (uow, _):
                uow.add(agent)
                uow.add(audit_entry(actor, "agent_created", f"agent:{username}", {"role": role}, now))
                uow.flush()
                view = AgentView.model_validate(agent)
                uow.commit()
        except Conflict:
            raise InvalidInput(f"an agent called {username!r} already exists") from None
        return view

    def login(self, username: str, password: str) -> tuple[str, SessionInfo]:
        """A new session for a right password. Returns the cookie token (only ever held by the browser)."""
        now, cfg = self._now(), self.config
        with repo.unit(self.store) as (uow, s):
            agent = repo.agent_by_username(s, username.strip().lower(), lock=True)
            if agent is None or not agent.active:
                passwords.burn_time(password)
                uow.add(audit_entry(f"login:{username[:60]}", "login_failed", None, {"why": "unknown or inactive"}, now))
                uow.commit()
                raise LoginFailed("wrong username or password")
            locked = agent.locked_until is not None and agent.locked_until > now
            if locked or not passwords.verify_password(password, agent.password_hash):
                if not locked:
                    agent.failed_logins += 1
                    if agent.failed_logins >= cfg.max_failed_logins:
                        agent.locked_until, agent.failed_logins = now + timedelta(minutes=cfg.lockout_minutes), 0
                uow.add(audit_entry(f"agent:{agent.username}", "login_failed", f"agent:{agent.username}",
                                    {"why": "locked" if locked else "wrong password"}, now))
                uow.commit()
                raise LoginFailed("wrong username or password")
            if passwords.needs_rehash(agent.password_hash):
                agent.password_hash = passwords.hash_password(password)
            agent.failed_logins, agent.locked_until, agent.online = 0, None, True
            token = secrets.token_urlsafe(32)
            row = ConsoleSession(id=session_id(token), agent_id=agent.id, csrf_token=secrets.token_urlsafe(32),
                                 created_at=now, last_seen_at=now,
                                 expires_at=now + timedelta(hours=cfg.session_hours))
            uow.add(row)
            uow.add(audit_entry(f"agent:{agent.username}", "login", f"agent:{agent.username}", {}, now))
            uow.commit()
            return token, SessionInfo(session_id=row.id, csrf_token=row.csrf_token, agent=AgentView.model_validate(agent))

    def session(self, token: str | None) -> SessionInfo | None:
        """The live session behind a cookie, or None (unknown, expired, idle too long, revoked, agent disabled)."""
        if not token or len(token) > 200:
            return None
        now = self._now()
        with repo.unit(self.store) as (uow, s):
            found = repo.session_with_agent(s, session_id(token))
            if found is None:
                return None
            row, agent = found
            idle = now - row.last_seen_at > timedelta(minutes=self.config.idle_minutes)
            if row.revoked_at is not None or row.expires_at <= now or idle or not agent.active:
                return None
            if now - row.last_seen_at > timedelta(seconds=60):  # one write a minute, not one per request
                row.last_seen_at = now
                uow.commit()
            return SessionInfo(session_id=row.id, csrf_token=row.csrf_token, agent=AgentView.model_validate(agent))

    def logout(self, info: SessionInfo) -> None:
        now = self._now()
        with repo.unit(self.store) as (uow, s):
            row = s.get(ConsoleSession, info.session_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = now
            agent = repo.agent_by_id(s, info.agent.id)
            if agent is not None:
                agent.online = False
            uow.add(audit_entry(f"agent:{info.agent.username}", "logout", f"agent:{info.agent.username}", {}, now))
            uow.commit()

    # -- administration ---------------------------------------------------------------------------
    def agents(self) -> list[AgentView]:
        with repo.unit(self.store) as (_, s):
            return [AgentView.model_validate(a) for a in repo.agents(s)]

    def update_agent(self, username: str, *, actor: str, capacity: int | None = None, role: Role | None = None,
                     active: bool | None = None, online: bool | None = None,
                     password: str | None = None) -> AgentView:
        if capacity is not None and not 0 <= capacity <= 50:
            raise InvalidInput("capacity must be between 0 and 50")
        if role is not None and role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        if password is not None:
            passwords.check_strength(password)
        now = self._now()
        with repo.unit(self.store) as (uow, s):
            agent = repo.agent_by_username(s, username, lock=True)
            if agent is None:
                raise NotFound(f"no agent {username}")
            changes: dict[str, object] = {}
            for field, value in (("capacity", capacity), ("role", role), ("active", active), ("online", online)):
                if value is not None and getattr(agent, field) != value:
                    setattr(agent, field, value)
                    changes[field] = value
            if password is not None:
                agent.password_hash = passwords.hash_password(password)
                changes["password"] = "changed"
            if active is False or password is not None:
                repo.revoke_sessions(s, agent.id, now)   # a disabled or re-keyed account is logged out everywhere
            uow.add(audit_entry(actor, "agent_updated", f"agent:{username}", changes, now))
            uow.commit()
            return AgentView.model_validate(agent)
