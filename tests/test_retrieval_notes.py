"""Note parsing and splitting: front-matter, sections, plain text, stable ids, collected errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import KnowledgeError
from app.retrieval.notes import (
    MAX_CHUNK_CHARS,
    STEPS,
    Chunk,
    chunk_id,
    fenced_spans,
    load_chunks,
    note_files,
    parse_note,
    read_note,
    split_note,
)
from app.settings import REPO_ROOT

NOTE = """---
title: Caching
topics: [Cache, expiration, 429]
steps: [high_level, deep_dive]
---
# Caching

A cache keeps hot data in memory.

## Expiration (TTL)
Entries expire after a time-to-live.

## Eviction
LRU evicts the least recently used entry.
"""


def test_front_matter_and_sections() -> None:
    note = parse_note(NOTE, "caching.md")
    assert (note.title, note.topics, note.steps) == ("Caching", ("cache", "expiration", "429"), STEPS[2:4])
    chunks = split_note(note)
    assert [c.heading for c in chunks] == ["Caching", "Expiration (TTL)", "Eviction"]
    assert chunks[0].text == "A cache keeps hot data in memory."
    ttl = chunks[1]
    assert ttl.text == "Entries expire after a time-to-live."
    assert ttl.embed_text.startswith("Caching: Expiration (TTL)\n")
    assert ttl.metadata() == {
        "source": "caching.md",
        "title": "Caching",
        "heading": "Expiration (TTL)",
        "topics": ["cache", "expiration", "429"],
        "steps": ["high_level", "deep_dive"],
    }


def test_ids_are_stable_content_hashes() -> None:
    a = split_note(parse_note(NOTE, "caching.md"))
    b = split_note(parse_note(NOTE, "caching.md"))
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
    assert all(len(c.id) == 64 for c in a)
    assert a[1].id == chunk_id("caching.md", "Expiration (TTL)", a[1].text, "Caching")
    moved = split_note(parse_note(NOTE, "other.md"))
    assert a[1].id != moved[1].id
    edited = split_note(parse_note(NOTE.replace("LRU evicts", "LFU evicts"), "caching.md"))
    assert [c.id for c in edited][:2] == [c.id for c in a][:2] and edited[2].id != a[2].id


def test_long_sections_are_split() -> None:
    para = " ".join(f"Sentence {i} talks about replication lag and failover." for i in range(120))
    note = parse_note(f"---\ntitle: Long\n---\n## Big\n{para}\n\n{para}\n", "long.md")
    chunks = split_note(note)
    assert len(chunks) >= 4
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in chunks)
    assert {c.heading for c in chunks} == {"Big"}


def test_markdown_without_front_matter_takes_the_first_heading() -> None:
    note = parse_note("# My own note\nsome intro\n## A\ntext a\n", "mine.md")
    assert note.title == "My own note" and note.steps == () and note.topics == ()
    assert [c.heading for c in split_note(note)] == ["My own note", "A"]
    assert "topics" not in split_note(note)[0].metadata()


def test_plain_text_note(tmp_path: Path) -> None:
    path = tmp_path / "my_rate-limits.txt"
    path.write_text(
        "Token buckets refill at a fixed rate.\n\nBursts are allowed up to the bucket size.\n\n"
        "Sliding windows:\n\nA sliding window log keeps timestamps.\n",
        encoding="utf-8",
    )
    note = read_note(path)
    assert note.title == "My rate limits" and note.plain
    chunks = split_note(note)
    assert [c.heading for c in chunks] == ["", "Sliding windows"]
    assert chunks[0].text.count("\n\n") == 1  # short paragraphs are packed together
    assert chunks[0].embed_text.startswith("My rate limits\n")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"---\ntitle: [unclosed\n---\nbody", "invalid YAML"),
        (b"---\n- a list\n---\nbody", "must be a mapping"),
        (b"---\ntitle: T\nsteps: [design]\n---\nbody", "unknown step"),
        (b"---\ntitle: T\ntopics: {a: 1}\n---\nbody", "list of strings"),
        (b"---\ntitle: T\nbody never closed", "never closed"),
        (b"caf\xe9 latin-1 text", "not valid UTF-8"),
        (b"bin\x00ary", "binary"),
    ],
)
def test_bad_notes_name_the_file(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "broken.md"
    path.write_bytes(content)
    with pytest.raises(KnowledgeError, match=match) as info:
        read_note(path)
    assert "broken.md" in str(info.value)


def test_errors_are_collected_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text(NOTE, encoding="utf-8")
    (tmp_path / "bad.md").write_bytes(b"\xff\xfe\xfa")
    (tmp_path / "empty.md").write_text("---\ntitle: Empty\n---\n", encoding="utf-8")
    (tmp_path / ".hidden.md").write_text(NOTE, encoding="utf-8")
    files = [(p, p.name) for p in note_files(tmp_path)]
    assert [p.name for p, _ in files] == ["bad.md", "empty.md", "good.md"]
    notes, chunks, skipped = load_chunks(files)
    assert [n.source for n in notes] == ["good.md"]
    assert len(chunks) == 3
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "not valid UTF-8" in reasons["bad.md"] and "no text" in reasons["empty.md"]


def test_every_knowledge_note_parses() -> None:
    files = [(p, p.name) for p in note_files(REPO_ROOT / "knowledge" / "notes")]
    notes, chunks, skipped = load_chunks(files)
    assert skipped == []
    assert len(notes) == len(files) >= 10
    for note in notes:
        assert note.title and note.steps, note.source
    assert all(isinstance(c, Chunk) and c.text.strip() for c in chunks)
    assert max(len(c.text) for c in chunks) <= MAX_CHUNK_CHARS


FENCED = """---
title: Deploys
steps: [wrap_up]
---
```bash
# build the image (a shell comment, not the title)
docker build .
```
Deploys roll out gradually.

