"""The report: Markdown, HTML (autoescaped) and JSON renderings of a GradeReport.

Candidate and model text is untrusted. In both Markdown and HTML, Markdown images are turned into
plain text (an image URL can leak data when the report is viewed); in HTML every such string goes
through Jinja's autoescape; in Markdown, angle brackets are escaped so no raw HTML survives.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import jinja2

from app.errors import SdmockError
from app.grading.models import DimensionGrade, GradeReport
from app.grading.text import neutralise_images

_WS = re.compile(r"\s+")


def safe_text(text: str | None) -> str:
    """Untrusted text for any report: images neutralised, whitespace collapsed."""
    return _WS.sub(" ", neutralise_images(text or "")).strip()


def md_text(text: str | None) -> str:
    """Untrusted text for Markdown: no images, no raw HTML, no table breaks, no links fetched."""
    out = safe_text(text)
    out = out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace("|", "\\|")


def _score(d: DimensionGrade) -> str:
    return "failed" if d.score is None else f"{d.score}/4"


def _overall(report: GradeReport) -> str:
    if report.overall is None:
        return "not available (no dimension could be graded)"
    return f"{report.overall:.2f} / 4"


def grader_line(report: GradeReport) -> str:
    """Which grader produced the report, in words."""
    if report.grader == "heuristic":
        return (
            "Heuristic only (no model configured): every score comes from evidence the code verified in "
            "the transcript, with the quotes shown."
        )
    return (
        f"Heuristic evidence plus an LLM judge ({report.model}) per dimension; quotes verified verbatim, "
        "caps and floors from the verified evidence, overall and verdict computed in code."
    )


def usage_line(report: GradeReport) -> str:
    """Tokens and cost in words."""
    u = report.usage
    if report.grader == "heuristic":
        return "No model calls (0 tokens, no cost)."
    cost = "unknown (no price for this model)" if u.cost_usd is None else f"${u.cost_usd:.4f}"
    return f"{u.prompt_tokens} prompt + {u.completion_tokens} completion tokens; cost {cost}."


def render_markdown(report: GradeReport) -> str:
    """The report as Markdown."""
    lines: list[str] = []
    add = lines.append
    add(f"# Interview report: {md_text(report.problem_title)} ({report.level})")
    add("")
    verdict = f" - **{report.verdict}**" if report.verdict else ""
    add(f"**Overall: {_overall(report)}**{verdict}")
    if report.verdict_meaning:
        add(f"  \n{report.verdict_meaning}")
    add("")
    bands = "; ".join(f"{band} {verdict_}" for band, verdict_ in report.bands)
    add(f"Verdict bands (mean of the graded dimensions, 1-4): {bands}.")
    add("")
    add(f"**Grader:** {grader_line(report)}")
    if report.failed:
        add("")
        add(
            f"**Failed gradings:** {', '.join(report.failed)}. The model gave no valid answer after its "
            "retries; these dimensions have no score and the overall is the mean of the others."
        )
    add("")
    add("| Dimension | Score | Evidence-only score | Status |")
    add("|---|---|---|---|")
    for d in report.dimensions:
        add(f"| {md_text(d.name)} | {_score(d)} | {d.heuristic_score}/4 | {d.status} |")
    add("")
    if report.flags:
        add("## Flags")
        add("")
        for f in report.flags:
            where = f" (turn {f.turn})" if f.turn is not None else ""
            said = f': "{md_text(f.text)}"' if f.text else ""
            add(f"- **{md_text(f.kind)}**{where}: {md_text(f.message)}{said}")
        add("")
    add("## Dimensions")
    for d in report.dimensions:
        add("")
        add(f"### {md_text(d.name)}: {_score(d)}")
        add("")
        if d.status == "failed":
            add(
                f"Grading failed: {md_text(d.error)}. "
                f"Evidence-only score for reference: {d.heuristic_score}/4."
            )
            add("")
        if d.rationale:
            add(md_text(d.rationale))
            add("")
        if d.evidence:
            add("Evidence:")
            add("")
            for q in d.evidence:
                note = f" - {md_text(q.note)}" if q.note else ""
                add(f'> "{md_text(q.text)}" (turn {q.turn}){note}')
                add("")
        else:
            add("No verifiable evidence was found for this dimension.")
            add("")
        if d.rules:
            add("Rules applied: " + "; ".join(md_text(r) for r in d.rules) + ".")
            add("")
        if d.dropped_quotes:
            add(
                f"{len(d.dropped_quotes)} quote(s) from the judge were dropped because they do not "
                "appear verbatim in the candidate's turns."
            )
            add("")
    if report.moments:
        add("## Pivotal moments")
        add("")
        for m in report.moments:
            note = f" - {md_text(m.note)}" if m.note else ""
            add(f'- Turn {m.turn}, {md_text(m.kind)}: "{md_text(m.text)}"{note}')
        add("")
    if report.strong_answer:
        add("## What a strong answer would have included")
        add("")
        for item in report.strong_answer:
            add(f"- {md_text(item)}")
        add("")
    add("## Study next")
    add("")
    if report.study_notes:
        for n in report.study_notes:
            heading = f" - {md_text(n.heading)}" if n.heading else ""
            add(f"- **{md_text(n.title or n.source)}**{heading} (`{md_text(n.source)}`): {md_text(n.reason)}")
            if n.excerpt:
                add(f"  > {md_text(n.excerpt)}")
    else:
        add(md_text(report.notes_status or "No notes retrieved."))
    add("")
    add("## Grader, model and cost")
    add("")
    add(f"- Grader: {report.grader}")
    add(f"- Model: {md_text(report.model) if report.model else 'none (heuristic only)'}")
    add(f"- Tokens and cost: {usage_line(report)}")
    prompt_ids = sorted({d.prompt_id for d in report.dimensions if d.prompt_id})
    if prompt_ids:
        add(f"- Prompt: {', '.join(prompt_ids)}")
    add(f"- Rubric version: {report.rubric_version}")
    add(f"- Candidate: {report.candidate_turns} turns, {report.candidate_words} words")
    add(f"- Grading time: {report.elapsed_s:.2f} s")
    add("")
    return "\n".join(lines)


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Interview report: {{ r.problem_title }} ({{ r.level }})</title>
<style>
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;
line-height:1.45;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
blockquote{margin:.4rem 0;padding:.2rem .8rem;border-left:3px solid #aaa;background:#f6f6f6}
.failed{color:#a00;font-weight:bold}.flag{color:#8a4b00}.small{color:#666;font-size:.9em}
</style></head><body>
<h1>Interview report: {{ r.problem_title }} ({{ r.level }})</h1>
<p><strong>Overall: {{ overall }}</strong>
{%- if r.verdict %} &mdash; <strong>{{ r.verdict }}</strong>{% endif %}</p>
{% if r.verdict_meaning %}<p>{{ r.verdict_meaning }}</p>{% endif %}
<p class="small">Verdict bands (mean of the graded dimensions, 1-4):
{% for band, v in r.bands %}{{ band }} {{ v }}{% if not loop.last %}; {% endif %}{% endfor %}.</p>
<p><strong>Grader:</strong> {{ grader_line }}</p>
{% if r.failed %}<p class="failed">Failed gradings: {{ r.failed|join(", ") }}. These dimensions have no score;
the overall is the mean of the others.</p>{% endif %}
<table><tr><th>Dimension</th><th>Score</th><th>Evidence-only score</th><th>Status</th></tr>
{% for d in r.dimensions %}<tr><td>{{ d.name }}</td>
<td{% if d.status == "failed" %} class="failed"{% endif %}>
{{- "failed" if d.score is none else d.score ~ "/4" }}</td>
<td>{{ d.heuristic_score }}/4</td><td>{{ d.status }}</td></tr>
{% endfor %}</table>
{% if r.flags %}<h2>Flags</h2><ul>
{% for f in r.flags %}<li class="flag"><strong>{{ f.kind }}</strong>
{%- if f.turn is not none %} (turn {{ f.turn }})
{%- endif %}: {{ f.message|safe_text }}{% if f.text %}: &ldquo;{{ f.text|safe_text }}&rdquo;{% endif %}</li>
{% endfor %}</ul>{% endif %}
<h2>Dimensions</h2>
{% for d in r.dimensions %}<h3>{{ d.name }}: {{ "failed" if d.score is none else d.score ~ "/4" }}</h3>
{% if d.status == "failed" %}<p class="failed">Grading failed: {{ d.error|safe_text }}.
Evidence-only score for reference: {{ d.heuristic_score }}/4.</p>{% endif %}
{% if d.rationale %}<p>{{ d.rationale|safe_text }}</p>{% endif %}
{% if d.evidence %}{% for q in d.evidence %}
<blockquote>&ldquo;{{ q.text|safe_text }}&rdquo; (turn {{ q.turn }})
{%- if q.note %} &mdash; {{ q.note|safe_text }}{% endif %}</blockquote>
{% endfor %}{% else %}<p>No verifiable evidence was found for this dimension.</p>{% endif %}
{% if d.rules %}<p class="small">Rules applied: {{ d.rules|map("safe_text")|join("; ") }}.</p>{% endif %}
{% if d.dropped_quotes %}<p class="small">{{ d.dropped_quotes|length }} quote(s) from the judge were dropped:
not verbatim in the candidate's turns.</p>{% endif %}
{% endfor %}
{% if r.moments %}<h2>Pivotal moments</h2><ul>
{% for m in r.moments %}<li>Turn {{ m.turn }}, {{ m.kind }}: &ldquo;{{ m.text|safe_text }}&rdquo;
{%- if m.note %} &mdash; {{ m.note|safe_text }}{% endif %}</li>
{% endfor %}</ul>{% endif %}
{% if r.strong_answer %}<h2>What a strong answer would have included</h2><ul>
{% for item in r.strong_answer %}<li>{{ item|safe_text }}</li>
{% endfor %}</ul>{% endif %}
<h2>Study next</h2>
{% if r.study_notes %}<ul>{% for n in r.study_notes %}<li><strong>{{ n.title or n.source }}</strong>
{%- if n.heading %} &mdash; {{ n.heading }}{% endif %} (<code>{{ n.source }}</code>): {{ n.reason|safe_text }}
{% if n.excerpt %}<blockquote>{{ n.excerpt|safe_text }}</blockquote>{% endif %}</li>
{% endfor %}</ul>{% else %}<p>{{ r.notes_status or "No notes retrieved." }}</p>{% endif %}
<h2>Grader, model and cost</h2>
<ul><li>Grader: {{ r.grader }}</li><li>Model: {{ r.model or "none (heuristic only)" }}</li>
<li>Tokens and cost: {{ usage_line }}</li>
{% if prompt_ids %}<li>Prompt: {{ prompt_ids|join(", ") }}</li>{% endif %}
<li>Rubric version: {{ r.rubric_version }}</li>
<li>Candidate: {{ r.candidate_turns }} turns, {{ r.candidate_words }} words</li>
<li>Grading time: {{ "%.2f"|format(r.elapsed_s) }} s</li></ul>
</body></html>
"""


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["safe_text"] = safe_text
    return env.from_string(_HTML)


def render_html(report: GradeReport) -> str:
    """The report as a standalone HTML page; all text is escaped."""
    prompt_ids = sorted({d.prompt_id for d in report.dimensions if d.prompt_id})
    return _template().render(
        r=report,
        overall=_overall(report),
        grader_line=grader_line(report),
        usage_line=usage_line(report),
        prompt_ids=prompt_ids,
    )


def render_json(report: GradeReport) -> str:
    """The full report record as JSON."""
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False)


def write_report(report: GradeReport, path: Path) -> Path:
    """Write the report in the format its suffix names (.md, .html, .json)."""
    suffix = path.suffix.lower()
    renderers = {
        ".md": render_markdown,
        ".markdown": render_markdown,
        ".html": render_html,
        ".htm": render_html,
    }
    if suffix == ".json":
        text = render_json(report)
    elif suffix in renderers:
        text = renderers[suffix](report)
    else:
        raise SdmockError(f"cannot write a report as {path.name}", "use a .md, .html or .json file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SdmockError(
            f"cannot write the report to {path}: {exc}", "check the folder exists and is writable"
        ) from exc
    return path
