"""Planning: which tools to call for a message, or which question to ask first.

`Plan` is what both planners produce. The offline planner decides from intent, slots and memory;
the LLM planner lets a model decide, and the engine runs either plan through the same tools and
the same safety checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Step:
    tool: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    intent: str
    steps: list[Step] = field(default_factory=list)
    #: reply template to render (prompts/replies.yaml); the tool results fill it
    template: str = ""
    #: a slot-filling question asked instead of (or after) running tools
    ask: str | None = None
    quick_replies: list[str] = field(default_factory=list)
    #: what to remember for the next turn (pending intent and the slots gathered so far)
    pending: dict[str, Any] | None = None
    confidence: float = 1.0
    notes: dict[str, Any] = field(default_factory=dict)
