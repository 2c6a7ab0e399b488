"""Offline intent classification: nearest neighbours over labelled example utterances.

The examples are data (prompts/intents.yaml), so a brand teaches the assistant a new phrasing by
adding a line, not code. A few high-precision rules (an order number, a photo, "remind me") run
first because they are cheaper and never wrong about what the customer wants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import yaml

from assistant.slots import Slots


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class IntentGuess:
    intent: str
    score: float
    source: str  # "rule" | "knn"
    runner_up: str | None = None


_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("handoff", re.compile(r"\b(human|real person|an? (agent|person|representative|advisor|manager|supervisor)|"
                           r"someone real|customer (service|support)|speak to (someone|a person)|"
                           r"talk to (someone|a person)|live (chat|agent)|the manager|your manager|"
                           r"mitarbeiter|menschen|eine person|un humain|une personne|un conseiller|"
                           r"una persona|un humano|un agente|een medewerker)\b", re.I)),
    ("complaint", re.compile(r"\b(unacceptable|ridiculous|furious|outraged|disgusted|disgusting|scam|rip[- ]?off|"
                             r"formal complaint|make a complaint|file a complaint|compensation|charged (me )?twice|"
                             r"worst (service|company|experience)|nobody (answers|cares|helps|replies)|"
                             r"no one (answers|cares|helps|replies)|so angry|really angry|fed up|lawyer|useless)\b", re.I)),
    ("reminder_cancel", re.compile(r"\b(cancel|stop|delete|remove|turn off)\b.*\breminders?\b|\breminders?\b.*\b(cancel|stop|delete|off)\b", re.I)),
    ("reminder_list", re.compile(r"\b(my|which|what|list|show)\b.*\breminders\b|\breminders? (do i have|are set)\b", re.I)),
    ("reminder_set", re.compile(r"\bremind me\b|\b(set|create|add|want|like) (a |an )?(restock |reorder )?reminder\b|"
                                r"\blet me know (before|when) .*\b(runs? out|empty|finish)", re.I)),
)


_WORD = re.compile(r"[a-z']+")
_ABOUT_BOT = re.compile(r"\bare you (a |an )?(bot|robot|human|real person|person|ai|machine)\b", re.I)


def load_examples(path: Path) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {intent: [str(x) for x in items] for intent, items in data.items()}


class IntentClassifier:
    def __init__(self, encoder: Encoder, examples: dict[str, list[str]], k: int = 7) -> None:
        self._encoder = encoder
        self._labels: list[str] = []
        texts: list[str] = []
        for intent, items in examples.items():
            for t in items:
                self._labels.append(intent)
                texts.append(t)
        # the examples are matched against messages: embed them the way messages are embedded
        embed = getattr(encoder, "encode_like_queries", encoder.encode)
        self._matrix = np.asarray(embed(texts), dtype=np.float32)
        self._k = min(k, len(texts))
        self._vocabulary = {w for t in texts for w in _WORD.findall(t.lower())}

    def familiar(self, text: str) -> float:
        """Share of the words that appear anywhere in the examples: near 0 for keyboard mash."""
        words = _WORD.findall(text.lower())
        return sum(w in self._vocabulary for w in words) / len(words) if words else 0.0

    def classify(self, text: str, slots: Slots | None = None, has_photo: bool = False) -> IntentGuess:
        if has_photo:
            return IntentGuess("photo_analysis", 1.0, "rule")
        for intent, rx in _RULES:
            if rx.search(text) and not (intent == "handoff" and _ABOUT_BOT.search(text)):
                return IntentGuess(intent, 1.0, "rule")
        if slots is not None and slots.order_id and not re.search(r"\bremind", text, re.I):
            return IntentGuess("order_status", 1.0, "rule")
        q = np.asarray(self._encoder.encode([text]), dtype=np.float32)[0]
        sims = self._matrix @ q
        top = np.argsort(-sims)[: self._k]
        votes: dict[str, float] = {}
        for i in top:
            votes[self._labels[i]] = votes.get(self._labels[i], 0.0) + float(sims[i]) ** 2
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])
        best = ranked[0][0]
        best_sim = max(float(sims[i]) for i in top if self._labels[i] == best)
        return IntentGuess(best, round(best_sim, 3), "knn", ranked[1][0] if len(ranked) > 1 else None)
