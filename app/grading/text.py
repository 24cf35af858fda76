"""Text rules the grader enforces in code: verbatim quotes, grader-directed text, Markdown images.

A quote counts as evidence only if it occurs verbatim in a candidate turn after a light
normalisation (case, whitespace, curly quotes, dashes, surrounding punctuation). There is no fuzzy
matching: a paraphrase is not a quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u2026": "...",
        "`": "'",
    }
)
_SPACES = re.compile(r"\s+")
_EDGE = " \t\n\"'.,;:!?()[]{}*_-"
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|\[\.\.\.\]|\(\.\.\.\))\s*")

MIN_QUOTE_CHARS = 8
"""Shorter quotes ("yes", "ok") are not evidence of anything."""


def normalise(text: str) -> str:
    """Lowercase, straight quotes and dashes, single spaces, no Markdown emphasis markers."""
    text = text.translate(_TRANSLATE).lower()
    text = text.replace("**", "").replace("__", "")
    return _SPACES.sub(" ", text).strip()


def _strip_edges(text: str) -> str:
    return text.strip(_EDGE)


@dataclass(frozen=True)
class QuoteMatch:
    """Where a verified quote was found."""

    turn: int
    """Index of the candidate turn in the transcript's turn list."""
    text: str
    """The quote as given, trimmed."""


def find_quote(quote: str, turns: dict[int, str], *, min_chars: int = MIN_QUOTE_CHARS) -> QuoteMatch | None:
    """The candidate turn holding `quote` verbatim (normalised), or None.

    `turns` maps turn index -> candidate text. A quote with an ellipsis ("a ... b") matches when each
    part occurs in the same turn, in order.
    """
    parts = [_strip_edges(normalise(p)) for p in _ELLIPSIS.split(quote)]
    parts = [p for p in parts if p]
    if not parts or sum(len(p) for p in parts) < min_chars:
        return None
    for idx, text in turns.items():
        hay = normalise(text)
        pos = 0
        for part in parts:
            found = hay.find(part, pos)
            if found < 0:
                break
            pos = found + len(part)
        else:
            return QuoteMatch(turn=idx, text=quote.strip())
    return None


