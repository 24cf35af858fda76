"""Calibrate the offline reader on the tune split of the reader evals (never on the held-out split).

Two things are fitted, both written under knowledge/reader/ and committed:

- `act_model.json`: one L2-regularised logistic regression per act over `act_features`. Training
  rows are the tune messages plus every sentence of the exemplar bank (knowledge/reader/acts.yaml);
  an exemplar's own similarity features are computed without itself (five folds), so the model
  does not learn that an exemplar matches itself.
- `thresholds.yaml`: the fact thresholds (similarity, margin, cue bonus), chosen from a grid as the
  highest fact recall on the tune split whose precision is at least 0.97 and whose leak rate is at
  most 1%.

`sdmock eval --reader --calibrate` runs both, then the eval.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from app.evals.reader import LabelledMessage, load_messages, score
from app.interview.act_model import FEATURE_NAMES, ActModel, act_features
from app.interview.offline_reader import KNOWLEDGE_DIR, OfflineReader, Thresholds, _Bank
from app.interview.phases import Phase
from app.interview.reader_rules import _is_question_clause
from app.interview.reading import ACTS, Act
from app.problems import load_problems

EXEMPLAR_WEIGHT = 0.35
"""Weight of a bank exemplar as a training row, next to a real message's 1.0."""
L2 = 0.02
STEPS = 600


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_logistic(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = L2, steps: int = STEPS
) -> tuple[np.ndarray, float]:
    """Weighted logistic regression by full-batch gradient descent with momentum."""
    coef = np.zeros(x.shape[1])
    bias = 0.0
    vel = np.zeros_like(coef)
    vb = 0.0
    lr = 0.5
    total = w.sum()
    for _ in range(steps):
        p = _sigmoid(x @ coef + bias)
        g = (w * (p - y)) @ x / total + l2 * coef
        gb = float((w * (p - y)).sum() / total)
        vel = 0.9 * vel - lr * g
        vb = 0.9 * vb - lr * gb
        coef += vel
        bias += vb
    return coef, bias


def _rows_for_messages(
    reader: OfflineReader, messages: list[LabelledMessage]
) -> tuple[list[np.ndarray], list[set[str]]]:
    problems = load_problems()
    xs: list[np.ndarray] = []
    ys: list[set[str]] = []
    for m in messages:
        reading = reader.read(m.text, problems[m.problem], Phase(m.phase))
        if reading.acts == [Act.EMPTY]:
            continue  # decided by rule before any feature is computed
        xs.append(reader.last_features.copy())
        ys.append(set(m.acts))
    return xs, ys


def _rows_for_bank(reader: OfflineReader) -> tuple[list[np.ndarray], list[set[str]]]:
    bank = reader.acts_bank()
    n = len(bank.labels)
    folds = np.arange(n) % 5
    xs: list[np.ndarray] = []
    ys: list[set[str]] = []
    for k in range(5):
        keep = folds != k
        sub = _Bank([lab for lab, f in zip(bank.labels, keep, strict=True) if f], [], bank.vectors[keep])
        held = np.where(~keep)[0]
        scores = sub.scores(bank.vectors[held], top=3)
        for j, row in enumerate(held):
            label = bank.labels[row]
            if label in (Act.EMPTY.value,):
                continue
            text = bank.texts[row]
            q = _is_question_clause(text)
            per = {a: np.asarray([scores[a][j]]) for a in scores}
            xs.append(
                act_features(
                    [text],
                    [q],
                    per,
                    facts=False,
                    fact_best=0.0,
                    asks_all=False,
                    estimates=label == Act.ESTIMATE.value,
                    components=False,
                    topics=False,
                    problem=None,
                )
            )
            ys.append({label})
    return xs, ys


