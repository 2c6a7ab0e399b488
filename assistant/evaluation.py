"""Scripted dialogues in, scores out: tool choice, arguments, required facts, safety, handoffs.

The dialogue set (eval/dialogues.yaml) states what a good assistant does, turn by turn; this module
replays it through any `ConversationEngine` and counts. Safety is judged twice: by each turn's
`not_contains`, and independently by checking every product card against the profile the customer
gave (allergens at any position; pregnancy-flagged ingredients), so a set that forgets to say
"never offer retinol here" still catches it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from assistant.types import ConversationEngine, Reply, Turn
from graph.model import PREGNANCY_EXCLUDED
from graph.store import GraphStore


class Expect(BaseModel):
    tools: list[str] | None = Field(default=None, description="tool names the turn should call (order-free); [] = none")
    args: dict[str, dict[str, Any]] = {}
    contains: list[str] = []
    not_contains: list[str] = []
    handoff: bool | None = None
    products: bool | None = Field(default=None, description="whether product cards should be shown")


class DialogueTurn(BaseModel):
    user: str
    expect: Expect = Expect()


class Dialogue(BaseModel):
    id: str
    tags: list[str] = []
    customer: str | None = None
    role: str = "customer"
    turns: list[DialogueTurn]


def load_dialogues(path: Path) -> list[Dialogue]:
    return [Dialogue.model_validate(d) for d in yaml.safe_load(path.read_text(encoding="utf-8"))]


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        return v.strip().lower()
    if isinstance(v, list):
        return sorted(_norm(x) for x in v)
    return v


def args_match(expected: Any, actual: Any) -> bool:
    """Scalars equal (case-free); an expected list must be contained in the actual list."""
    if isinstance(expected, list):
        have = actual if isinstance(actual, list) else [actual]
        return set(_norm(expected)) <= set(_norm(have))
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return abs(expected - actual) < 1e-6
    return _norm(expected) == _norm(actual)


@dataclass
class Scores:
    turns: int = 0
    tool_turns: int = 0
    tool_correct: int = 0
    arg_checks: int = 0
    arg_correct: int = 0
    facts: int = 0
    facts_found: int = 0
    violations: list[str] = field(default_factory=list)
    handoff: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def tool_accuracy(self) -> float:
        return self.tool_correct / self.tool_turns if self.tool_turns else 1.0

    @property
    def arg_accuracy(self) -> float:
        return self.arg_correct / self.arg_checks if self.arg_checks else 1.0

    @property
    def fact_coverage(self) -> float:
        return self.facts_found / self.facts if self.facts else 1.0

    @property
    def handoff_precision(self) -> float:
        tp, fp = self.handoff["tp"], self.handoff["fp"]
        return tp / (tp + fp) if tp + fp else 1.0

    @property
    def handoff_recall(self) -> float:
        tp, fn = self.handoff["tp"], self.handoff["fn"]
        return tp / (tp + fn) if tp + fn else 1.0

    def table(self) -> list[tuple[str, str]]:
        return [("turns", str(self.turns)),
                ("tool-selection accuracy", f"{self.tool_accuracy:.3f} ({self.tool_correct}/{self.tool_turns})"),
                ("argument accuracy", f"{self.arg_accuracy:.3f} ({self.arg_correct}/{self.arg_checks})"),
                ("required-fact coverage", f"{self.fact_coverage:.3f} ({self.facts_found}/{self.facts})"),
                ("safety violations", str(len(self.violations))),
                ("handoff precision", f"{self.handoff_precision:.3f}"),
                ("handoff recall", f"{self.handoff_recall:.3f} ({self.handoff['tp']}/{self.handoff['tp'] + self.handoff['fn']})")]


class SafetyJudge:
    """Independent of the engine: what the customer said about themselves vs what they were shown."""

    def __init__(self, graph: GraphStore) -> None:
        self.graph = graph

    def check(self, reply: Reply, avoid: set[str], pregnant: bool) -> list[str]:
        if not reply.products:
            return []
        flags = self.graph.ingredient_safety([c.sku for c in reply.products])
        problems = []
        for card in reply.products:
            ings = flags.get(card.sku, {})
            for ing, rating in ings.items():
                if ing in avoid:
                    problems.append(f"{card.sku} contains avoided {ing}")
                if pregnant and rating in PREGNANCY_EXCLUDED:
                    problems.append(f"{card.sku} contains {ing} ({rating} in pregnancy)")
        return problems


def run(engine: ConversationEngine, dialogues: list[Dialogue], judge: SafetyJudge,
        profile_of: Callable[[str | None], tuple[set[str], bool]] | None = None) -> Scores:
    s = Scores()
    for d in dialogues:
        state: dict[str, Any] = {}
        base_avoid, base_pregnant = profile_of(d.customer) if profile_of else (set(), False)
        for i, t in enumerate(d.turns, start=1):
            reply = engine.handle(Turn(conversation_id=d.id, channel="api", text=t.user, customer_id=d.customer,
                                       role=d.role, state=state))  # type: ignore[arg-type]
            state = reply.state
            told = state.get("profile") or {}
            avoid = base_avoid | set(told.get("avoid") or [])
            pregnant = base_pregnant or told.get("pregnancy") in ("pregnant", "breastfeeding")
            where = f"{d.id}#{i}"
            s.turns += 1
            e = t.expect
            called_all = [c.name for c in reply.tools]
            if e.tools is not None:
                s.tool_turns += 1
                if set(called_all) == set(e.tools):
                    s.tool_correct += 1
                else:
                    s.failures.append(f"{where} tools: expected {sorted(e.tools)}, got {sorted(called_all)} | {t.user}")
            for tool_name, expected_args in e.args.items():
                call = next((c for c in reply.tools if c.name == tool_name), None)
                for key, value in expected_args.items():
                    s.arg_checks += 1
                    if call is not None and key in call.args and args_match(value, call.args[key]):
                        s.arg_correct += 1
                    else:
                        s.failures.append(f"{where} arg {tool_name}.{key}: expected {value!r}, got "
                                          f"{call.args.get(key) if call else None!r}")
            low = reply.text.lower()
            for fact in e.contains:
                s.facts += 1
                if fact.lower() in low:
                    s.facts_found += 1
                else:
                    s.failures.append(f"{where} missing fact {fact!r}")
            for bad in e.not_contains:
                if bad.lower() in low or any(bad.lower() in c.name.lower() for c in reply.products):
                    s.violations.append(f"{where} said {bad!r}")
            s.violations += [f"{where} {p}" for p in judge.check(reply, avoid, pregnant)]
            if e.products is not None and bool(reply.products) != e.products:
                s.failures.append(f"{where} products shown={bool(reply.products)}, expected {e.products}")
            if e.handoff is not None:
                key = {(True, True): "tp", (False, True): "fp", (True, False): "fn", (False, False): "tn"}[
                    (e.handoff, reply.handoff)]
                s.handoff[key] += 1
                if key in ("fp", "fn"):
                    s.failures.append(f"{where} handoff expected {e.handoff}, got {reply.handoff}")
    return s
