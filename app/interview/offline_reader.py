"""The offline reader: a Reading of a candidate message with no model, from sentence embeddings.

How a message is read:

1. It is split into clauses: sentences, and run-on questions split where a new question starts
   ("is it 1:1 or groups how big can a group get and do we keep history" -> three clauses).
   Every clause is embedded once with the int8 MiniLM encoder the retrieval index uses.
2. Each clause is a question or a statement (`is_question`, plus confirmation tags, filler
   prefixes, code with `?` placeholders and rhetorical questions the candidate answers).
3. Facts: a question clause asks for a fact when its similarity to the fact's example questions
   (`asks:` in the problem file) passes a threshold and beats every other fact by a margin; the fact's
   cue words add a bonus. Statements never ask for anything, so they never release a fact.
4. Acts: each clause is compared with the exemplar bank in `knowledge/reader/acts.yaml`
   (nearest neighbours per act); precise text rules (skip and score requests, injections, move-on
   phrases, assumptions, "I don't know") are features next to the similarities.
5. Estimates: numbers parsed by the text rules (including "2.3 x 10^4" and numbers said as words),
   sorted into totals, per-item sizes, projections and other quantities; only an estimate of a
   quantity the problem derives is tied to that number.
6. Pitfalls: a statement close to a pitfall's example statements, and closer to them than to its
   counter-examples.

Thresholds live in `knowledge/reader/thresholds.yaml`; they were calibrated on the tune split of
`evals/reader/` (`sdmock eval --reader --calibrate` prints a grid; the held-out split is never used).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from app.interview.act_model import (
    ActModel,
    act_features,
)
from app.interview.classify import (
    _ASK_ALL,
    _META_ASK,
    Estimate,
    _asks_fact,
    _daily_storage_stem,
    _is_unclear,
    _norm,
    _restates_a_fact,
    _target_phase,
    find_estimates,
    is_gibberish,
    match_components,
    match_number,
    match_topics,
    unit_family,
)
from app.interview.phases import Phase
from app.interview.reader_rules import (
    _ANSWER_START,
    _ASSUMED_INPUT,
    _CODE,
    _CONFIRM,
    _COUNT_AFTER,
    _DONT_KNOW,
    _EACH_AFTER,
    _FILLER_ONLY,
    _FLEET_UNITS,
    _GRADER,
    _HINT,
    _INPUT_UNITS,
    _OPERATOR_NEXT,
    _OPINION,
    _OTHER_AFTER,
    _OTHER_QTY,
    _PEAK,
    _PER_ITEM_CONTEXT,
    _PER_THING,
    _PERIOD_AFTER,
    _PREVIOUS_PER,
    _PROCESS,
    _PROJECTION,
    _RESULT_WORDS,
    _RHETORICAL_ANSWER,
    _STORAGE_AFTER,
    _as_written,
    _fragments,
    _is_question_clause,
    _needs_peak,
    _restates_value,
    _since_last_number,
    _stems,
    _strip_filler,
    _unit_noun,
    _window,
    clauses,
    normalise_numbers,
)
from app.interview.reading import Act, EstimateKind, Reading

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from app.problems import Problem

KNOWLEDGE_DIR = Path(__file__).resolve().parents[2] / "knowledge"


# --------------------------------------------------------------------------------------------------
# thresholds


@dataclass
class Thresholds:
    """Decision thresholds of the offline reader (cosine similarities unless said otherwise)."""

    fact: float = 0.55  # a question's best fact similarity must reach this ...
    fact_margin: float = 0.04  # ... and beat the next fact by this much
    fact_cue_bonus: float = 0.08  # added to a fact's similarity when its cue word is in the question
    fact_lexical: float = 0.4  # weight of the shared content words (idf) added to a fact's similarity
    clarify_floor: float = 0.3  # facts are dropped when the act model gives `clarify` less than this
    pitfall: float = 0.66  # a statement's similarity to a pitfall's examples ...
    pitfall_margin: float = 0.03  # ... minus its similarity to the counter-examples
    number_label: float = 0.45  # a non-total quantity is tied to a derived number only above this


def load_thresholds(path: Path | None = None) -> Thresholds:
    """Thresholds from `knowledge/reader/thresholds.yaml`; defaults for anything missing."""
    path = path or KNOWLEDGE_DIR / "reader" / "thresholds.yaml"
    if not path.is_file():
        return Thresholds()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = {k: v for k, v in data.items() if k in Thresholds.__dataclass_fields__}
    return Thresholds(**known)


# --------------------------------------------------------------------------------------------------
# embeddings


class _Embedder:
    """Sentence vectors with a per-process cache (the same clause is embedded once)."""

    def __init__(self, encoder: Any | None = None) -> None:
        self._encoder = encoder
        self._cache: dict[str, NDArray[np.float32]] = {}
        self._lock = threading.Lock()

    @property
    def encoder(self) -> Any:
        if self._encoder is None:
            from app.retrieval.embeddings import get_encoder

            self._encoder = get_encoder()
        return self._encoder

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        keys = [t.strip().lower() or " " for t in texts]
        with self._lock:
            missing = sorted({k for k in keys if k not in self._cache})
        if missing:
            vectors = self.encoder.encode(missing)
            with self._lock:
                if len(self._cache) > 50_000:
                    self._cache.clear()
                for k, v in zip(missing, vectors, strict=True):
                    self._cache[k] = v
        with self._lock:
            return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)


@dataclass
class _Bank:
    """Example sentences with a label each, embedded."""

    labels: list[str]
    texts: list[str]
    vectors: NDArray[np.float32]

    def scores(self, queries: NDArray[np.float32], top: int = 1) -> dict[str, NDArray[np.float32]]:
        """Per label, the mean of its `top` best similarities for each query row."""
        if not self.labels:
            return {}
        sims = queries @ self.vectors.T  # [q, n]
        out: dict[str, NDArray[np.float32]] = {}
        labels = np.asarray(self.labels)
        for label in dict.fromkeys(self.labels):
            cols = sims[:, labels == label]
            k = min(top, cols.shape[1])
            best = -np.sort(-cols, axis=1)[:, :k]
            out[label] = best.mean(axis=1)
        return out


def _bank(embedder: _Embedder, pairs: list[tuple[str, str]]) -> _Bank:
    labels = [p[0] for p in pairs]
    texts = [p[1] for p in pairs]
    vectors = embedder.embed(texts) if texts else np.zeros((0, 384), np.float32)
    return _Bank(labels, texts, vectors)


@dataclass
class _ProblemIndex:
    facts: _Bank
    pitfalls: _Bank
    counters: _Bank
    numbers: _Bank
    fact_words: dict[str, dict[str, float]] = field(default_factory=dict)  # fact id -> stem -> idf


def _fact_words(problem: Problem) -> dict[str, dict[str, float]]:
    """Content-word stems of each fact's questions, cues and text, weighted by rarity across facts."""
    bags = {
        f.id: set().union(*(_stems(t) for t in [*f.asks, *f.asked_by, f.fact])) for f in problem.hidden_facts
    }
    n = len(bags)
    df: dict[str, int] = {}
    for bag in bags.values():
        for w in bag:
            df[w] = df.get(w, 0) + 1
    return {fid: {w: math.log(1 + n / df[w]) for w in bag} for fid, bag in bags.items()}


