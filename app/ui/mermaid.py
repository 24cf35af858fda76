"""Mermaid flowcharts on the scratchpad, drawn as Graphviz DOT (Streamlit renders DOT, not Mermaid).

Covers what candidates draw in an interview: `graph`/`flowchart` with a direction, node shapes (a
database as `[(DB)]`, a queue as `[[Queue]]`, a decision as `{...}`), chains (`A --> B --> C`), `&`
groups, edge labels in both spellings (`-->|text|` and `-- text -->`), dotted, thick, undirected and
two-way links, and nested `subgraph ... end` blocks, drawn as clusters. Styling lines (`style`,
`classDef`, `class`, `linkStyle`, `click`) and `%%` comments are skipped. Other diagram types
(sequence, class, ER) are not flowcharts and give None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Node shapes: Mermaid delimiters -> (Graphviz shape, extra attributes). Longer openers come first.
_SHAPES: list[tuple[str, str, str, str]] = [
    (r"\[\(", r"\)\]", "cylinder", ""),
    (r"\(\(", r"\)\)", "circle", ""),
    (r"\(\[", r"\]\)", "box", 'style="rounded"'),
    (r"\[\[", r"\]\]", "box", "peripheries=2"),
    (r"\{\{", r"\}\}", "hexagon", ""),
    (r"\[/", r"/\]", "parallelogram", ""),
    (r"\[\\", r"\\\]", "parallelogram", ""),
    (r"\[", r"\]", "box", ""),
    (r"\(", r"\)", "box", 'style="rounded"'),
    (r"\{", r"\}", "diamond", ""),
    (r">", r"\]", "cds", ""),
]
_NODE = re.compile(
    r"\s*(?P<id>[A-Za-z0-9_][A-Za-z0-9_.]*)"
    + "(?:"
    + "|".join(f'{o}(?P<s{i}>"[^"]*"|.*?){c}' for i, (o, c, _, _) in enumerate(_SHAPES))
    + ")?"
)
# A link: optional inline text (`-- text -->`, `-. text .->`, `== text ==>`) or a plain arrow with an
# optional `|text|` after it.
# The text starts and ends on a non-space and the spaces around it are possessive (`\s++`): a line of
# spaces cannot make the regex try every split of them (that was cubic: 56 s for 2,000 spaces).
_LINK = re.compile(
    r"\s*+(?:"
    r"(?P<open><?(?:--|==|-\.))\s++(?P<itext>[^|>\s](?:[^|>]*[^|>\s])?)\s++"
    r"(?P<iarrow>-{2,}[>ox]?|={2,}>?|\.-+>?)"
    r"|(?P<arrow><?(?:-{2,}[>ox]|-{3,}|={2,}>|={3,}|-\.+->|-\.+-))\s*+(?:\|(?P<ptext>[^|]*)\|)?"
    r")\s*+"
)
MAX_LINE = 500
"""Longer lines are not diagram statements; they are skipped without being parsed."""
_AMPERSAND = re.compile(r"\s*&\s*")
_SKIP = re.compile(r"^(%%|style\s|classDef\s|class\s|linkStyle\s|click\s|direction\s)", re.IGNORECASE)
_SUBGRAPH = re.compile(r"^subgraph\s+(?P<rest>.+?)\s*$", re.IGNORECASE)


@dataclass
class _Cluster:
    name: str
    title: str
    nodes: list[str] = field(default_factory=list)
    children: list[_Cluster] = field(default_factory=list)


@dataclass
class _Graph:
    labels: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    root: _Cluster = field(default_factory=lambda: _Cluster("", ""))
    clusters: int = 0

    def node(self, node_id: str, label: str | None, attrs: str, cluster: _Cluster) -> None:
        if node_id not in self.labels:
            self.labels[node_id] = node_id
            cluster.nodes.append(node_id)  # a node belongs where it is first mentioned
        if label is not None:
            self.labels[node_id] = label
            self.attrs[node_id] = attrs


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return text.replace("<br>", "\n").replace("<br/>", "\n")


_Node = tuple[str, str | None, str]  # id, label (None: not given here), Graphviz attributes


def _node_group(line: str, pos: int) -> tuple[list[_Node], int] | None:
    """Parse `A[..] & B(..)` at pos: the nodes and the position after them."""
    nodes: list[_Node] = []
    while True:
        m = _NODE.match(line, pos)
        if m is None:
            return None
        label, attrs = None, ""
        for i, (_, _, shape, extra) in enumerate(_SHAPES):
            if m.group(f"s{i}") is not None:
                label = _unquote(m.group(f"s{i}"))
                attrs = f"shape={shape}" + (f", {extra}" if extra else "")
                break
        nodes.append((m.group("id"), label, attrs))
        pos = m.end()
        amp = _AMPERSAND.match(line, pos)
        if amp is None:
            return nodes, pos
        pos = amp.end()


def _edge_attrs(arrow: str, text: str) -> str:
    attrs = []
    if text:
        attrs.append(f'label="{_dot_escape(text)}"')
    if "." in arrow:
        attrs.append("style=dashed")
    if "=" in arrow:
        attrs.append("penwidth=2")
    if arrow.startswith("<"):
        attrs.append("dir=both")
    elif arrow.endswith("o"):
        attrs.append("arrowhead=odot")
    elif arrow.endswith("x"):
        attrs.append("arrowhead=tee")
    elif not arrow.endswith(">"):
        attrs.append("dir=none")
    return ", ".join(attrs)


def _statement(line: str) -> tuple[list[_Node], list[tuple[str, str, str]]] | None:
    """The nodes and edges of one node or link statement; None unless the whole line parses."""
    first = _node_group(line, 0)
    if first is None:
        return None
    left, pos = first
    nodes, edges = list(left), []
    while pos < len(line):
        link = _LINK.match(line, pos)
        if link is None:
            return None
        nxt = _node_group(line, link.end())
        if nxt is None:
            return None
        right, pos = nxt
        if link.group("open"):
            arrow, text = link.group("open") + link.group("iarrow"), link.group("itext")
        else:
            arrow, text = link.group("arrow"), link.group("ptext") or ""
        attrs = _edge_attrs(arrow, _unquote(text))
        edges += [(a[0], b[0], attrs) for a in left for b in right]
        nodes += right
        left = right
    return nodes, edges


def mermaid_to_dot(text: str) -> str | None:
    """DOT for a Mermaid flowchart, or None when the text is not one (or names no node)."""
    lines = [ln.strip().rstrip(";").strip() for ln in text.strip().splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        return None
    header = lines[0].split()
    if header[0].lower() not in ("graph", "flowchart"):
        return None
    direction = header[1].upper() if len(header) > 1 else "TB"
    rankdir = {"TD": "TB", "TB": "TB", "BT": "BT", "LR": "LR", "RL": "RL"}.get(direction, "TB")
    graph = _Graph()
    stack = [graph.root]
    for line in lines[1:]:
        if _SKIP.match(line):
            continue
        if line.lower() == "end" and len(stack) > 1:
            stack.pop()
            continue
        sub = _SUBGRAPH.match(line)
        if sub:
            rest = sub.group("rest")
            titled = re.match(r"^([A-Za-z0-9_]+)\s*\[(.*)\]$", rest)
            title = _unquote(titled.group(2)) if titled else _unquote(rest)
            graph.clusters += 1
            child = _Cluster(f"cluster_{graph.clusters}", title)
            stack[-1].children.append(child)
            stack.append(child)
            continue
        parsed = _statement(line) if len(line) <= MAX_LINE else None
        if parsed is not None:  # a line that is not a statement adds nothing, not half of itself
            for node_id, label, attrs in parsed[0]:
                graph.node(node_id, label, attrs, stack[-1])
            graph.edges += parsed[1]
    if not graph.labels:
        return None
    out = [f"digraph {{ rankdir={rankdir}; node [shape=box];"]
    _emit(graph.root, graph, out, "  ")
    for a, b, attrs in graph.edges:
        out.append(f'  "{_dot_escape(a)}" -> "{_dot_escape(b)}"' + (f" [{attrs}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out)


def _emit(cluster: _Cluster, graph: _Graph, out: list[str], indent: str) -> None:
    for n in cluster.nodes:
        extra = f", {graph.attrs[n]}" if graph.attrs.get(n) else ""
        out.append(f'{indent}"{_dot_escape(n)}" [label="{_dot_escape(graph.labels[n])}"{extra}];')
    for child in cluster.children:
        out.append(f'{indent}subgraph "{child.name}" {{ label="{_dot_escape(child.title)}";')
        _emit(child, graph, out, indent + "  ")
        out.append(f"{indent}}}")


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