def train_act_model(reader: OfflineReader, tune: list[LabelledMessage]) -> dict[str, Any]:
    """Fit the per-act models; returns the JSON-able model."""
    mx, my = _rows_for_messages(reader, tune)
    bx, by = _rows_for_bank(reader)
    x = np.vstack(mx + bx)
    weights = np.asarray([1.0] * len(mx) + [EXEMPLAR_WEIGHT] * len(bx))
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-6] = 1.0
    z = (x - mean) / std
    model: dict[str, Any] = {
        "features": FEATURE_NAMES,
        "mean": mean.round(6).tolist(),
        "std": std.round(6).tolist(),
        "weights": {},
        "bias": {},
        "threshold": 0.5,
        "trained_on": f"{len(mx)} tune messages + {len(bx)} bank exemplars (weight {EXEMPLAR_WEIGHT})",
    }
    labels = my + by
    for act in ACTS:
        if act in (Act.EMPTY.value, Act.ESTIMATE.value):
            continue  # decided by rules (gibberish; numbers found)
        y = np.asarray([1.0 if act in s else 0.0 for s in labels])
        if y.sum() == 0:
            continue
        coef, bias = fit_logistic(z, y, weights)
        model["weights"][act] = coef.round(5).tolist()
        model["bias"][act] = round(bias, 5)
    return model


FACT_GRID = {
    "fact": [0.55, 0.6, 0.65, 0.7],
    "fact_margin": [0.18, 0.22, 0.26, 0.3, 0.34],
    "fact_cue_bonus": [0.0],
    "fact_lexical": [0.5, 0.7, 0.9],
    "clarify_floor": [0.3],
}


def tune_fact_thresholds(
    reader: OfflineReader,
    tune: list[LabelledMessage],
    base: Thresholds,
    progress_grid: Callable[[str], None] | None = None,
) -> tuple[Thresholds, dict[str, Any]]:
    """The grid point with the best fact recall at precision >= 0.97 and leak rate <= 1% on tune."""
    problems = load_problems()
    best: tuple[tuple[float, float], Thresholds, dict[str, Any]] | None = None
    for fact, margin, bonus, lexical, floor in itertools.product(*FACT_GRID.values()):
        th = Thresholds(
            **{
                **base.__dict__,
                "fact": fact,
                "fact_margin": margin,
                "fact_cue_bonus": bonus,
                "fact_lexical": lexical,
                "clarify_floor": floor,
            }
        )
        reader.thresholds = th
        pairs = [(m, reader.read(m.text, problems[m.problem], Phase(m.phase))) for m in tune]
        metrics, _ = score(pairs)
        p, r, leak = (
            metrics["fact_precision"] or 0.0,
            metrics["fact_recall"] or 0.0,
            metrics["leak_rate"] or 0.0,
        )
        ok = p >= 0.97 and leak <= 0.01
        if progress_grid is not None:
            progress_grid(
                f"fact {fact} margin {margin} bonus {bonus} lex {lexical} floor {floor}: "
                f"P {p:.3f} R {r:.3f} leak {leak:.3f}"
            )
        key = (1.0 if ok else 0.0, r if ok else p)
        if best is None or key > best[0]:
            best = (key, th, {"precision": p, "recall": r, "leak_rate": leak})
    assert best is not None
    reader.thresholds = best[1]
    return best[1], best[2]


def calibrate(
    progress: Callable[[str], None] | None = None, knowledge_dir: Path = KNOWLEDGE_DIR
) -> dict[str, Any]:
    """Fit the act model and the fact thresholds on the tune split; write both files.

    The act model is fitted first (facts then only feed it as features), the fact thresholds are
    chosen with it in place (it vetoes facts in messages that do not read as questions), and the act
    model is fitted again on the final thresholds.
    """
    tune = [m for m in load_messages() if m.split == "tune"]
    folder = knowledge_dir / "reader"
    say = progress or (lambda _msg: None)
    reader = OfflineReader(act_model_path=Path("/nonexistent"))
    say(f"fitting the act model on {len(tune)} tune messages")
    reader.act_model = ActModel(train_act_model(reader, tune))
    say("choosing the fact thresholds")
    th, fact_metrics = tune_fact_thresholds(reader, tune, reader.thresholds)
    say("refitting the act model")
    reader.thresholds = th
    model = train_act_model(reader, tune)
    (folder / "act_model.json").write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    data = {
        k: v
        for k, v in th.__dict__.items()
        if k
        in (
            "fact",
            "fact_margin",
            "fact_cue_bonus",
            "fact_lexical",
            "clarify_floor",
            "pitfall",
            "pitfall_margin",
            "number_label",
        )
    }
    header = (
        "# Offline reader thresholds, calibrated on the tune split of evals/reader/ by\n"
        "# `sdmock eval --reader --calibrate` (the held-out split is never used).\n"
    )
    (folder / "thresholds.yaml").write_text(header + yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    return {"facts_on_tune": fact_metrics, "act_model": model["trained_on"], "thresholds": data}
