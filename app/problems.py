"""The problem catalogue: one YAML file per problem under knowledge/problems/, validated on load.

A problem file holds what the candidate never sees: hidden facts (each released only when asked),
the numbers a good candidate derives from them, the deep-dive topics with probing questions, and a
reference design. See `knowledge/problems/url-shortener.yaml` for a complete example.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from app.errors import KnowledgeError, ProblemNotFoundError

Level = Literal["mid", "senior", "staff"]


class HiddenFact(BaseModel):
    """A fact the interviewer knows and releases only when the candidate asks for it."""

    id: str
    fact: str = Field(description="What the interviewer says when asked, in one or two sentences.")
    asked_by: list[str] = Field(
        min_length=1,
        description="Lowercase cue words or phrases; a question containing any of them asks for this fact.",
    )
    asks: list[str] = Field(
        default_factory=list,
        description="Natural ways a candidate asks for this fact (indirect, casual, typos); the offline "
        "reader releases the fact for a question close to these. Without them the cue words stand in.",
    )
    key: bool = Field(True, description="Counts toward the scope coverage needed to leave step 1.")
    values: dict[str, float] = Field(
        default_factory=dict, description="Numbers stated by the fact, named for use in number formulas."
    )


class DerivedNumber(BaseModel):
    """A number a good candidate computes; the interviewer checks estimates against it."""

    id: str
    label: str = Field(description="What it is, e.g. 'write QPS'.")
    value: float
    unit: str = Field(description="Unit as a candidate would say it: 'writes/s', 'TB', 'QPS'.")
    formula: str | None = Field(
        None, description="Arithmetic over fact `values` and earlier numbers' ids; checked by a test."
    )
    cues: list[str] = Field(
        min_length=1, description="Words that show a candidate estimate is about this number."
    )
    tolerance: float = Field(
        10.0, gt=1.0, description="Factor off from `value` at which an estimate is challenged."
    )


class DeepDiveTopic(BaseModel):
    """An area worth drilling into in step 3."""

    id: str
    title: str
    keywords: list[str] = Field(min_length=1, description="Words that show the candidate covered it.")
    probes: list[str] = Field(min_length=1, description="Questions the interviewer asks about it.")
    notes_query: str = Field(description="Query that retrieves the study notes for this topic.")


class Component(BaseModel):
    """A building block the reference design expects to see named."""

    id: str
    name: str
    keywords: list[str] = Field(min_length=1)


class Pitfall(BaseModel):
    """A plausible mistake a candidate makes on this problem, which the interviewer questions."""

    id: str
    text: str = Field(description="The mistake, in one sentence.")
    examples: list[str] = Field(
        default_factory=list, description="Statements a candidate might make that commit it."
    )
    counter_examples: list[str] = Field(
        default_factory=list, description="Statements on the same topic that do not commit it."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: object) -> object:
        if isinstance(data, str):  # a bare sentence: an id from its first words, no examples
            words = [w for w in data.lower().replace("-", " ").split() if w.isalpha()][:4]
            return {"id": "_".join(words) or "pitfall", "text": data}
        return data


class LevelExpectations(BaseModel):
    """What each level should show on this problem."""

    mid: str
    senior: str
    staff: str


class Problem(BaseModel):
    """One interview problem with everything the director and grader need."""

    id: str
    title: str
    difficulty: Literal["easy", "medium", "hard"]
    prompt: str = Field(description="The one-line prompt the candidate sees.")
    hidden_facts: list[HiddenFact] = Field(min_length=1)
    in_scope: list[str] = Field(min_length=1)
    out_of_scope: list[str] = Field(default_factory=list)
    components: list[Component] = Field(min_length=1)
    numbers: list[DerivedNumber] = Field(default_factory=list)
    deep_dives: list[DeepDiveTopic] = Field(min_length=1)
    wrap_up: list[str] = Field(min_length=1, description="Wrap-up questions for step 4.")
    pitfalls: list[Pitfall] = Field(min_length=1)
    reference_design: str = Field(min_length=200)
    levels: LevelExpectations

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not v or v != v.lower() or " " in v:
            raise ValueError("id must be a lowercase slug such as 'url-shortener'")
        return v

    @model_validator(mode="after")
    def _unique_ids(self) -> Problem:
        for name, items in (
            ("hidden_facts", self.hidden_facts),
            ("numbers", self.numbers),
            ("deep_dives", self.deep_dives),
            ("components", self.components),
            ("pitfalls", self.pitfalls),
        ):
            ids = [i.id for i in items]
            dupes = {i for i in ids if ids.count(i) > 1}
            if dupes:
                raise ValueError(f"duplicate {name} ids: {sorted(dupes)}")
        return self

    def fact(self, fact_id: str) -> HiddenFact:
        """The hidden fact with this id."""
        for f in self.hidden_facts:
            if f.id == fact_id:
                return f
        raise KeyError(fact_id)

    def number_values(self) -> dict[str, float]:
        """Names usable in formulas: every fact value and every number id."""
        env: dict[str, float] = {}
        for f in self.hidden_facts:
            env.update(f.values)
        for n in self.numbers:
            env[n.id] = n.value
        return env


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader when present: the catalogue loads several times faster."""

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def evaluate_formula(formula: str, names: dict[str, float]) -> float:
    """Evaluate plain arithmetic over named numbers, without eval()."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise KeyError(f"unknown name {node.id!r} in formula {formula!r}")
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return float(_BINARY[type(node.op)](walk(node.left), walk(node.right)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        raise ValueError(f"unsupported expression in formula {formula!r}")

    return walk(ast.parse(formula, mode="eval"))


def formula_matches(number: DerivedNumber, names: dict[str, float], rel_tol: float = 0.05) -> bool:
    """True when the number's formula reproduces its stated value within rel_tol."""
    if number.formula is None:
        return True
    return math.isclose(evaluate_formula(number.formula, names), number.value, rel_tol=rel_tol)


def load_problem_file(path: Path) -> Problem:
    """Load and validate one problem file; errors name the file and the field."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"cannot read problem file {path.name}: {exc}", "fix the YAML syntax") from exc
    try:
        problem = Problem.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise KnowledgeError(
            f"problem file {path.name} is invalid at {where}: {first['msg']}",
            "see app/problems.py for the schema",
        ) from exc
    if problem.id != path.stem:
        raise KnowledgeError(
            f"problem file {path.name} has id {problem.id!r}", "make the id match the file name"
        )
    return problem


@lru_cache(maxsize=8)
def _load_dir(problems_dir: Path) -> dict[str, Problem]:
    files = sorted(problems_dir.glob("*.yaml"))
    if not files:
        raise KnowledgeError(f"no problem files in {problems_dir}", "check SDMOCK_KNOWLEDGE_DIR")
    return {p.id: p for p in (load_problem_file(f) for f in files)}


def load_problems(problems_dir: Path | None = None) -> dict[str, Problem]:
    """All problems by id, loaded once per folder."""
    if problems_dir is None:
        from app.settings import default_settings

        problems_dir = default_settings().problems_dir
    return _load_dir(problems_dir.resolve())


def get_problem(problem_id: str, problems_dir: Path | None = None) -> Problem:
    """One problem by id, with the list of valid ids when it is unknown."""
    problems = load_problems(problems_dir)
    if problem_id not in problems:
        raise ProblemNotFoundError(
            f"unknown problem {problem_id!r}", f"choose one of: {', '.join(sorted(problems))}"
        )
    return problems[problem_id]