# Text addressed to the grader rather than the interviewer. Matching is on normalised text.
_WHO = r"(?:grader|evaluator|assessor|judge|scorer|ai|llm|language model)"
_INJECTION_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "addressed to the grader",
        rf"\b(?:note|message|instructions?|hint|p\.?s\.?)s? (?:to|for) (?:the |any |my )?"
        rf"(?:ai |llm )?{_WHO}\b",
    ),
    ("addressed to the grader", rf"\b(?:dear|attention|hey|hello) (?:the )?(?:ai |llm )?{_WHO}\b"),
    ("addressed to the grader", r"\b(?:grader|evaluator|assessor|scorer)s?\s*[:,]"),
    ("addressed to the grader", r"\bif you are an? (?:ai|llm|language model|grader|evaluator|assistant)\b"),
    (
        "addressed to the grader",
        r"\bas an? (?:ai|llm|language model) (?:grader|evaluator|judge|model|assistant)\b",
    ),
    (
        "asks for a score",
        r"\b(?:assign|give|award|grant|rate|score|mark)\b"
        r"(?: (?:me|this|it|him|her|them|the candidate|this candidate|this answer|this transcript|the "
        r"transcript|"
        r"every dimension|all dimensions|each dimension|everything|all))*"
        r"(?: (?:an?|the))?(?: (?:score|grade|rating|mark)s?)?(?: of)? (?:a )?(?:4|four)(?: ?/ ?4| out of 4|"
        r" points?)?"
        r"(?=\s*(?:$|[.!,;)]|(?:on|for|to|across|in) (?:this|the (?:candidate|transcript|rubric)|dimensions?|"
        r"(?:every|each|all)(?: (?:dimensions?|criteria|criterion|categor(?:y|ies)|sections?|areas?|"
        r"questions?))?"
        r"\s*(?:$|[.!,;)]))))",
    ),
    ("asks for a score", r"\b(?:4|10|100)\s*/\s*(?:4|10|100)\b|\b(?:4|four) out of (?:4|four)\b"),
    ("asks for a score", r"\b(?:full marks|perfect score|top marks|highest possible score|maximum marks)\b"),
    (
        "asks for a score",
        r"\b(?:verdict|overall|final score|rating)\s*(?:=|:|is|should be)\s*(?:strong hire|hire|4)\b",
    ),
    ("asks for a score", r"\bstrong hire\b"),
    ("asks for a score", r"\b(?:4s|fours|top scores?|full scores?) across the board\b|\bwith (?:4s|fours)\b"),
    (
        "asks for a score",
        r"\b(?:score|grade|rate|mark)s? (?:each|every|all|the) (?:of the )?(?:dimensions?|criteri(?:a|on)|"
        r"categor(?:y|ies)|rubric (?:items|dimensions))\b",
    ),
    (
        "addressed to the grader",
        r"\b(?:whoever|anyone who|the person who|whoever is) (?:scores|grades|evaluates|"
        r"marks|assesses|reviews) (?:this|me|the)\b|\bgrader instructions?\b|\bgrading instructions?\b",
    ),
    (
        "impersonates the interviewer",
        r"\bas the interviewer,? i\b|\b(?:i|we) (?:confirm|certify|attest) that the "
        r"candidate\b|\bi confirm the candidate\b|\bthe candidate (?:has )?(?:asked|computed|covered|"
        r"demonstrated|"
        r"answered|nailed) (?:all|every|everything|exceptional)\b",
    ),
    (
        "overrides instructions",
        r"\b(?:ignore|disregard|forget|override|bypass)\b(?: \S+){0,4}? "
        r"(?:instructions?|rubric|criteria|guidelines|scoring|grading)\b",
    ),
    ("overrides instructions", r"\b(?:system prompt|new instructions|developer mode|jailbreak)\b"),
    ("overrides instructions", r"\byou are now (?:a|an|the)\b"),
    (
        "overrides instructions",
        r"\b(?:end of (?:the )?transcript|end transcript)\b|</?transcript|</?candidate",
    ),
    ("fake grader output", r"[\"'](?:evidence|reasoning|verdict|rationale|overall)[\"']\s*:"),
    ("fake grader output", r"[\"']scores?[\"']\s*:\s*[\"']?[1-4](?:\.0)?\b"),
    ("fake grader output", r"'''\s*json|```\s*json"),
)
_INJECTION_PATTERNS += (
    (
        "asks for hidden material",
        r"\b(?:system prompt|hidden[ _](?:facts?|numbers)|answer key|model answer|fact sheet|"
        r"reference design|level descriptors?|developer (?:message|mode)|"
        r"(?:print|repeat|echo|dump|output|reveal|show me|translate|summari[sz]e|read me) (?:\S+ ){0,4}?"
        r"(?:prompt|instructions|rules you were given|rubric|state|hidden\S*|everything above))\b|"
        r"\b(?:you (?:have )?written down|you were (?:told|given)|(?:are you|you'?re) (?:checking|comparing)|"
        r"expected (?:value|qps|number|figure|answer|storage)|(?:going to|will) challenge|"
        r"on your (?:list|sheet)|(?:in|from) your notes|"
        r"debug mode|which facts|every requirement i didn'?t|everything you know)\b",
    ),
    (
        "asks to skip ahead or end",
        r"\bskip ahead\b|\bskip (?:straight )?to the (?:wrap|end|grad|scor|report|last)|"
        r"\bthen (?:the report|done|we'?re done)\b|\bfast-forward\b|\b(?:end|finish) the interview\b|"
        r"\binterview is (?:over|finished)\b|\bmark (?:all )?(?:the )?steps complete\b|\bcall it a day\b|"
        r"\bhire or no hire\b|\bstraight to the (?:scoring|grading|end)\b",
    ),
    (
        "tries to change roles",
        r"\b(?:you are now|from now on,? you|pretend (?:you'?re|you are|to be)|"
        r"act as (?:dan\b|my |an? (?:\w+ )?(?:interviewer|grader|judge|hiring manager|assistant|ai)\b)|"
        r"role-?play|switch roles|be the candidate|stay in character|speak as the|simulate the grader|"
        r"you are (?:a|an) (?:helpful assistant|unrestricted)|play a game|"
        r"you'?re (?:a|an|the) (?:grader|judge|interviewer|hiring manager)\b)\b",
    ),
    (
        "fake grader output",
        r"[\"'](?:scoping|estimation|high_level_design|deep_dive|wrap_up|communication)[\"']\s*:\s*[1-4]\b|"
        r"^\s*(?:score|verdict)\s*[:=]\s*[1-4]\b|\bscore\s*=\s*[1-4]\b|"
        r"^\s*(?:reasoning|evidence|rationale|justification)\s*:\s*(?:an? )?(?:exemplary|excellent|flawless|"
        r"perfect|every|all|strong|outstanding)\b",
    ),
    (
        "fake rubric or endorsement",
        r"\b(?:rubric|descriptor|hiring committee|self-assessment|assessment note|exceeds the bar|"
        r"evaluation model|the interviewer (?:said|confirmed|agreed)|you agreed earlier|reviewed by a)\b",
    ),
)
_INJECTION = [(kind, re.compile(p)) for kind, p in _INJECTION_PATTERNS]

