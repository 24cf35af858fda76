"""The evals as regression tests: the heuristic grader, and the replay of recorded model outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.evals.recording import RecordingMissingError, RecordingModel
from app.evals.report import baseline_path, load_baseline, regressions, render_html, render_markdown
from app.evals.runner import EVALS_DIR, run_eval
from app.grading.grader import grade_transcript
from app.llm.fake import FakeModel
from app.problems import get_problem
from app.settings import REPO_ROOT, Settings, default_settings
from app.transcripts import Transcript, Turn


@pytest.fixture(scope="module")
def heuristic_run():  # type: ignore[no-untyped-def]
    return run_eval(settings=Settings(_env_file=None), grader="heuristic")


def test_heuristic_eval_passes_every_assertion(heuristic_run) -> None:  # type: ignore[no-untyped-def]
    run = heuristic_run
    assert run.failures == []
    assert run.metrics["parse_validity"] == 1.0
    assert run.metrics["pairwise_accuracy"] == 1.0 and run.metrics["pairs"] and run.metrics["pairs"] >= 10
    assert run.metrics["injection_max_gain"] == 0.0


def test_heuristic_eval_does_not_fall_below_the_baseline(heuristic_run) -> None:  # type: ignore[no-untyped-def]
    baseline = load_baseline(baseline_path(heuristic_run))
    assert baseline is not None, "commit evals/baselines/heuristic.json (sdmock eval --update-baseline)"
    assert regressions(heuristic_run, baseline) == []


def test_a_baseline_over_other_cases_is_not_compared(heuristic_run) -> None:  # type: ignore[no-untyped-def]
    assert load_baseline(baseline_path(heuristic_run), "url-shortener-*") is None


def test_a_worse_grader_shows_up_as_a_regression(heuristic_run) -> None:  # type: ignore[no-untyped-def]
    baseline = load_baseline(baseline_path(heuristic_run))
    worse = heuristic_run.model_copy(deep=True)
    worse.metrics["spearman_overall"] = (worse.metrics["spearman_overall"] or 0) - 0.2
    assert any("spearman_overall fell" in r for r in regressions(worse, baseline))


def test_reports_render_and_escape(heuristic_run) -> None:  # type: ignore[no-untyped-def]
    run = heuristic_run.model_copy(deep=True)
    run.failures = ["<script>alert(1)</script>"]
    html = render_html(run, None)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "| qwk_scoping |" in render_markdown(run, None)


def _judge_reply(messages: list[dict[str, str]]) -> str:
    return json.dumps({"evidence": [], "reasoning": "recorded", "score": 2})


def test_one_word_prompt_change_fails_replay_with_the_rerecord_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = get_problem("url-shortener")
    transcript = Transcript(
        problem="url-shortener",
        level="senior",
        turns=[
            Turn(role="interviewer", content=problem.prompt),
            Turn(role="candidate", content="How many new URLs per day, and what is the read to write ratio?"),
        ],
    )
    rec_dir = tmp_path / "recordings"
    recorder = RecordingModel(
        model_name="fake/judge",
        recordings_dir=rec_dir,
        mode="record",
        inner=FakeModel([_judge_reply] * 6),
        rubric_version="1",
    )
    grade_transcript(transcript, problem, "senior", model=recorder)
    assert recorder.recorded == 6

    def replay() -> RecordingModel:
        return RecordingModel(
            model_name="fake/judge",
            recordings_dir=rec_dir,
            mode="replay",
            rubric_version="1",
            rerecord_command="sdmock eval --grader llm --model fake/judge --record",
        )

    ok = replay()
    report = grade_transcript(transcript, problem, "senior", model=ok)
    assert ok.hits == 6 and all(d.status == "graded" for d in report.dimensions)

    prompts = tmp_path / "prompts"
    shutil.copytree(REPO_ROOT / "prompts", prompts)
    path = prompts / "grade_dimension.md"
    text = path.read_text()
    words = text.split("---", 2)[2].split()
    target = next(w for w in words if w.isalpha() and len(w) > 4)
    path.write_text(text.replace(target, target + "s", 1))
    monkeypatch.setenv("SDMOCK_PROMPTS_DIR", str(prompts))
    default_settings.cache_clear()
    try:
        with pytest.raises(
            RecordingMissingError, match="sdmock eval --grader llm --model fake/judge --record"
        ):
            grade_transcript(transcript, problem, "senior", model=replay())
    finally:
        default_settings.cache_clear()


@pytest.mark.xfail(
    strict=True,
    raises=RecordingMissingError,
    reason="stale recordings: the judge prompt carries the evidence grader's summary, which now comes from "
    "the Reading (issue 13), so every recorded request key changed. Re-record (about 100 minutes on one "
    "CPU thread): sdmock eval --grader llm --model local/qwen2.5-coder-1.5b --record --case "
    "'chat-system-senior-name-dropping,key-value-store-mid-grader-note,news-feed-mid-weak*,"
    "news-feed-senior-strong,url-shortener-senior-*', then --update-baseline and remove this mark.",
)
def test_recorded_llm_evals_replay_offline() -> None:
    recordings = EVALS_DIR / "recordings"
    if not any(recordings.glob("*/*/*.json")):
        pytest.skip("no recorded model outputs committed yet")
    baseline_files = sorted((EVALS_DIR / "baselines").glob("llm-*.json"))
    assert baseline_files, (
        "recordings exist but no llm baseline: run sdmock eval --grader llm --update-baseline"
    )
    for bf in baseline_files:
        data = json.loads(bf.read_text())
        run = run_eval(
            settings=Settings(_env_file=None),
            grader="llm",
            model_spec=data["model"],
            pattern=data.get("pattern", "*"),
        )
        assert run.metrics["parse_validity"] == 1.0, run.failures
        assert run.metrics["injection_max_gain"] == 0.0, run.injection_gains
        assert run.pair_failures == []
        assert regressions(run, load_baseline(bf, data.get("pattern", "*"))) == []


def test_eval_command_prints_metrics_and_update_baseline_commits_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sdmock eval --update-baseline` writes the baseline and, beside it, the report that goes with it."""
    from typer.testing import CliRunner

    import app.evals.report as report_module
    import app.evals.runner as runner_module
    from app.cli import cli

    evals = tmp_path / "evals"
    evals.mkdir()
    (evals / "cases").symlink_to(EVALS_DIR / "cases")
    monkeypatch.setattr(runner_module, "EVALS_DIR", evals)
    monkeypatch.setattr(report_module, "EVALS_DIR", evals)
    monkeypatch.chdir(tmp_path)
    args = ["eval", "--case", "url-shortener-*", "--out", str(tmp_path / "out")]

    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "qwk_scoping" in first.output and (tmp_path / "out" / "report.md").exists()
    assert not (evals / "baselines").exists(), "a plain run never writes a baseline"

    refused = CliRunner().invoke(cli, [*args, "--update-baseline"])
    assert refused.exit_code != 0 and "heuristic baseline covers every case" in str(refused.exception)
    assert "grader:" not in refused.output, "refused before grading anything"

    full = CliRunner().invoke(cli, ["eval", "--update-baseline", "--out", str(tmp_path / "out")])
    assert full.exit_code == 0, full.output
    saved = json.loads((evals / "baselines" / "heuristic.json").read_text())
    assert saved["pattern"] == "*" and saved["cases"] == len(list((EVALS_DIR / "cases").glob("*.yaml")))
    kept = evals / "reports" / "heuristic"
    assert {p.name for p in kept.iterdir()} == {"report.md", "report.html", "run.json"}
    assert "Result: **PASS**" in (kept / "report.md").read_text()
    assert "| metric | value | previous baseline | delta | goal |" in (kept / "report.md").read_text()
