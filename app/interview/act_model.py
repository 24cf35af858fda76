"""The act model: features of a message, and one logistic regression per act over them.

The weights are fitted on the tune split of evals/reader/ plus the exemplar bank by
`sdmock eval --reader --calibrate` (app/evals/reader_calibration.py) and stored in
knowledge/reader/act_model.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.interview.classify import (
    _DESIGN_VERBS,
    _META_ASK,
    _MOVE_ON,
    _SCORE,
    _SKIP,
    _is_requirement_question,
    _norm,
    _target_phase,
)
from app.interview.reader_rules import (
    _ASSUME,
    _CODE,
    _DISAGREE,
    _DONT_KNOW,
    _GRADER,
    _HINT,
    _MOVE_ON_EXTRA,
    _OFF_MARKER,
    _OFF_TOPIC_HINT,
    _OPINION,
    _PROCESS,
    _strip_filler,
)
from app.interview.reading import Act

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from app.problems import Problem

KNOWLEDGE_DIR = Path(__file__).resolve().parents[2] / "knowledge"


FEATURE_NAMES: list[str] = (
    [f"q_{a.value}" for a in Act]
    + [f"s_{a.value}" for a in Act]
    + [
        "any_question", "all_questions", "clauses", "facts", "fact_best", "asks_all", "meta_ask", "hint",
        "opinion", "process", "dont_know", "disagree", "move_on", "move_on_extra", "target_phase", "skip",
        "score", "grader", "assume", "design_verbs", "components", "topics", "estimates", "off_topic_hint",
        "off_marker", "requirement_question", "code", "log_words", "rhetorical", "question_mark",
    ]
)  # fmt: skip
"""The features the act model scores, in order (stored with the trained weights)."""


def act_features(
    parts: list[str],
    is_q: list[bool],
    act_scores: dict[str, NDArray[np.float32]],
    *,
    facts: bool,
    fact_best: float,
    asks_all: bool,
    estimates: bool,
    components: bool,
    topics: bool,
    problem: Problem | None,
    rhetorical: bool = False,
) -> NDArray[np.float64]:
    """One feature vector for a message (see FEATURE_NAMES)."""
    q_idx = [i for i, q in enumerate(is_q) if q]
    s_idx = [i for i, q in enumerate(is_q) if not q]
    row: list[float] = []
    for idx in (q_idx, s_idx):
        for a in Act:
            col = act_scores.get(a.value)
            row.append(float(max((col[i] for i in idx), default=0.0)) if col is not None and idx else 0.0)
    text = " ".join(parts)
    low = _norm(text)
    statements = " ".join(_norm(parts[i]) for i in s_idx)
    questions = [_strip_filler(parts[i]) for i in q_idx]

    def f(flag: object) -> float:
        return 1.0 if flag else 0.0

    row += [
        f(q_idx),
        f(q_idx and not s_idx),
        min(len(parts), 6) / 6.0,
        f(facts),
        fact_best,
        f(asks_all),
        f(_META_ASK.search(low)),
        f(_HINT.search(low)),
        f(_OPINION.search(low)),
        f(_PROCESS.search(low)),
        f(_DONT_KNOW.search(low)),
        f(_DISAGREE.search(low)),
        f(_MOVE_ON.search(low)),
        f(_MOVE_ON_EXTRA.search(low)),
        f(_target_phase(low) is not None),
        f(_SKIP.search(low)),
        f(_SCORE.search(low)),
        f(_GRADER.search(low)),
        f(_ASSUME.search(statements or "")),
        f(_DESIGN_VERBS.search(statements or "")),
        f(components),
        f(topics),
        f(estimates),
        f(_OFF_TOPIC_HINT.search(low)),
        f(_OFF_MARKER.search(low)),
        f(any(_is_requirement_question(q) for q in questions)),
        f(_CODE.search(low)),
        math.log1p(len(low.split())) / 5.0,
        f(rhetorical),
        f("?" in text),
    ]
    return np.asarray(row, dtype=np.float64)


class ActModel:
    """One logistic regression per act over `act_features`; weights in knowledge/reader/act_model.json."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data or {}
        self.features: list[str] = list(data.get("features") or FEATURE_NAMES)
        n = len(self.features)
        self.mean = np.asarray(data.get("mean") or [0.0] * n, dtype=np.float64)
        self.std = np.asarray(data.get("std") or [1.0] * n, dtype=np.float64)
        self.weights = {a: np.asarray(w, dtype=np.float64) for a, w in (data.get("weights") or {}).items()}
        self.bias = {a: float(b) for a, b in (data.get("bias") or {}).items()}
        self.threshold = float(data.get("threshold", 0.5))
        self.trained = bool(self.weights) and self.features == FEATURE_NAMES

    @classmethod
    def load(cls, path: Path | None = None) -> ActModel:
        path = path or KNOWLEDGE_DIR / "reader" / "act_model.json"
        if not path.is_file():
            return cls()
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def probabilities(self, x: NDArray[np.float64]) -> dict[Act, float]:
        if not self.trained:
            return self._untrained(x)
        z = (x - self.mean) / self.std
        out: dict[Act, float] = {}
        for a in Act:
            w = self.weights.get(a.value)
            if w is None:
                continue
            out[a] = float(1.0 / (1.0 + math.exp(-float(z @ w + self.bias.get(a.value, 0.0)))))
        return out

    def _untrained(self, x: NDArray[np.float64]) -> dict[Act, float]:
        """Without trained weights: the best similarity per act, questions and statements alike."""
        n = len(Act)
        return {a: float(max(x[i], x[n + i])) for i, a in enumerate(Act)}

    def predict(self, x: NDArray[np.float64]) -> set[Act]:
        probs = self.probabilities(x)
        cut = self.threshold if self.trained else 0.8
        return {a for a, p in probs.items() if p >= cut}

    def best(self, x: NDArray[np.float64]) -> Act:
        probs = self.probabilities(x)
        probs.pop(Act.EMPTY, None)
        probs.pop(Act.ESTIMATE, None)
        return max(probs, key=lambda a: probs[a]) if probs else Act.OFF_TOPIC
