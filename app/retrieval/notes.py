"""Study notes: parse Markdown notes (YAML front-matter) or plain text, and split them into chunks.

A knowledge note looks like::

    ---
    title: Caching
    topics: [cache, expiration]
    steps: [high_level, deep_dive]
    ---
    # Caching
    intro...
    ## Expiration (TTL)
    ...

Each `##` section becomes a chunk (long ones are split further); the note title and the section
heading are prefixed to the text that gets embedded. Plain `.txt` notes need no front-matter: the
title comes from the file name and the text is split on headings and blank-line paragraphs.

The splitting is Markdown-aware: a `#` or `##` line inside a fenced code block (```` ``` ```` or
`~~~`, CommonMark rules: up to three spaces of indent, closed by a fence of the same character at
least as long, or by the end of the note) is code, not a heading. Section text is kept byte for byte
(LangChain's `MarkdownHeaderTextSplitter` also knows fences, but re-joins lines and strips code
indentation, which would change every chunk's text and so its content-hash id).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.errors import KnowledgeError

STEPS = ("scope", "estimation", "high_level", "deep_dive", "wrap_up")
"""The interview steps a note can serve, in interview order."""
NOTE_SUFFIXES = (".md", ".txt")
MAX_CHUNK_CHARS = 1200
CHUNK_OVERLAP = 150
MAX_NOTE_BYTES = 2_000_000

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_H2 = re.compile(r"^##[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_ANY_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$")
_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")


@dataclass(frozen=True)
class Note:
    """One parsed note file."""

    source: str
    """Name the note is known by in hits: its file name (user notes: `user-notes/NAME`)."""
    title: str
    topics: tuple[str, ...]
    steps: tuple[str, ...]
    body: str
    plain: bool = False
    """A plain-text note (no Markdown structure expected)."""


@dataclass(frozen=True)
class Chunk:
    """One searchable piece of a note. `id` is a content hash, so re-indexing is idempotent."""

    source: str
    title: str
    heading: str
    text: str
    topics: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", chunk_id(self.source, self.heading, self.text, self.title))

    @property
    def embed_text(self) -> str:
        """What gets embedded: title and heading give a short section its context."""
        prefix = (
            f"{self.title}: {self.heading}" if self.heading and self.heading != self.title else self.title
        )
        return f"{prefix}\n{self.text}"

    def metadata(self) -> dict[str, Any]:
        """Chroma metadata. Steps and topics are string arrays, filterable with `$contains`."""
        meta: dict[str, Any] = {"source": self.source, "title": self.title, "heading": self.heading}
        # Chroma rejects empty arrays; leave the key out instead.
        if self.topics:
            meta["topics"] = list(self.topics)
        if self.steps:
            meta["steps"] = list(self.steps)
        return meta


def chunk_id(source: str, heading: str, text: str, title: str = "") -> str:
    """The sha256 of source, heading and text (and title, which is part of the embedded text)."""
    h = hashlib.sha256()
    for part in (source, title, heading, text):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def read_note(path: Path, source: str | None = None) -> Note:
    """Read and parse one `.md` or `.txt` note; a `KnowledgeError` names the file on any problem."""
    try:
        size = path.stat().st_size
        if size > MAX_NOTE_BYTES:
            raise KnowledgeError(
                f"{path}: note is too large ({size:,} bytes; limit {MAX_NOTE_BYTES:,})",
                "split it into smaller notes",
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise KnowledgeError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KnowledgeError(
            f"{path}: not valid UTF-8 text (byte {exc.start})", "save the file as UTF-8 and index again"
        ) from exc
    if "\x00" in text:
        raise KnowledgeError(f"{path}: looks like a binary file, not a text note", "pass .md or .txt notes")
    return parse_note(text, source or path.name, plain=path.suffix.lower() == ".txt")


def parse_note(text: str, source: str, plain: bool = False) -> Note:
    """Parse note text; front-matter is optional, but when present it must be valid."""
    text = text.replace("\r\n", "\n")
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise KnowledgeError(f"{source}: invalid YAML front-matter: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise KnowledgeError(f"{source}: front-matter must be a mapping of title, topics and steps")
        meta = loaded or {}
        text = text[match.end() :]
    elif text.startswith("---\n"):
        raise KnowledgeError(f"{source}: front-matter starts with --- but is never closed")

    title = meta.get("title")
    if title is not None and not isinstance(title, str | int | float):
        raise KnowledgeError(f"{source}: front-matter `title` must be a string")
    first_heading = next(_outside_fences(_H1, text), None)
    if title:
        title = str(title).strip()
    elif first_heading and not plain:
        title = first_heading.group(1).strip()
    else:
        title = _title_from_name(source)
    topics = tuple(t.lower() for t in _str_list(meta.get("topics"), "topics", source))
    steps = _str_list(meta.get("steps"), "steps", source)
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise KnowledgeError(
            f"{source}: unknown step(s) {', '.join(unknown)} in front-matter",
            f"steps must be a subset of {', '.join(STEPS)}",
        )
    return Note(source=source, title=title, topics=topics, steps=steps, body=text, plain=plain)


def _str_list(value: Any, key: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or any(isinstance(v, dict | list) or v is None for v in value):
        raise KnowledgeError(f"{source}: front-matter `{key}` must be a list of strings")
    # YAML reads `[429, 301]` as numbers; they are still labels.
    return tuple(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))


def _title_from_name(source: str) -> str:
    stem = Path(source).stem.replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else source


def split_note(note: Note, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """Split a note into chunks: one per `##` section (text sections by headings and paragraphs)."""
    sections = _text_sections(note.body) if note.plain else _markdown_sections(note.body, note.title)
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for heading, text in sections:
        for piece in _split_long(text, max_chars):
            chunk = Chunk(note.source, note.title, heading, piece, note.topics, note.steps)
            if chunk.id not in seen:
                seen.add(chunk.id)
                chunks.append(chunk)
    return chunks


def fenced_spans(text: str) -> list[tuple[int, int]]:
    """`(start, end)` character offsets of the fenced code blocks of Markdown `text`, fences included.

    CommonMark: an opening fence is three or more backticks or tildes indented by at most three
    spaces (a backtick fence's info string has no backtick); the block ends at a line holding only a
    fence of the same character at least as long, or at the end of the text.
    """
    spans: list[tuple[int, int]] = []
    opening: str | None = None
    start = offset = 0
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if opening is None:
            m = _FENCE_OPEN.match(bare)
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                opening, start = m.group(1), offset
        else:
            m = _FENCE_CLOSE.match(bare)
            if m and m.group(1)[0] == opening[0] and len(m.group(1)) >= len(opening):
                spans.append((start, offset + len(line)))
                opening = None
        offset += len(line)
    if opening is not None:
        spans.append((start, len(text)))
    return spans


def _outside_fences(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Matches of a line pattern that do not start inside a fenced code block."""
    spans = fenced_spans(text)
    for m in pattern.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            yield m


def _markdown_sections(body: str, title: str) -> list[tuple[str, str]]:
    """`(heading, text)` per `##` section; text before the first one is the note's introduction.

    `##` lines inside fenced code blocks are part of the section text, not headings.
    """
    sections: list[tuple[str, str]] = []
    matches = list(_outside_fences(_H2, body))
    intro = body[: matches[0].start()] if matches else body
    # Drop the `# Title` line: the title is already prefixed to every chunk.
    h1 = next(_outside_fences(_H1, intro), None)
    if h1 is not None:
        intro = intro[: h1.start()] + intro[h1.end() :]
    intro = intro.strip()
    if intro:
        sections.append((title, intro))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        text = body[m.end() : end].strip()
        if text:
            sections.append((m.group(1).strip(), text))
    return sections


def _text_sections(body: str) -> list[tuple[str, str]]:
    """Plain text: a heading line (`# x` or a short line ending in `:`) starts a section, except in a
    fenced code block."""
    sections: list[tuple[str, str]] = []
    heading = ""
    paragraphs: list[str] = []

    def flush() -> None:
        if paragraphs:
            sections.append((heading, "\n\n".join(paragraphs)))
            paragraphs.clear()

    code = fenced_spans(body)
    start = 0
    for gap in [*re.finditer(r"\n[ \t]*\n", body), None]:
        end = gap.start() if gap else len(body)
        raw, start = body[start:end], gap.end() if gap else len(body)
        para = raw.strip()
        if not para:
            continue
        at = end - len(raw) + (len(raw) - len(raw.lstrip()))
        in_code = any(a <= at < b for a, b in code)
        first, _, rest = para.partition("\n")
        m = None if in_code else _ANY_HEADING.match(first)
        if m or (not in_code and len(first) <= 80 and first.endswith(":") and not rest):
            flush()
            heading = (m.group(1) if m else first.rstrip(":")).strip()
            para = rest.strip()
            if not para:
                continue
        paragraphs.append(para)
    flush()
    # Pack short consecutive paragraphs of one section into chunks of up to MAX_CHUNK_CHARS.
    packed: list[tuple[str, str]] = []
    for h, text in sections:
        packed.extend((h, piece) for piece in _pack_paragraphs(text.split("\n\n")))
    return packed


def _pack_paragraphs(paragraphs: list[str], max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    out: list[str] = []
    current = ""
    for para in paragraphs:
        if current and len(current) + 2 + len(para) > max_chars:
            out.append(current)
            current = para
        else:
            current = f"{current}\n\n{para}" if current else para
    if current:
        out.append(current)
    return out


def _split_long(text: str, max_chars: int) -> list[str]:
    if len(text) <= max_chars:
        return [text]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=max_chars,
        chunk_overlap=min(CHUNK_OVERLAP, max_chars // 4),
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
    )
    return [piece.strip() for piece in splitter.split_text(text) if piece.strip()]


@dataclass(frozen=True)
class SkippedFile:
    """A note file that was not indexed, and why."""

    path: str
    reason: str


def note_files(folder: Path, suffixes: Iterable[str] = NOTE_SUFFIXES) -> list[Path]:
    """Note files in a folder (recursively), in a stable order; hidden files are ignored."""
    if not folder.is_dir():
        return []
    wanted = tuple(suffixes)
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in wanted
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def load_chunks(files: Iterable[tuple[Path, str]]) -> tuple[list[Note], list[Chunk], list[SkippedFile]]:
    """Read and split `(path, source)` pairs; a bad file is recorded and skipped, never fatal."""
    notes: list[Note] = []
    chunks: list[Chunk] = []
    skipped: list[SkippedFile] = []
    seen: set[str] = set()
    for path, source in files:
        try:
            note = read_note(path, source)
        except KnowledgeError as exc:
            skipped.append(SkippedFile(str(path), str(exc)))
            continue
        pieces = split_note(note)
        if not pieces:
            skipped.append(SkippedFile(str(path), f"{path}: the note has no text"))
            continue
        notes.append(note)
        for chunk in pieces:
            if chunk.id not in seen:
                seen.add(chunk.id)
                chunks.append(chunk)
    return notes, chunks, skipped