def lexical_fact_score(clause: str, words: dict[str, float]) -> float:
    """Share of the clause's content words (idf-weighted) that the fact's vocabulary contains."""
    stems = _stems(clause)
    if not stems:
        return 0.0
    hit = sum(words.get(w, 0.0) for w in stems)
    top = max(words.values(), default=1.0)
    return hit / (top * max(len(stems), 2))


CLIP_WORDS = 40
"""Words of a clause that are embedded: a rambling clause says what it is about early on, and the
encoder's cost grows with the longest text of the batch."""


def _clip(text: str) -> str:
    words = text.split()
    return text if len(words) <= CLIP_WORDS else " ".join(words[:CLIP_WORDS])


def _fact_examples(problem: Problem) -> list[tuple[str, str]]:
    """Per fact: its example questions, its cue words as short questions, and the fact itself."""
    pairs: list[tuple[str, str]] = []
    for f in problem.hidden_facts:
        pairs.extend((f.id, a) for a in f.asks)
        pairs.extend((f.id, f"what about {c}?") for c in f.asked_by[:4])
        pairs.append((f.id, f.fact))
    return pairs


def _problem_key(problem: Problem) -> str:
    return hashlib.sha256(problem.model_dump_json().encode()).hexdigest()


# --------------------------------------------------------------------------------------------------
# the reader


