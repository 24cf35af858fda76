"""Keep a problem's hidden numbers out of the study notes the interviewer's model is given.

The notes are generic study material, but some describe the catalogue's own problems with the same
figures the problem hides ("the classic URL shortener creates 100 million short URLs per day ... about
11,600 redirects per second"). Handed to the model as notes, they would leak facts the candidate has
not asked for and the expected value of every estimate (which `MOVE_FIELDS_WITHHELD` keeps out of
the move for the same reason). So before notes reach a voice, every sentence that states a derived
number of the problem, a large value of an unreleased fact, or a number-and-unit phrase of an
unreleased fact's text ("10 years", "100 bytes", "10:1") is removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from app.voice.base import NoteSnippet

if TYPE_CHECKING:
    from app.problems import Problem

REL_TOLERANCE = 0.03
_MULT = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "million": 1e6,
    "b": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "trillion": 1e12,
}
_NUMBER = re.compile(
    r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)(?:\s*\^\s*(\d+))?\s*(thousand|million|billion|trillion|[kmbt](?![a-z]))?",
    re.IGNORECASE,
)
_PHRASE = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?(?:\s*:\s*\d+|\s*%|\s+[a-z][a-z/-]*)", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+(?=\s|$)|\n|$)")


def _values(text: str) -> list[tuple[float, str]]:
    """(value, text after the number) for every number in the text; '100M' -> 1e8, '62^7' -> 3.5e12."""
    out: list[tuple[float, str]] = []
    for m in _NUMBER.finditer(text):
        try:
            value = float(m.group(1).replace(",", ""))
        except ValueError:
            continue
        if m.group(2) and int(m.group(2)) <= 30:
            value = value ** int(m.group(2))
        if m.group(3):
            value *= _MULT[m.group(3).lower()]
        out.append((value, text[m.end() : m.end() + 12].lower()))
    return out


def _close(a: float, b: float) -> bool:
    return b > 0 and abs(a - b) / b <= REL_TOLERANCE


class NoteRedactor:
    """Removes sentences that state what the problem keeps hidden at this point of the interview."""

    def __init__(self, problem: Problem, released_fact_ids: Iterable[str]) -> None:
        released = set(released_fact_ids)
        self.big: list[float] = []
        self.with_unit: list[tuple[float, str]] = []
        self.phrases: list[re.Pattern[str]] = []
        for n in problem.numbers:
            if n.value >= 1000:
                self.big.append(n.value)
            else:
                self.with_unit.append((n.value, n.unit.lower().split("/")[0].strip()))
        for f in problem.hidden_facts:
            if f.id in released:
                continue
            self.big += [v for v in f.values.values() if v >= 1000]
            for m in _PHRASE.finditer(f.fact):
                phrase = re.sub(r"\s+", " ", m.group(0).lower()).rstrip(".,;")
                if re.search(r"[a-z]", phrase) and phrase.split()[-1] in {
                    "a",
                    "an",
                    "the",
                    "of",
                    "and",
                    "or",
                }:
                    continue
                self.phrases.append(re.compile(rf"(?<![\w.,]){re.escape(phrase)}(?!\w)", re.IGNORECASE))

    def leaks(self, sentence: str) -> bool:
        """True when the sentence states a hidden number."""
        for value, after in _values(sentence):
            if any(_close(value, v) for v in self.big):
                return True
            if any(_close(value, v) and after.strip().startswith(unit) for v, unit in self.with_unit if unit):
                return True
        return any(p.search(sentence) for p in self.phrases)

    def redact(self, text: str) -> str:
        kept = [s for s in _SENTENCE.findall(text) if s.strip() and not self.leaks(s)]
        return re.sub(r"[ \t]+", " ", "".join(kept)).strip()

    def notes(self, snippets: list[NoteSnippet]) -> list[NoteSnippet]:
        """The snippets with leaking sentences removed; a snippet left empty is dropped."""
        out: list[NoteSnippet] = []
        for s in snippets:
            if self.leaks(s.heading):
                continue
            text = self.redact(s.text)
            if text:
                out.append(s.model_copy(update={"text": text}))
        return out


def redact_notes(
    snippets: list[NoteSnippet], problem: Problem, released_fact_ids: Iterable[str]
) -> list[NoteSnippet]:
    """`snippets` without the sentences that would leak hidden numbers (see the module docstring)."""
    if not snippets:
        return snippets
    return NoteRedactor(problem, released_fact_ids).notes(snippets)