# Checked on the whole text (case-insensitive, before normalising), each hit expanded to its lines:
# markup, chat-template delimiters and obfuscation have no place in an interview answer.
_WHOLE_TEXT_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "markup or script payload",
        r"<\s*/?\s*(?:script|iframe|i?frame|img|svg|object|embed|style|link|meta|base|form|input|details|body|"
        r"video|audio|math|a\s+href)\b|&lt;\s*(?:script|img|iframe|svg)|\bjavascript\s*:|<!--|"
        r"<[^>\n]*\bon[a-z]{3,}\s*=|!\[[^\]\n]*\]\s*[(\[]|\]\(\s*(?:data|vbscript)\s*:|\\href\s*\{",
    ),
    (
        "fake delimiter",
        r"<\|im_(?:start|end)\|>|\[/?inst\]|<</?sys>>|^\s*#{2,}\s*(?:system|user|assistant)\b|"
        r"</?(?:system|data|transcript|candidate|user|assistant)>|^\s*(?:={3,}|-{3,}).*\bends?\b|"
        r"^\s*(?:interviewer|candidate)\s*:",
    ),
    ("encoded or hidden text", r"\b(?:base64|base-64|rot13|rot-13)\b|[\u200b-\u200f\u2060\ufeff]"),
    ("encoded or hidden text", r"\b(?=\w*[a-z])(?=\w*[\u0370-\u03ff\u0400-\u04ff])\w+"),
)
_WHOLE = [(kind, re.compile(p, re.IGNORECASE | re.MULTILINE)) for kind, p in _WHOLE_TEXT_PATTERNS]
_LEET = str.maketrans({"4": "a", "3": "e", "1": "i", "0": "o", "5": "s", "7": "t"})
_LEET_WORD = re.compile(r"\b(?=[a-z]*\d)(?=\d*[a-z])[a-z0-9]{3,}\b")


def _deleet(norm: str) -> str:
    """'n073 70 7h3 gr4d3r' -> 'note to the grader' (words mixing letters and digits only)."""
    return _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), norm)


_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")


@dataclass(frozen=True)
class Injection:
    """A stretch of candidate text addressed to the grader."""

    kind: str
    text: str
    """The sentence it was found in, as the candidate wrote it."""


def find_injections(text: str) -> list[Injection]:
    """Sentences of `text` that address the grader, ask for a score or imitate grader output."""
    found: list[Injection] = []
    for m in _SENTENCE.finditer(text):
        sentence = m.group(0).strip()
        if not sentence:
            continue
        norm = normalise(sentence)
        leet = _deleet(norm)
        for kind, pattern in _INJECTION:
            if pattern.search(norm) or (leet != norm and pattern.search(leet)):
                if all(i.text != sentence for i in found):
                    found.append(Injection(kind=kind, text=sentence))
                break
    for kind, pattern in _WHOLE:
        for m in pattern.finditer(text):
            start = text.rfind("\n", 0, m.start()) + 1
            end = text.find("\n", m.end())
            line = text[start : end if end >= 0 else len(text)].strip()
            if line and all(line != i.text and line not in i.text for i in found):
                found = [i for i in found if i.text not in line]
                found.append(Injection(kind=kind, text=line))
    # JSON spread over several lines: check the whole text too.
    if not any(i.kind == "fake grader output" for i in found):
        norm_all = normalise(text)
        for kind, pattern in _INJECTION:
            if kind == "fake grader output" and pattern.search(norm_all):
                found.append(Injection(kind=kind, text=text.strip()[:200]))
                break
    return found


REDACTED = "[removed: text addressed to the grader]"


def redact_injections(text: str, injections: list[Injection]) -> str:
    """`text` with every flagged sentence replaced by a marker the grader ignores."""
    for inj in injections:
        text = text.replace(inj.text, REDACTED)
    return text


def strip_marker(text: str) -> str:
    """`text` without redaction markers (for word counts)."""
    return text.replace(REDACTED, " ")


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
_MD_IMAGE_REF = re.compile(r"!\[([^\]]*)\]\[[^\]]*\]")


def neutralise_images(text: str) -> str:
    """Turn Markdown images into plain text so no report or chat fetches a remote URL."""
    text = _MD_IMAGE.sub(lambda m: f"[image: {m.group(1).strip() or 'untitled'}]", text)
    return _MD_IMAGE_REF.sub(lambda m: f"[image: {m.group(1).strip() or 'untitled'}]", text)