_META_OWN = re.compile(
    r"\b(?:you were (?:told|given)|(?:are|were) you (?:checking|comparing|looking|using)|checking against|"
    r"your (?:numbers|figures|answers?|notes|sheet|expected|reference|solution)|the (?:answer|solution) "
    r"(?:is|you)|what (?:do|did) you have (?:written|down))\b"
)
"""A question about the interviewer's own material asks for no requirement, whatever it names."""


class OfflineReader:
    """Reads candidate messages with sentence embeddings and precise text rules; no model."""

    name = "offline"

    def __init__(
        self,
        encoder: Any | None = None,
        thresholds: Thresholds | None = None,
        acts_path: Path | None = None,
        act_model_path: Path | None = None,
    ) -> None:
        self.thresholds = thresholds or load_thresholds()
        self._embedder = _Embedder(encoder)
        self._acts_path = acts_path or KNOWLEDGE_DIR / "reader" / "acts.yaml"
        self._acts: _Bank | None = None
        self.act_model = ActModel.load(act_model_path)
        self._problems: dict[str, _ProblemIndex] = {}
        self._lock = threading.Lock()

    # -- banks -----------------------------------------------------------------------------------

    def acts_bank(self) -> _Bank:
        if self._acts is None:
            data = (
                yaml.safe_load(self._acts_path.read_text(encoding="utf-8"))
                if self._acts_path.is_file()
                else {}
            )
            pairs = [
                (act, text)
                for act, texts in ((data or {}).get("acts") or {}).items()
                if act in Act.__members__.values() or act in {a.value for a in Act}
                for text in texts or []
                if isinstance(text, str) and text.strip()
            ]
            self._acts = _bank(self._embedder, pairs)
        return self._acts

    def problem_index(self, problem: Problem) -> _ProblemIndex:
        key = _problem_key(problem)
        with self._lock:
            found = self._problems.get(key)
        if found is not None:
            return found
        index = _ProblemIndex(
            facts=_bank(self._embedder, _fact_examples(problem)),
            pitfalls=_bank(self._embedder, [(p.id, e) for p in problem.pitfalls for e in p.examples]),
            counters=_bank(self._embedder, [(p.id, e) for p in problem.pitfalls for e in p.counter_examples]),
            numbers=_bank(self._embedder, [(n.id, n.label) for n in problem.numbers]),
            fact_words=_fact_words(problem),
        )
        with self._lock:
            self._problems[key] = index
        return index

    def warm(self, problem: Problem | None = None) -> None:
        """Embed the banks now (the first read otherwise pays for it)."""
        self.acts_bank()
        if problem is not None:
            self.problem_index(problem)

    # -- reading ---------------------------------------------------------------------------------

    def read(self, text: str, problem: Problem, phase: Phase = Phase.SCOPE) -> Reading:
        """The Reading of one message, read on its own in `phase`."""
        text = text if isinstance(text, str) else ""
        if _DONT_KNOW.fullmatch(_norm(text).strip(" .!?")):
            return Reading(text=text, acts=[Act.DONT_KNOW], reader=self.name)  # "idk", "no idea"
        has_digit = bool(re.search(r"\d", text))
        if (is_gibberish(text) and not has_digit) or _is_unclear(text) or _FILLER_ONLY.fullmatch(_norm(text)):
            return Reading(text=text, acts=[Act.EMPTY], reader=self.name)
        norm = _norm(text)
        parts = clauses(text[:6000])
        if not parts:
            return Reading(text=text, acts=[Act.EMPTY], reader=self.name)
        th = self.thresholds
        index = self.problem_index(problem)

        # questions: real questions, not code, not answered by the candidate in the next clause
        is_q = [_is_question_clause(p) and not _CODE.search(p.lower()) for p in parts]
        rhetorical = False
        for i in range(len(parts) - 1):
            nxt = _strip_filler(parts[i + 1]) or _norm(parts[i + 1])
            raw_next = _norm(parts[i + 1])
            confirming = bool(_CONFIRM.search(_norm(parts[i])))
            answered = any(_ANSWER_START.match(t) or _RHETORICAL_ANSWER.match(t) for t in (nxt, raw_next))
            if is_q[i] and not confirming and not _is_question_clause(parts[i + 1]) and answered:
                is_q[i] = False
                rhetorical = True
        questions = [p for p, q in zip(parts, is_q, strict=True) if q]
        # one encoder call for the message: every clause, and the pieces of every question clause
        fragments_of = {i: _fragments(p) for i, p in enumerate(parts) if is_q[i]}
        extra = [f for frs in fragments_of.values() for f in frs]
        numbers = self._found_numbers(text)
        all_vectors = self._embedder.embed([_clip(_strip_filler(p) or p) for p in parts] + extra)
        vectors = all_vectors[: len(parts)]

        acts: set[Act] = set()
        act_scores = self.acts_bank().scores(vectors, top=3)

        # facts: each question clause, and each comma/and/or piece of it, asks for its best fact when
        # that fact scores above the threshold and beats every other fact by the margin
        facts: list[str] = []
        asks_all = False
        fact_scores = index.facts.scores(vectors, top=2)
        pieces: list[tuple[int, str]] = []
        for i, part in enumerate(parts):
            if not is_q[i]:
                continue
            low = _norm(part)
            if (
                _META_ASK.search(low)
                or _META_OWN.search(low)
                or _PROCESS.search(low)
                or _HINT.search(low)
                or _OPINION.search(low)
            ):
                continue  # a question about the interview itself asks for no requirement
            if _ASK_ALL.search(low):
                # a blanket request asks for nothing specific: only what is left of the clause counts
                asks_all = True
                rest = re.sub(r"\s+", " ", _ASK_ALL.sub(" ", low)).strip()
                if len(_stems(rest)) >= 2:
                    pieces.append((-1, rest))
                continue
            pieces.append((i, part))
            pieces.extend((-1, frag) for frag in fragments_of.get(i, []))
        frag_texts = [f for i, f in pieces if i < 0]
        known = dict(zip(extra, all_vectors[len(parts) : len(parts) + len(extra)], strict=True))
        frag_vectors = (
            np.stack([known[f] if f in known else self._embedder.embed([f])[0] for f in frag_texts])
            if frag_texts
            else None
        )
        frag_scores = index.facts.scores(frag_vectors, top=2) if frag_vectors is not None else {}
        k = 0
        for i, piece in pieces:
            if i >= 0:
                sims = {f: float(v[i]) for f, v in fact_scores.items()}
            else:
                sims = {f: float(v[k]) for f, v in frag_scores.items()}
                k += 1
            low = _norm(piece)
            ranked = sorted(
                (
                    (
                        sims[f.id]
                        + th.fact_lexical * lexical_fact_score(piece, index.fact_words.get(f.id, {}))
                        + (th.fact_cue_bonus if th.fact_cue_bonus and _asks_fact(low, f.asked_by) else 0.0),
                        f.id,
                    )
                    for f in problem.hidden_facts
                    if f.id in sims
                ),
                reverse=True,
            )
            if not ranked:
                continue
            best, best_id = ranked[0]
            runner = ranked[1][0] if len(ranked) > 1 else 0.0
            if best >= th.fact and best - runner >= th.fact_margin and best_id not in facts:
                facts.append(best_id)

        # acts: features of the message (similarities per act, text rules), scored by a linear
        # model per act calibrated on the tune split (knowledge/reader/act_model.json)
        estimates = self._estimates(text, problem, index, numbers)
        components = match_components(text, problem)
        topics = match_topics(text, problem)
        fact_best = max(
            (float(v[i]) for v in fact_scores.values() for i in range(len(parts)) if is_q[i]), default=0.0
        )
        feats = act_features(
            parts,
            is_q,
            act_scores,
            facts=bool(facts),
            fact_best=fact_best,
            asks_all=asks_all,
            estimates=bool(estimates),
            components=bool(components),
            topics=bool(topics),
            problem=problem,
            rhetorical=rhetorical,
        )
        self.last_features = feats
        acts |= self.act_model.predict(feats)
        if _GRADER.search(norm):
            acts.add(Act.ADDRESS_GRADER)  # a precise rule: text aimed at a grader or an AI is never missed
        # a fact is released only when the message reads as a question about requirements: a hint
        # request or a design remark that happens to resemble a fact's question asks for nothing
        if (
            facts
            and Act.CLARIFY not in acts
            and self.act_model.trained
            and self.act_model.probabilities(feats).get(Act.CLARIFY, 1.0) < th.clarify_floor
        ):
            facts = []
        if facts:
            acts.add(Act.CLARIFY)
        if estimates:
            acts.add(Act.ESTIMATE)
        else:
            acts.discard(Act.ESTIMATE)
        acts.discard(Act.EMPTY)
        if not acts:
            acts.add(self.act_model.best(feats))
        if Act.OFF_TOPIC in acts and (facts or estimates or components):
            acts.discard(Act.OFF_TOPIC)

        pitfalls = self._pitfalls(parts, is_q, vectors, index)
        target = _target_phase(norm)
        return Reading(
            text=text,
            acts=[a for a in Act if a in acts],
            facts=facts,
            estimates=estimates,
            components=components,
            topics=topics,
            pitfalls=pitfalls,
            questions=questions,
            asks_all=asks_all,
            target_phase=list(Phase)[target].value if target is not None and target < len(Phase) else None,
            reader=self.name,
        )

    # -- estimates -------------------------------------------------------------------------------

    def _found_numbers(self, text: str) -> list[Estimate]:
        """Every number of the message with its unit, as written (numbers in words read as digits)."""
        rewritten = normalise_numbers(text)
        found = find_estimates(rewritten, keep_per_item=True)
        if rewritten != text:
            found = [_as_written(e, text, rewritten) for e in found]
        return found

    def _estimates(
        self, text: str, problem: Problem, index: _ProblemIndex, found: list[Estimate] | None = None
    ) -> list[Estimate]:
        if found is None:
            found = self._found_numbers(text)
        out: list[Estimate] = []
        for est in found:
            pos = est.sentence.find(est.raw)
            before = est.sentence[: max(0, pos)]
            after = est.sentence[pos + len(est.raw) :] if pos >= 0 else ""
            if est.unit is None:
                m = _COUNT_AFTER.match(after.lower())
                if m:  # "100 chat servers": a count of the noun a word or two later
                    est = est.model_copy(update={"unit": m.group(1)})
            family = est.family
            if family == "percent" or (
                family == "duration" and not any(unit_family(n.unit) == "duration" for n in problem.numbers)
            ):
                continue
            if est.unit in {"characters", "chars", "character", "char", "digits", "bits", "x", "times"}:
                continue
            if est.unit in _INPUT_UNITS or _OPERATOR_NEXT.match(after):
                continue  # a user count is an input; "100M searches * 20%" is an operand
            derived = any(math.isclose(est.value, n.value, rel_tol=0.01) for n in problem.numbers)
            if (_restates_a_fact(est, problem) and not derived) or _restates_value(est, problem):
                continue
            if family is None and est.value in {24, 60, 365, 1000, 1024, 3600, 86400, 62, 64, 36, 10, 100}:
                continue  # a unit constant or a round parameter, not a result
            own = _since_last_number(before)
            window = _window(est)
            kind = est.kind
            # "100 bytes per record is about 365 GB": the "per record" belongs to the previous number
            mine = _PREVIOUS_PER.sub("", own) if before.strip() and own is not before else own
            if kind != EstimateKind.PER_ITEM and (
                _PER_ITEM_CONTEXT.search(_norm(mine[-50:])) or _EACH_AFTER.match(after.lower())
            ):
                kind = EstimateKind.PER_ITEM
            if kind == EstimateKind.TOTAL and _PROJECTION.search(_norm(before)):
                kind = EstimateKind.PROJECTION
            if (
                kind == EstimateKind.TOTAL
                and _ASSUMED_INPUT.search(_norm(own))
                and not _RESULT_WORDS.search(_norm(own))
            ):
                kind = "assumed"
            fleet = (est.unit or "").lower() in _FLEET_UNITS and not any(
                _norm(n.unit) == _norm(est.unit or "") for n in problem.numbers
            )
            if kind == EstimateKind.TOTAL and (
                fleet
                or _OTHER_QTY.search(_norm(own[-40:]))
                or _OTHER_AFTER.match(after.lower())
                or (family == "storage" and _STORAGE_AFTER.match(after.lower()))
            ):
                kind = EstimateKind.OTHER
            context = _norm(own[-40:] + " " + after[:30])
            number = (
                self._attribute(est, kind, window, problem, index, context, after)
                if kind != "assumed"
                else None
            )
            if kind == "assumed":
                if number is None:
                    continue  # "say 10M active keys": an input the candidate assumes, not a result
                kind = EstimateKind.TOTAL
            if family is None and number is None and kind == EstimateKind.TOTAL:
                continue  # a bare number with nothing to say what it counts
            out.append(est.model_copy(update={"number": number, "kind": str(kind)}))
        return out

    def _attribute(
        self,
        est: Estimate,
        kind: str,
        window: str,
        problem: Problem,
        index: _ProblemIndex,
        context: str = "",
        after: str = "",
    ) -> str | None:
        """The derived number an estimate is an estimate of: totals by unit and cue words (then by label
        similarity); other kinds only when a derived number is exactly that kind of quantity."""
        if kind == EstimateKind.TOTAL:
            matched = match_number(est, problem)
            noun = _unit_noun(est.unit)
            same_unit = [
                n
                for n in problem.numbers
                if noun and _unit_noun(n.unit) == noun and unit_family(n.unit) == est.family
            ]
            if same_unit and (matched is None or _unit_noun(matched.unit) != noun):
                # "116 pushes per second" is about the pushes figure, whatever cue sits nearby
                plain = [n for n in same_unit if not _needs_peak(n.label)]
                matched = (same_unit if _PEAK.search(window) else plain or same_unit)[0]
            if matched is not None and _needs_peak(matched.label) and not _PEAK.search(window):
                # a peak figure needs the word; without it the plain figure of the same kind is meant
                siblings = [
                    n
                    for n in problem.numbers
                    if not _needs_peak(n.label)
                    and unit_family(n.unit) == unit_family(matched.unit)
                    and _norm(n.label) in _norm(matched.label)
                ]
                matched = siblings[0] if siblings else None
            period = _PERIOD_AFTER.match(after.lower())
            if matched is not None and period and est.family == "storage":
                word = period.group(2)
                same = [
                    n
                    for n in problem.numbers
                    if unit_family(n.unit) == "storage"
                    and word in n.label.lower()
                    and (period.group(1) is None or period.group(1) in n.label or period.group(1) in n.id)
                ]
                if len(same) == 1:
                    matched = same[0]
            if matched is not None and est.family == "storage":
                # two storage figures of one unit (new per day vs served per day): the words decide
                by_label = self._by_label(est, window, problem, index, family_only=True, with_score=True)
                if by_label is not None and by_label[0] != matched.id:
                    own = self._label_sim(window, matched.id, index)
                    if by_label[1] >= own + 0.12:
                        return by_label[0]
            if matched is not None:
                return matched.id
            return self._by_label(est, window, problem, index, family_only=True) if est.family else None
        if kind == EstimateKind.PROJECTION:
            return None
        shared = [
            n.id
            for n in problem.numbers
            if (m := _OTHER_QTY.search(n.label.lower())) and m.group(0)[:5] in context
        ]
        fitting = [
            n.id for n in problem.numbers if n.id in shared and unit_family(n.unit) == (est.family or "count")
        ]
        if len(fitting) == 1:
            return fitting[0]  # "with 3 replicas that's 30 TB" and a derived "storage with 3 replicas"
        number = self._by_label(est, window, problem, index, family_only=True, strict=not shared)
        if number is None:
            return None
        label = next(n.label for n in problem.numbers if n.id == number).lower()
        if kind == EstimateKind.PER_ITEM and not _PER_THING.search(label):
            return None
        if kind == EstimateKind.OTHER and not (_OTHER_QTY.search(label) or _PER_THING.search(label)):
            return None
        if kind == EstimateKind.OTHER and shared and number not in shared:
            return None
        return number

    def _label_sim(self, window: str, number_id: str, index: _ProblemIndex) -> float:
        sims = index.numbers.scores(self._embedder.embed([window]), top=1)
        return float(sims[number_id][0]) if number_id in sims else 0.0

    def _by_label(
        self,
        est: Estimate,
        window: str,
        problem: Problem,
        index: _ProblemIndex,
        *,
        family_only: bool,
        strict: bool = False,
        with_score: bool = False,
    ) -> Any:
        """The derived number whose label is most like the words around the estimate, if close enough
        (with `with_score`, the pair (id, similarity) or None)."""
        if not problem.numbers:
            return None
        vec = self._embedder.embed([window])
        sims = index.numbers.scores(vec, top=1)
        best_id, best = None, -1.0
        for n in problem.numbers:
            fam = unit_family(n.unit)
            if (
                family_only
                and est.family is not None
                and fam != est.family
                and not (est.family == "storage" and _daily_storage_stem(n.unit) is not None)
            ):
                continue
            s = float(sims[n.id][0])
            if s > best:
                best_id, best = n.id, s
        need = self.thresholds.number_label + (0.15 if strict else 0.0)
        if best < need:
            return None
        return (best_id, best) if with_score else best_id

    # -- pitfalls --------------------------------------------------------------------------------

    def _pitfalls(
        self, parts: list[str], is_q: list[bool], vectors: NDArray[np.float32], index: _ProblemIndex
    ) -> list[str]:
        if not index.pitfalls.labels:
            return []
        th = self.thresholds
        pos = index.pitfalls.scores(vectors, top=2)
        neg = index.counters.scores(vectors, top=1) if index.counters.labels else {}
        out: list[str] = []
        for i, part in enumerate(parts):
            if is_q[i] or len(part.split()) < 4:
                continue
            for pid, s in pos.items():
                score = float(s[i])
                counter = float(neg[pid][i]) if pid in neg else 0.0
                if score >= th.pitfall and score - counter >= th.pitfall_margin and pid not in out:
                    out.append(pid)
        return out


@lru_cache(maxsize=1)
def shared_offline_reader() -> OfflineReader:
    """One offline reader per process (the encoder and the embedded banks are shared)."""
    return OfflineReader()