## Canary
Send 1% of traffic first:

```python
## not a heading: a Python comment
def canary(share):
    return share <= 0.01
```

Then widen.

~~~~
## still code (a tilde fence closes only with four or more tildes)
~~~
````
## also still code
~~~~

## Rollback
Keep the old fleet.
"""


def test_a_heading_inside_a_code_fence_is_not_a_section() -> None:
    note = parse_note(FENCED, "deploys.md")
    assert note.title == "Deploys"  # front-matter title; the `# build` comment is code
    chunks = split_note(note)
    assert [c.heading for c in chunks] == ["Deploys", "Canary", "Rollback"]
    intro, canary, rollback = (c.text for c in chunks)
    assert intro.startswith("```bash\n# build the image") and intro.endswith("Deploys roll out gradually.")
    assert "## not a heading: a Python comment\ndef canary(share):\n    return share" in canary
    assert "## still code" in canary and "## also still code" in canary and canary.endswith("~~~~")
    assert rollback == "Keep the old fleet."


def test_first_heading_title_and_unclosed_fence() -> None:
    note = parse_note(
        "```\n# a comment\n```\n# Real title\nintro\n## A\ntext\n```sh\n## open to the end\n", "x.md"
    )
    assert note.title == "Real title"
    chunks = split_note(note)
    assert [c.heading for c in chunks] == ["Real title", "A"]
    assert chunks[0].text == "```\n# a comment\n```\n\nintro"  # the title line is dropped
    assert chunks[1].text == "text\n```sh\n## open to the end"


def test_fenced_spans_follow_commonmark() -> None:
    text = "a\n``` py\nx\n```\n    ```\nnot a fence (indented 4)\n~~~\n```\n~~~\n``` a`b\nnot a fence\n"
    spans = fenced_spans(text)
    assert [text[a:b] for a, b in spans] == ["``` py\nx\n```\n", "~~~\n```\n~~~\n"]


def test_plain_text_code_fence_lines_are_not_headings(tmp_path: Path) -> None:
    path = tmp_path / "ops.txt"
    path.write_text("Setup:\n\n```\n# install\n\npip install x\n```\n\nRun it daily.\n", encoding="utf-8")
    chunks = split_note(read_note(path))
    assert [c.heading for c in chunks] == ["Setup"]
    assert chunks[0].text == "```\n# install\n\npip install x\n```\n\nRun it daily."


def test_fence_awareness_keeps_knowledge_chunks_byte_identical() -> None:
    """Notes without fences split exactly as before, so their content-hash ids (and vectors) are kept."""
    note = parse_note(NOTE, "caching.md")
    assert [c.id for c in split_note(note)] == [
        chunk_id("caching.md", "Caching", "A cache keeps hot data in memory.", "Caching"),
        chunk_id("caching.md", "Expiration (TTL)", "Entries expire after a time-to-live.", "Caching"),
        chunk_id("caching.md", "Eviction", "LRU evicts the least recently used entry.", "Caching"),
    ]
