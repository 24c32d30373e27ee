"""displaCy-style pictures of relations: ``render(docs, style="rel")`` returns HTML with an
inline SVG per doc.

Each doc is drawn as rows of tokens (wrapped at ``options["width"]`` pixels, an entity
never split across rows), entities as coloured boxes with their label underneath, and
every relation as a directed arc from its head (dot) to its tail (arrow), labelled, with
the label, score, source and both arguments in a tooltip (``<title>``, shown on hover).

How the picture stays readable with many relations:

* arcs in a row are stacked on levels; an arc occupies the horizontal interval of its
  span *and* of its label, and no two arcs share a level where those intervals meet, so
  labels never overlap (an arc enclosing another is always drawn above it);
* arcs ending on one entity leave from points spread across its box, ordered by where
  the other end lies;
* a relation between rows runs up from its head, out to its own vertical lane beside the
  rows, and into the tail's row from above; labels are drawn on top of all lines.

Token widths are estimated from their characters (East Asian wide characters one em,
combining marks nothing, Latin capitals wider than lowercase), generously, and every token
is centred in its slot, so arc ends sit over their tokens whatever font the browser picks.
A doc whose text is mostly right-to-left (Arabic, Hebrew) is laid out from the right; CJK
text without spaces gets a gap between tokens. All text is HTML-escaped.

``make_server`` is the page ``spacy-xlie serve`` runs (as ``spacy.displacy.serve`` sits
beside ``spacy.displacy.render``): a form to paste text, and the pipeline's relations.
"""

import html
import threading
import unicodedata
import zlib
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qs

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import is_in_jupyter
from wasabi import msg

from .corpora.jsonl import record_to_doc

#: Arc colours by relation source (``options["arc_colors"]`` overrides, by source or label).
SOURCE_COLORS = {
    "gold": "#2e7d32", "predicted": "#1565c0", "distant": "#e65100", "projected": "#6a1b9a",
}
#: Entity colours by label (``options["colors"]`` overrides), as displaCy's ``ent`` style.
ENT_COLORS = {
    "PER": "#aa9cfc", "PERSON": "#aa9cfc", "ORG": "#7aecec", "LOC": "#ff9561",
    "GPE": "#feca74", "MISC": "#e4e7d2", "NORP": "#c887fb", "DATE": "#bfe1d9",
    "ENT": "#ddd", "TITLE": "#f0d0ff",
}
_PALETTE = ["#bfeeb7", "#ffeb80", "#9cc9cc", "#e4e7d2", "#c887fb", "#fc9ce7", "#f0d0ff"]
_OTHER_SOURCE = "#546e7a"

DEFAULT_OPTIONS: Dict[str, Any] = {
    "width": 920,  # row width in pixels before wrapping
    "font": "'DejaVu Sans', Verdana, 'Noto Sans', 'Noto Naskh Arabic', 'Noto Sans CJK SC', "
            "'WenQuanYi Micro Hei', 'Microsoft YaHei', Arial, sans-serif",
    "font_size": 16,
    "colors": {},
    "arc_colors": {},
    "sources": None,  # only these relation sources (None: all)
    "min_score": 0.0,
    "direction": "auto",  # "ltr", "rtl" or "auto" (from the text)
    "show_scores": False,  # print the score after the label (always in the tooltip)
}

# Geometry, in pixels
_PAD = 12  # around the picture
_SPACE_GAP = 8  # between tokens with a space between them
_JOIN_GAP = 5  # between tokens without (CJK, punctuation)
_BOX_PAD = 2.5  # entity box around its text
_BOX_H = 26  # entity box height
_ENT_LABEL_H = 14
_LEVEL_H = 22  # vertical distance between arc levels
_ARC_LABEL_SIZE = 11
_LABEL_H = 16
_ROW_GAP = 14
_LANE_GAP = 10
_CORNER = 5
_WIDE = {"m": 0.98, "w": 0.84, "M": 0.88, "W": 1.0, "@": 1.0, "%": 0.95}
_NARROW = set(".,;:!|'\"()[]{}-ilIjft`·")


