"""Pure helpers for showing untrusted text safely (no Streamlit import: unit-testable).

Candidate and model text is rendered as Markdown, never as HTML: raw HTML is escaped, and images are
neutralised (an image URL is fetched by the browser as soon as it renders, which can leak data).
"""

from __future__ import annotations

import re

_INLINE_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\n]*)\)")
_REF_IMAGE = re.compile(r"!\[([^\]\n]*)\]\[([^\]\n]*)\]")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*\S+.*$", re.MULTILINE)


_CODE = re.compile(r"(```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]+`)", re.DOTALL)


_BARE_AMP = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});)")


def safe_markdown(text: str) -> str:
    """Markdown that shows the text but cannot load images, run HTML or trigger LaTeX.

    Code spans and fenced blocks are left as they are: Markdown shows them verbatim anyway.
    """
    parts = _CODE.split(text)
    return "".join(part if i % 2 else _neutralise(part) for i, part in enumerate(parts))


def _neutralise(out: str) -> str:
    out = _INLINE_IMAGE.sub(lambda m: f"[image removed: {m.group(1) or 'no description'}]", out)
    out = _REF_IMAGE.sub(lambda m: f"[image removed: {m.group(1) or 'no description'}]", out)
    # Reference definitions could still back an image written another way; show them as plain text.
    out = _REF_DEF.sub(lambda m: m.group(0).replace("[", "\\[", 1), out)
    # Escape HTML and Streamlit's own inline syntax ($LaTeX$) so the text stays text.
    # An entity already in the text ("&lt;" from the report's own escaping) stays: it renders as a
    # character, never as a tag, and escaping it again would show "&lt;" to the reader.
    out = _BARE_AMP.sub("&amp;", out).replace("<", "&lt;")
    out = out.replace("$", "\\$")
    return out.replace("![", "!\\[")


def looks_like_dot(text: str) -> bool:
    """True when the scratchpad text is a Graphviz DOT graph."""
    return bool(re.match(r'^\s*(strict\s+)?(di)?graph\s*("[^"]*"|\w+)?\s*\{', text, re.IGNORECASE))


def looks_like_mermaid(text: str) -> bool:
    """True when the scratchpad text is a Mermaid diagram."""
    first = text.strip().split("\n", 1)[0].strip().lower()
    return first.startswith(("graph ", "flowchart", "sequencediagram", "classdiagram", "erdiagram"))


def format_minutes(minutes: float) -> str:
    """'12:05' from 12.08 minutes."""
    total = max(0, round(minutes * 60))
    return f"{total // 60}:{total % 60:02d}"
