"""The rubric file loads, is complete, and its verdict bands are parsed, never evaluated."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.errors import KnowledgeError
from app.grading.rubric import DIMENSION_IDS, load_rubric, load_rubric_file
from app.settings import REPO_ROOT

RUBRIC = REPO_ROOT / "knowledge" / "rubric.yaml"


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "rubric.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))


def test_rubric_has_six_dimensions_with_every_descriptor_and_level() -> None:
    rubric = load_rubric(RUBRIC)
    assert tuple(d.id for d in rubric.dimensions) == DIMENSION_IDS
    for d in rubric.dimensions:
        assert set(d.descriptors) == {1, 2, 3, 4}
        assert all(len(text) > 30 for text in d.descriptors.values())
        for level in ("mid", "senior", "staff"):
            assert len(d.levels.for_level(level)) > 20


def test_verdict_bands_cover_the_scale_and_pick_the_right_band() -> None:
    rubric = load_rubric(RUBRIC)
    assert rubric.verdict_for(4.0).verdict == "strong hire"
    assert rubric.verdict_for(3.5).verdict == "strong hire"
    assert rubric.verdict_for(3.49).verdict == "hire"
    assert rubric.verdict_for(2.75).verdict == "hire"
    assert rubric.verdict_for(2.0).verdict == "lean no hire"
    assert rubric.verdict_for(1.99).verdict == "no hire"
    assert rubric.verdict_for(1.0).verdict == "no hire"


def test_band_written_as_a_number_is_rejected(tmp_path: Path, raw: dict) -> None:
    raw["verdicts"][0]["band"] = 3.5  # YAML number, not a "LOW-HIGH" string
    with pytest.raises(KnowledgeError, match="band"):
        load_rubric_file(_write(tmp_path, raw))


def test_band_with_spaces_is_parsed_not_evaluated(tmp_path: Path, raw: dict) -> None:
    raw["verdicts"][0]["band"] = "3.5 - 4"  # Python would evaluate 3.5 - 4 to -0.5
    rubric = load_rubric_file(_write(tmp_path, raw))
    top = rubric.verdicts[0]
    assert (top.low, top.high) == (3.5, 4.0)


def test_gap_between_bands_is_rejected(tmp_path: Path, raw: dict) -> None:
    raw["verdicts"][1]["band"] = "2.8-3.5"  # leaves 2.75-2.8 uncovered
    with pytest.raises(KnowledgeError, match="gap or overlap"):
        load_rubric_file(_write(tmp_path, raw))


def test_missing_descriptor_is_rejected(tmp_path: Path, raw: dict) -> None:
    del raw["dimensions"][2]["descriptors"]["3"]
    with pytest.raises(KnowledgeError, match="every score 1-4"):
        load_rubric_file(_write(tmp_path, raw))


def test_unknown_score_key_is_rejected(tmp_path: Path, raw: dict) -> None:
    raw["dimensions"][0]["descriptors"]["5"] = "off the scale"
    with pytest.raises(KnowledgeError, match="not one of 1, 2, 3, 4"):
        load_rubric_file(_write(tmp_path, raw))


def test_wrong_dimension_set_is_rejected(tmp_path: Path, raw: dict) -> None:
    raw["dimensions"] = raw["dimensions"][:5]
    with pytest.raises(KnowledgeError, match="dimensions must be exactly"):
        load_rubric_file(_write(tmp_path, raw))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="rubric not found"):
        load_rubric(tmp_path / "nope.yaml")
