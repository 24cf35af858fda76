"""Record once, replay offline; a changed request fails with the re-record command."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.evals.recording import RecordingMissingError, RecordingModel
from app.llm.fake import FakeModel

MSGS = [{"role": "system", "content": "grade"}, {"role": "user", "content": "transcript"}]


def test_record_then_replay(tmp_path: Path) -> None:
    fake = FakeModel(['{"score": 3}'], name="local/tiny")
    rec = RecordingModel(
        model_name="local/tiny", recordings_dir=tmp_path, mode="record", inner=fake, rubric_version="r1"
    )
    assert rec.complete(MSGS, max_tokens=100).text == '{"score": 3}'
    replay = RecordingModel(
        model_name="local/tiny", recordings_dir=tmp_path, mode="replay", rubric_version="r1"
    )
    assert replay.complete(MSGS, max_tokens=100).text == '{"score": 3}'
    assert replay.hits == 1 and len(fake.requests) == 1


def test_recording_resumes_what_an_interrupted_run_saved(tmp_path: Path) -> None:
    """A second --record run pays only for what is missing (a local model takes minutes a call)."""
    first = FakeModel(['{"score": 3}'], name="local/tiny")
    rec = RecordingModel(
        model_name="local/tiny", recordings_dir=tmp_path, mode="record", inner=first, rubric_version="r1"
    )
    rec.complete(MSGS, max_tokens=100)
    second = FakeModel(['{"score": 1}'], name="local/tiny")
    again = RecordingModel(
        model_name="local/tiny", recordings_dir=tmp_path, mode="record", inner=second, rubric_version="r1"
    )
    assert again.complete(MSGS, max_tokens=100).text == '{"score": 3}'
    assert (again.hits, again.recorded, len(second.requests)) == (1, 0, 0)
    assert again.complete(MSGS, max_tokens=101).text == '{"score": 1}'  # a new request is recorded
    assert (again.recorded, len(second.requests)) == (1, 1)


@pytest.mark.parametrize(
    "change",
    [
        {"messages": [{"role": "system", "content": "grade!"}, MSGS[1]]},
        {"max_tokens": 101},
        {"rubric_version": "r2"},
    ],
)
def test_any_change_misses_and_names_the_command(tmp_path: Path, change: dict) -> None:
    RecordingModel(
        model_name="m", recordings_dir=tmp_path, mode="record", inner=FakeModel(["x"]), rubric_version="r1"
    ).complete(MSGS, max_tokens=100)
    replay = RecordingModel(
        model_name="m",
        recordings_dir=tmp_path,
        mode="replay",
        rubric_version=change.get("rubric_version", "r1"),
        rerecord_command="sdmock eval --grader llm --model m --record",
    )
    with pytest.raises(RecordingMissingError) as err:
        replay.complete(change.get("messages", MSGS), max_tokens=change.get("max_tokens", 100))
    assert "sdmock eval --grader llm --model m --record" in str(err.value)
