"""`python -m benchmarks`: opt-in benchmarks are left out of the plain run and run when named."""

from __future__ import annotations

import pytest

from benchmarks import __main__ as runner
from benchmarks import bench_scale_out, summary


def test_plain_run_skips_opt_in_benchmarks_and_names_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[str] = []
    monkeypatch.setattr(runner, "discover", lambda: ["bench_scale_out"])
    monkeypatch.setattr(bench_scale_out, "main", lambda: ran.append("scale_out") or 0)
    monkeypatch.setattr(summary, "main", lambda: None)

    assert runner.run([]) == 0
    assert ran == []
    assert "run it with: python -m benchmarks scale_out" in capsys.readouterr().out

    assert runner.run(["scale_out"]) == 0
    assert ran == ["scale_out"]


def test_unknown_benchmark_name_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.run(["no-such-bench"]) == 2
    assert "available:" in capsys.readouterr().err
