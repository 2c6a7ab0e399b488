"""Spelling correction against the words the index contains.

Customers type "exfoilate", "retrun", "sunscrean". Keyword search finds nothing for such words and
the embedding model sees unknown word pieces. A word is left alone when it is known: a corpus word,
a whole word of the embedding model's vocabulary (about 22,000 common English words, shipped with
the model, no download), or one of those plus a plural or past-tense ending. An unknown word becomes the
most frequent corpus word within one edit (Damerau-Levenshtein: a swapped pair of letters is one
edit), two edits from eight letters on. Words under five letters are never touched: "oops" would
become "mops" far more often than a short typo gets fixed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from retrieval.text import STOPWORDS, normalise

_WORDS = re.compile(r"[a-z]+")
_HYPHENATED = re.compile(r"[a-z]+(?:-[a-z]+)+")
_ENDINGS = ("s", "es", "ed", "d")
_MIN_LEN = 5


class SpellingCorrector:
    def __init__(self, texts: Iterable[str], *, dictionary: Iterable[str] = (), min_count: int = 2) -> None:
        counts: Counter[str] = Counter()
        for text in texts:
            folded = normalise(text)
            counts.update(_WORDS.findall(folded))
            counts.update(w.replace("-", "") for w in _HYPHENATED.findall(folded))
        self._known = set(counts) | {w for w in dictionary if w.isalpha()}
        #: Candidates: corpus words seen at least `min_count` times, so a typo in a document does not spread.
        self._counts = {w: c for w, c in counts.items() if c >= min_count and len(w) >= _MIN_LEN - 1}
        self._by_length: dict[int, list[str]] = {}
        for w in self._counts:
            self._by_length.setdefault(len(w), []).append(w)

    def known(self, word: str) -> bool:
        """Known as is, or as a known word plus a plural or past-tense ending ("bleached")."""
        return word in self._known or any(
            word.endswith(end) and word[:-len(end)] in self._known for end in _ENDINGS)

    def word(self, word: str) -> str:
        """The corrected word, or the word itself when it is known, short or has no close match."""
        if len(word) < _MIN_LEN or word in STOPWORDS or self.known(word):
            return word
        edits = 1 if len(word) < 8 else 2
        candidates = [w for n in range(len(word) - edits, len(word) + edits + 1) for w in self._by_length.get(n, [])]
        matches = process.extract(word, candidates, scorer=DamerauLevenshtein.distance,
                                  score_cutoff=edits, limit=None)
        if not matches:
            return word
        best = min(matches, key=lambda m: (m[1], -self._counts[m[0]], m[0]))
        return best[0]

    def correct(self, query: str) -> str:
        """The query with unknown words replaced; everything else (case, punctuation) kept."""
        def fix(m: re.Match[str]) -> str:
            original = m.group(0)
            folded = normalise(original)
            if not folded.isalpha():
                return original
            fixed = self.word(folded)
            return original if fixed == folded else fixed

        return re.sub(r"[^\W\d_]+", fix, query)