def text_width(text: str, size: float) -> float:
    """A generous estimate of ``text``'s rendered width at font size ``size``.

    Arabic letters join, so a word's width grows more slowly than its letter count (and
    a short word's isolated forms are wide): one em, plus 0.42 per letter."""
    width = 0.0
    arabic = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        if "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f":
            arabic += 1
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            width += 1.05
        elif ch in _NARROW or ch.isspace():
            width += 0.36
        elif ch in _WIDE:
            width += _WIDE[ch]
        elif ch.isupper():
            width += 0.78
        else:
            width += 0.64
    if arabic:
        width += 1.0 + 0.42 * arabic
    return width * size


def is_rtl(text: str) -> bool:
    """Whether most strongly directional characters of ``text`` are right-to-left."""
    rtl = ltr = 0
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        rtl += kind in ("R", "AL")
        ltr += kind == "L"
    return rtl > ltr


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _label_color(label: str, colors: Dict[str, str]) -> str:
    if label in colors:
        return colors[label]
    if label in ENT_COLORS:
        return ENT_COLORS[label]
    return _PALETTE[zlib.crc32(label.encode("utf8")) % len(_PALETTE)]


@dataclass
class _Ent:
    start: int
    end: int
    label: str
    kb_id: str
    text: str
    row: int = 0
    x0: float = 0.0
    x1: float = 0.0
    ends: List[Tuple[float, int, str]] = field(default_factory=list)  # (key, arc, role)


@dataclass
class _Arc:
    head: int
    tail: int
    label: str
    score: float
    source: Optional[str]
    color: str
    hx: float = 0.0
    tx: float = 0.0
    levels: Dict[str, int] = field(default_factory=dict)  # "head"/"tail" row -> level
    lane: int = -1
    label_w: float = 0.0
    label_x: float = 0.0


