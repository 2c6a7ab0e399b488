"""Tool plumbing shared by both planners.

A tool is a function with a Pydantic argument model. The model gives the LLM its JSON schema and
validates whatever any planner proposes; permissions are checked here and inside the tool, from
the verified context, never from the message text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from assistant.profile import Profile
from assistant.types import Citation, Media, ProductCard, ToolCall
from commerce.reminders import ReminderStore
from graph.store import GraphStore
from skinsage import metrics
from skinsage.errors import InvalidInput, NotFound, SkinSageError


class ToolDenied(SkinSageError):
    """The caller may not use this tool or see this data."""


class Searcher(Protocol):
    """What the tools need from retrieval (retrieval.hybrid.Retriever satisfies it)."""

    def search(self, query: str, k: int = 5, filters: Any = None) -> list[Any]: ...


class PhotoAnalyser(Protocol):
    def __call__(self, data: bytes, content_type: str | None = None) -> Any: ...


@dataclass
class ToolContext:
    graph: GraphStore
    profile: Profile
    reminders: ReminderStore
    role: str = "customer"
    retriever: Searcher | None = None
    photos: PhotoAnalyser | None = None
    media: list[Media] = field(default_factory=list)
    today: date = field(default_factory=date.today)
    currency: str = "EUR"
    reminder_days_before: int = 7
    purchases: Any = None   # commerce.collab.FittedPurchases: what customers buy, by kind and together

    @property
    def verified_customer(self) -> str | None:
        return self.profile.customer_id


@dataclass
class ToolResult:
    """What a tool found: data for the composer or the LLM, plus what the customer may be shown."""

    data: dict[str, Any] = field(default_factory=dict)
    citations: list[Citation] = field(default_factory=list)
    products: list[ProductCard] = field(default_factory=list)
    handoff_reason: str | None = None
    profile_changes: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    fn: Callable[[ToolContext, Any], ToolResult]
    staff_only: bool = False


REGISTRY: dict[str, Tool] = {}


def tool(name: str, args: type[BaseModel], staff_only: bool = False) -> Callable[[Callable[..., ToolResult]], Tool]:
    def register(fn: Callable[..., ToolResult]) -> Tool:
        t = Tool(name=name, description=(fn.__doc__ or "").strip().split("\n\n")[0], args=args, fn=fn,
                 staff_only=staff_only)
        REGISTRY[name] = t
        return t
    return register


def run_tool(ctx: ToolContext, name: str, raw_args: dict[str, Any]) -> tuple[ToolCall, ToolResult | None]:
    """Validate, authorise and run one tool call. Never raises: failures become a traced error."""
    started = time.perf_counter()
    call = ToolCall(name=name, args=dict(raw_args))
    t = REGISTRY.get(name)
    try:
        if t is None:
            raise InvalidInput(f"unknown tool {name!r}")
        if t.staff_only and ctx.role != "staff":
            raise ToolDenied(f"{name} is for staff only")
        args = t.args.model_validate(raw_args)
        call.args = args.model_dump(exclude_none=True)
        result = t.fn(ctx, args)
        call.result_summary = result.summary[:300] or None
        return call, result
    except ValidationError as e:
        call.ok, call.error = False, f"invalid arguments: {e.errors()[0]['msg']}"
    except (ToolDenied, InvalidInput, NotFound) as e:
        call.ok, call.error = False, str(e)
    except SkinSageError as e:
        call.ok, call.error = False, f"{type(e).__name__}: {e}"
    finally:
        call.ms = round((time.perf_counter() - started) * 1000, 2)
        metrics.record_tool(name, t is not None, call.ms, call.ok)
    return call, None
