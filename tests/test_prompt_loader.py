"""The prompt loader: front-matter, strict rendering, content-hash ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import KnowledgeError
from app.prompts import load_prompt, parse_prompt
from app.settings import REPO_ROOT

SOURCE = "---\nname: demo\nversion: 2\ninputs: [phase, move]\n---\nPhase {{ phase }}. Do: {{ move }}.\n"


def test_render_and_id() -> None:
    p = parse_prompt(SOURCE)
    assert p.render(phase="scope", move="answer") == "Phase scope. Do: answer.\n"
    assert p.id.startswith("demo@2#") and len(p.id.split("#")[1]) == 12
    assert parse_prompt(SOURCE.replace("Do:", "Now do:")).id != p.id


def test_missing_inputs_are_all_named() -> None:
    p = parse_prompt(SOURCE.replace("{{ move }}", "{{ move }} {{ extra }}"))
    with pytest.raises(KnowledgeError, match="missing inputs: extra, move"):
        p.render(phase="scope")


@pytest.mark.parametrize("bad", ["no front matter", "---\nversion: 1\n---\nbody", "---\n[broken\n---\nbody"])
def test_broken_files_are_rejected(bad: str) -> None:
    with pytest.raises(KnowledgeError):
        parse_prompt(bad)


def test_load_unknown_name_lists_known_prompts(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(SOURCE)
    assert load_prompt("a", tmp_path).name == "demo"
    with pytest.raises(KnowledgeError, match="known prompts: a"):
        load_prompt("nope", tmp_path)


def test_every_committed_prompt_parses() -> None:
    files = sorted((REPO_ROOT / "prompts").glob("*.md"))
    for f in files:
        p = load_prompt(f.stem)
        assert p.name == f.stem, f"{f.name}: front-matter name must match the file name"
        assert p.inputs, f"{f.name}: declare the prompt's inputs"