class _Layout:
    """Positions of one doc's tokens, entities and arcs (left-to-right coordinates)."""

    def __init__(self, doc: Doc, options: Dict[str, Any]) -> None:
        self.doc = doc
        self.opts = options
        self.size = float(options["font_size"])
        self.width = float(options["width"])
        self.ents = self._entities(doc)
        self.arcs = self._arcs(doc)
        self.slots: Dict[int, Tuple[float, float, int]] = {}  # token -> (x0, x1, row)
        self.n_rows = 1
        self._place_tokens()
        self._place_ends()
        self.row_levels = [0] * self.n_rows
        self.max_x = 0.0  # right end of the widest label
        self._assign_levels()
        self.n_lanes = self._assign_lanes()

    # -- what to draw -------------------------------------------------------------------
    def _entities(self, doc: Doc) -> List[_Ent]:
        spans: Dict[Tuple[int, int], Span] = {(e.start, e.end): e for e in doc.ents}
        for rel in doc._.relations:
            for span in (rel.head, rel.tail):
                spans.setdefault((span.start, span.end), span)
        return [_Ent(s.start, s.end, s.label_, s.kb_id_, s.text)
                for _, s in sorted(spans.items())]

    def _arcs(self, doc: Doc) -> List[_Arc]:
        index = {(e.start, e.end): i for i, e in enumerate(self.ents)}
        sources = self.opts["sources"]
        colors = self.opts["arc_colors"]
        arcs = []
        for rel in doc._.relations:
            if sources is not None and rel.source not in sources:
                continue
            if rel.score < self.opts["min_score"]:
                continue
            color = colors.get(rel.label) or colors.get(rel.source) or SOURCE_COLORS.get(
                rel.source or "", _OTHER_SOURCE)
            arc = _Arc(index[(rel.head.start, rel.head.end)], index[(rel.tail.start, rel.tail.end)],
                       rel.label, float(rel.score), rel.source, color)
            arc.label_w = text_width(self.arc_text(arc), _ARC_LABEL_SIZE) + 10
            arcs.append(arc)
        return arcs

    def arc_text(self, arc: _Arc) -> str:
        if self.opts["show_scores"]:
            return f"{arc.label} {arc.score:.2f}"
        return arc.label

    # -- horizontal layout ----------------------------------------------------------------
    def _units(self) -> List[Tuple[int, int]]:
        """Token ranges that must stay on one row: entities (overlapping ones joined),
        else single tokens."""
        ends: Dict[int, int] = {}
        for ent in self.ents:
            ends[ent.start] = max(ends.get(ent.start, 0), ent.end)
        units, i = [], 0
        while i < len(self.doc):
            end, j = i + 1, i
            while j < end:
                end = max(end, ends.get(j, 0))
                j += 1
            units.append((i, end))
            i = end
        return units

    def _place_tokens(self) -> None:
        """Each token's slot (its text's estimated extent), wrapping between units."""
        x, row = float(_PAD), 0
        for start, end in self._units():
            tokens = self.doc[start:end]
            widths = [0.0 if t.is_space else text_width(t.text, self.size) for t in tokens]
            gaps = [(_SPACE_GAP if t.whitespace_ else _JOIN_GAP) if w else 0.0
                    for t, w in zip(tokens, widths)]
            if x > _PAD and x + sum(widths) + sum(gaps[:-1]) > self.width + _PAD:
                x, row = float(_PAD), row + 1
            for token, w, gap in zip(tokens, widths, gaps):
                self.slots[token.i] = (x, x + w, row)
                x += w + gap
                if token.is_space and "\n" in token.text:
                    x, row = float(_PAD), row + 1
        self.n_rows = row + 1
        for ent in self.ents:
            ent.x0, _, ent.row = self.slots[ent.start]
            ent.x1 = self.slots[ent.end - 1][1]

    def _place_ends(self) -> None:
        """Spread the arc ends on each entity, ordered by where the other end is."""
        for i, arc in enumerate(self.arcs):
            head, tail = self.ents[arc.head], self.ents[arc.tail]
            for role, ent, other in (("head", head, tail), ("tail", tail, head)):
                key = (other.x0 + other.x1) / 2 if other.row == ent.row else 1e9
                ent.ends.append((key, i, role))
        for ent in self.ents:
            ent.ends.sort()
            inner0, inner1 = ent.x0 + 1, ent.x1 - 1
            n = len(ent.ends)
            for k, (_, i, role) in enumerate(ent.ends):
                x = inner0 + (inner1 - inner0) * (k + 1) / (n + 1)
                setattr(self.arcs[i], "hx" if role == "head" else "tx", x)

    @property
    def right(self) -> float:
        """Right edge of the rows (where lanes start)."""
        used = max((x1 for _, x1, _ in self.slots.values()), default=_PAD)
        return max(used, _PAD + 1.0)

    # -- levels and lanes ---------------------------------------------------------------
    def _segments(self) -> List[Tuple[float, int, str, int, float, float]]:
        """(length, arc, part, row, lo, hi): the horizontal pieces that need a level, each
        with its label (centred on the piece, but never past the picture's left edge).
        Pieces that run to the side lanes sort after all others: they go on top."""
        segs = []
        edge = self.right + _LANE_GAP / 2
        for i, arc in enumerate(self.arcs):
            head, tail = self.ents[arc.head], self.ents[arc.tail]
            same_row = head.row == tail.row
            lo, hi = sorted((arc.hx, arc.tx if same_row else edge))
            arc.label_x = max((lo + hi) / 2, _PAD / 2 + arc.label_w / 2)
            lo = min(lo, arc.label_x - arc.label_w / 2)
            hi = max(hi, arc.label_x + arc.label_w / 2)
            self.max_x = max(self.max_x, hi)
            if same_row:
                segs.append((hi - lo, i, "head", head.row, lo, hi))
            else:
                segs.append((hi - lo + 1e6, i, "head", head.row, lo, hi))
                segs.append((edge - arc.tx + 1e6, i, "tail", tail.row, arc.tx, edge))
        return sorted(segs)

    def _assign_levels(self) -> None:
        taken: Dict[Tuple[int, int], List[Tuple[float, float]]] = {}
        for _, i, part, row, lo, hi in self._segments():
            level = 0
            while any(lo < b + 4 and a - 4 < hi for a, b in taken.get((row, level), [])):
                level += 1
            taken.setdefault((row, level), []).append((lo, hi))
            self.arcs[i].levels[part] = level
            self.row_levels[row] = max(self.row_levels[row], level + 1)

    def _assign_lanes(self) -> int:
        lanes: List[List[Tuple[int, int]]] = []
        cross = [a for a in self.arcs if self.ents[a.head].row != self.ents[a.tail].row]
        for arc in sorted(cross, key=lambda a: abs(self.ents[a.head].row - self.ents[a.tail].row)):
            rows = sorted((self.ents[arc.head].row, self.ents[arc.tail].row))
            for k, used in enumerate(lanes):
                if all(rows[1] < a or b < rows[0] for a, b in used):
                    used.append((rows[0], rows[1]))
                    arc.lane = k
                    break
            else:
                lanes.append([(rows[0], rows[1])])
                arc.lane = len(lanes) - 1
        return len(lanes)

    # -- vertical layout ------------------------------------------------------------------
    def row_tops(self) -> List[float]:
        """y of each row's entity boxes."""
        tops, y = [], float(_PAD)
        for levels in self.row_levels:
            y += levels * _LEVEL_H + (_LABEL_H // 2 + 4 if levels else 0)
            tops.append(y)
            y += _BOX_H + _ENT_LABEL_H + _ROW_GAP
        return tops

    def total_size(self) -> Tuple[float, float]:
        tops = self.row_tops()
        width = max(self.right + (self.n_lanes + 1) * _LANE_GAP, self.max_x) + _PAD
        return width, tops[-1] + _BOX_H + _ENT_LABEL_H + _PAD


def _rounded(points: Sequence[Tuple[float, float]], r: float = _CORNER) -> str:
    """An SVG path through ``points`` (axis-aligned polyline) with rounded corners."""
    (x, y), parts = points[0], [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for (px, py), (nx, ny) in zip(points[1:-1], points[2:]):
        d_in = max(abs(px - x), abs(py - y))
        d_out = max(abs(nx - px), abs(ny - py))
        k = min(r, d_in / 2, d_out / 2)
        ax = px - k * _sign(px - x)
        ay = py - k * _sign(py - y)
        bx = px + k * _sign(nx - px)
        by = py + k * _sign(ny - py)
        parts.append(f"L{ax:.1f},{ay:.1f} Q{px:.1f},{py:.1f} {bx:.1f},{by:.1f}")
        x, y = px, py
    parts.append(f"L{points[-1][0]:.1f},{points[-1][1]:.1f}")
    return " ".join(parts)


def _sign(v: float) -> int:
    return (v > 0) - (v < 0)


def _render_doc(doc: Doc, options: Dict[str, Any], n: int) -> str:
    layout = _Layout(doc, options)
    width, height = layout.total_size()
    direction = options["direction"]
    rtl = is_rtl(doc.text) if direction == "auto" else direction == "rtl"

    def X(x: float) -> float:  # noqa: N802  (mirror for right-to-left docs)
        return width - x if rtl else x

    tops = layout.row_tops()
    size = layout.size
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="xlie-rel-svg" '
           f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
           f'direction="{"rtl" if rtl else "ltr"}" '
           f'style="font-family: {_esc(options["font"])}; max-width: none">']
    colors = options["colors"]
    for ent in layout.ents:
        x0, x1 = sorted((X(ent.x0 - _BOX_PAD), X(ent.x1 + _BOX_PAD)))
        top = tops[ent.row]
        tip = f"{ent.text} ({ent.label}{', ' + ent.kb_id if ent.kb_id else ''})"
        out.append(
            f'<g class="xlie-ent" data-start="{ent.start}" data-end="{ent.end}">'
            f"<title>{_esc(tip)}</title>"
            f'<rect x="{x0:.1f}" y="{top:.1f}" width="{x1 - x0:.1f}" height="{_BOX_H}" '
            f'rx="5" fill="{_esc(_label_color(ent.label, colors))}"/>'
            f'<text x="{(x0 + x1) / 2:.1f}" y="{top + _BOX_H + _ENT_LABEL_H - 2:.1f}" '
            f'text-anchor="middle" font-size="10" font-weight="bold" fill="#444" '
            f'direction="ltr">{_esc(ent.label)}</text></g>'
        )
    for token in doc:
        if token.is_space:
            continue
        x0, x1, row = layout.slots[token.i]
        out.append(
            f'<text class="xlie-token" data-i="{token.i}" x="{X((x0 + x1) / 2):.1f}" '
            f'y="{tops[row] + _BOX_H / 2 + size * 0.36:.1f}" text-anchor="middle" '
            f'font-size="{size:.0f}" fill="#222">{_esc(token.text)}</text>'
        )
    paths, labels = [], []
    for arc in layout.arcs:
        head, tail = layout.ents[arc.head], layout.ents[arc.tail]

        yh = tops[head.row] - (arc.levels["head"] + 1) * _LEVEL_H + 6
        if head.row == tail.row:
            pts = [(arc.hx, tops[head.row]), (arc.hx, yh), (arc.tx, yh), (arc.tx, tops[tail.row])]
        else:
            lane_x = layout.right + (arc.lane + 1) * _LANE_GAP
            yt = tops[tail.row] - (arc.levels["tail"] + 1) * _LEVEL_H + 6
            pts = [(arc.hx, tops[head.row]), (arc.hx, yh), (lane_x, yh), (lane_x, yt),
                   (arc.tx, yt), (arc.tx, tops[tail.row])]
        pts = [(X(x), y) for x, y in pts]
        tip = (f"{head.text} \u2192 {arc.label} \u2192 {tail.text}: score {arc.score:.3f}"
               f" ({arc.source or 'no source'})")
        hx, hy = pts[0]
        tx, ty = pts[-1]
        paths.append(
            f'<g class="xlie-arc" data-head="{head.start},{head.end}" '
            f'data-tail="{tail.start},{tail.end}" data-label="{_esc(arc.label)}" '
            f'data-score="{arc.score:.4f}" data-source="{_esc(arc.source or "")}">'
            f"<title>{_esc(tip)}</title>"
            f'<path d="{_rounded(pts)}" fill="none" stroke="{_esc(arc.color)}" '
            f'stroke-width="1.6"/>'
            f'<circle cx="{hx:.1f}" cy="{hy - 1:.1f}" r="2.6" fill="{_esc(arc.color)}"/>'
            f'<path d="M{tx - 4:.1f},{ty - 8:.1f} L{tx + 4:.1f},{ty - 8:.1f} L{tx:.1f},{ty:.1f} Z" '
            f'fill="{_esc(arc.color)}"/></g>'
        )
        lx = X(arc.label_x)
        labels.append(
            f'<g class="xlie-arc-label" data-head="{head.start},{head.end}" '
            f'data-tail="{tail.start},{tail.end}"><title>{_esc(tip)}</title>'
            f'<rect x="{lx - arc.label_w / 2:.1f}" y="{yh - _LABEL_H / 2:.1f}" '
            f'width="{arc.label_w:.1f}" height="{_LABEL_H}" rx="3" fill="#fff" '
            f'stroke="{_esc(arc.color)}" stroke-width="0.8"/>'
            f'<text x="{lx:.1f}" y="{yh + _ARC_LABEL_SIZE * 0.36:.1f}" text-anchor="middle" '
            f'font-size="{_ARC_LABEL_SIZE}" fill="{_esc(arc.color)}" direction="ltr">'
            f"{_esc(layout.arc_text(arc))}</text></g>"
        )
    out.extend(paths)
    out.extend(labels)
    out.append("</svg>")
    caption = doc._.xlie_id or f"doc {n + 1}"
    lang = doc._.xlie_lang or doc.lang_
    return (f'<figure class="xlie-rel" dir="{"rtl" if rtl else "ltr"}" lang="{_esc(lang)}">'
            f'<figcaption dir="ltr">{_esc(caption)} ({_esc(lang)})</figcaption>'
            + "".join(out) + "</figure>")


def _legend(docs: Sequence[Doc], options: Dict[str, Any]) -> str:
    sources = sorted({r.source or "" for doc in docs for r in doc._.relations})
    items = []
    for source in sources:
        color = options["arc_colors"].get(source) or SOURCE_COLORS.get(source, _OTHER_SOURCE)
        items.append(f'<span class="xlie-legend-item"><span style="background:{_esc(color)}">'
                     f"</span>{_esc(source or 'no source')}</span>")
    return f'<div class="xlie-legend">relations: {" ".join(items)}</div>' if items else ""


STYLE = """
.xlie-rel { margin: 0 0 1.5em 0; overflow-x: auto; }
.xlie-rel figcaption { font: 12px sans-serif; color: #666; margin-bottom: 4px; }
.xlie-rel .xlie-arc:hover path { stroke-width: 3; }
.xlie-legend { font: 13px sans-serif; margin: 0 0 1em 0; }
.xlie-legend-item { margin-right: 1em; }
.xlie-legend-item span { display: inline-block; width: 12px; height: 12px;
  margin-right: 4px; vertical-align: -1px; border-radius: 2px; }
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ margin: 2em; font-family: sans-serif; }} {style}</style></head>
<body>{body}</body></html>"""


def _as_doc(obj: Union[Doc, Span, dict], manual: bool) -> Doc:
    if isinstance(obj, Span):
        return obj.as_doc(copy_user_data=True)
    if isinstance(obj, dict):
        if not manual:
            raise ValueError("dict input needs manual=True (spacy-xlie JSONL records)")
        lang = obj.get("lang") if isinstance(obj.get("lang"), str) else "xx"
        try:
            nlp = spacy.blank(lang)
        except ImportError:
            nlp = spacy.blank("xx")
        return record_to_doc(nlp, obj, path="<manual>", line=0)
    if not isinstance(obj, Doc):
        raise ValueError(f"cannot render {type(obj).__name__}: expected Doc, Span or dict")
    return obj


def render(
    docs: Union[Iterable[Union[Doc, Span, dict]], Doc, Span, dict],
    style: str = "rel",
    page: bool = False,
    minify: bool = False,
    jupyter: Optional[bool] = None,
    options: Optional[Dict[str, Any]] = None,
    manual: bool = False,
) -> Any:
    """Relations of ``docs`` as HTML: a ``<figure>`` with an inline SVG per doc.

    Arguments as ``spacy.displacy.render``: ``style`` must be ``"rel"``; ``page`` wraps the
    figures in a full HTML page; ``jupyter`` (default: when running in a notebook) displays
    the HTML instead of returning it; ``manual`` takes spacy-xlie JSONL records (dicts
    with ``text``, ``entities``, ``relations``, optional ``tokens``) instead of Docs.
    ``options``: see :data:`DEFAULT_OPTIONS` (``colors``: entity label -> colour;
    ``arc_colors``: relation source or label -> colour; ``sources``, ``min_score``,
    ``width``, ``font``, ``font_size``, ``direction``, ``show_scores``).
    """
    if style != "rel":
        raise ValueError(f"style must be 'rel' (for 'dep', 'ent', 'span' use spacy.displacy), "
                         f"not {style!r}")
    opts = {**DEFAULT_OPTIONS, **(options or {})}
    unknown = sorted(set(opts) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ValueError(f"unknown options {unknown}; known: {sorted(DEFAULT_OPTIONS)}")
    if isinstance(docs, (Doc, Span, dict)):
        docs = [docs]
    doc_list = [_as_doc(obj, manual) for obj in docs]
    figures = "".join(_render_doc(doc, opts, n) for n, doc in enumerate(doc_list))
    body = _legend(doc_list, opts) + figures
    if page:
        markup = PAGE.format(title="spacy-xlie relations", style=STYLE, body=body)
    else:
        markup = f"<div class=\"xlie-rel-docs\"><style>{STYLE}</style>{body}</div>"
    if minify:
        markup = " ".join(line.strip() for line in markup.splitlines())
    if jupyter or (jupyter is None and is_in_jupyter()):
        from IPython.display import HTML, display

        return display(HTML(markup))
    return markup


LOCALHOST = "127.0.0.1"
#: Bytes of form encoding per character at most (UTF-8, percent-encoded).
_BYTES_PER_CHAR = 9
#: Seconds a connection may sit without sending a request (or the rest of its body).
IDLE_TIMEOUT = 10.0


class _PageServer(ThreadingHTTPServer):
    """A thread per connection, and room for many connections waiting to be accepted
    (``socketserver``'s default backlog of 5 reset connections under 50 clients)."""

    daemon_threads = True
    request_queue_size = 128

FORM = """<form method="post" action="/">
<textarea name="text" rows="4" cols="90" maxlength="{max_chars}" dir="auto"
 placeholder="Angela Merkel ist die Vorsitzende der CDU.">{text}</textarea><br>
<button type="submit">Extract relations</button>
<span style="color:#666;font-size:12px">{model}; entities: {entities}; at most {max_chars}
characters</span></form>{result}"""


def make_server(
    nlp: Language,
    *,
    host: str = LOCALHOST,
    port: int = 8000,
    max_chars: int = 2000,
    label: str = "",
    entities: str = "pipeline",
    timeout: float = IDLE_TIMEOUT,
) -> HTTPServer:
    """An HTTP server with one page: a form to paste text, and the pipeline's relations.

    Requests over ``max_chars`` characters (or their bytes) are refused with 413 before
    they reach the pipeline, a negative or non-numeric ``Content-Length`` with 400 and a
    missing one with 411 (the body is never read to its end). Each connection has its own
    thread and is dropped after ``timeout`` idle seconds, so one silent client (a
    browser's preconnect) blocks no other; the pipeline runs one text at a time. Every
    text is HTML-escaped, and the page's Content Security Policy allows no script at all,
    so even a missed escape could not run one.
    """
    def page(text: str = "", result: str = "") -> bytes:
        body = FORM.format(max_chars=max_chars, text=html.escape(text), result=result,
                           model=html.escape(label), entities=html.escape(entities))
        return PAGE.format(title="spacy-xlie", style=STYLE, body=body).encode("utf8")

    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "spacy-xlie"

        def _send(self, status: HTTPStatus, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy",
                             "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
            if self.path.split("?")[0] != "/":
                self._send(HTTPStatus.NOT_FOUND, b"not found")
                return
            self._send(HTTPStatus.OK, page())

        def do_POST(self) -> None:  # noqa: N802
            length_header = self.headers.get("Content-Length", "")
            too_long = f"at most {max_chars} characters".encode()
            if not length_header.strip().isdigit():
                self.close_connection = True
                status = (HTTPStatus.BAD_REQUEST if length_header
                          else HTTPStatus.LENGTH_REQUIRED)
                self._send(status, b"a POST needs a Content-Length")
                return
            length = int(length_header)
            if length > max_chars * _BYTES_PER_CHAR + 64:
                self.close_connection = True  # the body is never read
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_long)
                return
            form = parse_qs(self.rfile.read(length).decode("utf8", "replace"))
            text = (form.get("text") or [""])[0]
            if len(text) > max_chars:
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_long)
                return
            result = ""
            if text.strip():
                with lock:
                    doc = nlp(text)
                result = render(doc, jupyter=False)
                if not doc.ents:
                    result = ("<p>No entities found: the entity source knows none of these "
                              "words.</p>" + result)
            self._send(HTTPStatus.OK, page(text, result))

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            msg.text(f"{self.address_string()} {format % args}")

    Handler.timeout = timeout
    return _PageServer((host, port), Handler)
