"""The relation visualizer: SVG geometry checked by parsing it, and in a real browser.

The browser tests run Debian's headless Chromium (``apt-get install chromium``; a CJK font
such as ``fonts-wqy-microhei`` for the Chinese example) and skip, saying so, without it.
"""

import html
import json
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from itertools import combinations
from typing import Dict, List, Tuple

import pytest
import spacy
from spacy.tokens import Doc, Span

from spacy_xlie import add_entities, add_relation
from spacy_xlie.displacy import render

# (id, lang, text, entities (text, label), relations (head, tail, label, score, source))
EXAMPLES = [
    ("de", "de", "Angela Merkel ist die Vorsitzende der CDU und lebt in Berlin, der "
     "Hauptstadt von Deutschland.",
     [("Angela Merkel", "PER"), ("CDU", "ORG"), ("Berlin", "LOC"), ("Deutschland", "LOC")],
     [(0, 1, "per:employee_of", 0.93, "predicted"),
      (0, 2, "per:cities_of_residence", 0.71, "predicted"),
      (0, 3, "per:countries_of_residence", 0.55, "gold"),
      (1, 2, "org:city_of_headquarters", 0.8, "distant"),
      (1, 3, "org:country_of_headquarters", 0.6, "projected")]),
    ("ar", "ar", "ولدت أنجيلا ميركل في هامبورغ وهي رئيسة حزب الاتحاد الديمقراطي المسيحي.",
     [("أنجيلا ميركل", "PER"), ("هامبورغ", "LOC"), ("الاتحاد الديمقراطي المسيحي", "ORG")],
     [(0, 1, "per:cities_of_residence", 0.88, "predicted"),
      (0, 2, "per:employee_of", 0.77, "gold")]),
    ("zh", "zh", "马云创立了阿里巴巴集团，总部位于杭州。",
     [("马云", "PER"), ("阿里巴巴集团", "ORG"), ("杭州", "LOC")],
     [(1, 0, "org:founded_by", 0.95, "predicted"),
      (1, 2, "org:city_of_headquarters", 0.9, "predicted")]),
    ("en-long", "en", "In 1998 , Larry Page and Sergey Brin founded Google in Menlo Park , "
     "California , while they were PhD students at Stanford University ; the company later "
     "moved its headquarters to Mountain View , where Sundar Pichai became chief executive "
     "officer in 2015 after Eric Schmidt .",
     [("Larry Page", "PER"), ("Sergey Brin", "PER"), ("Google", "ORG"), ("Menlo Park", "LOC"),
      ("California", "LOC"), ("Stanford University", "ORG"), ("Mountain View", "LOC"),
      ("Sundar Pichai", "PER"), ("Eric Schmidt", "PER")],
     [(2, 0, "org:founded_by", 0.9, "gold"), (2, 1, "org:founded_by", 0.9, "gold"),
      (2, 3, "org:city_of_headquarters", 0.4, "predicted"),
      (2, 6, "org:city_of_headquarters", 0.8, "predicted"),
      (2, 7, "org:top_members/employees", 0.85, "predicted"),
      (0, 5, "per:employee_of", 0.3, "distant"), (1, 5, "per:employee_of", 0.3, "distant"),
      (2, 8, "org:top_members/employees", 0.6, "projected"),
      (3, 4, "org:subsidiaries", 0.2, None)]),
]
SVG = "{http://www.w3.org/2000/svg}"


def make_doc(doc_id, lang, text, ents, rels):
    doc = spacy.blank(lang)(text)
    spans = add_entities(doc, [doc.char_span(text.index(t), text.index(t) + len(t), label=lab)
                               for t, lab in ents])
    for head, tail, label, score, source in rels:
        add_relation(doc, spans[head], spans[tail], label, score=score, source=source)
    doc._.xlie_id = doc_id
    return doc


@pytest.fixture(scope="module")
def docs():
    return [make_doc(*example) for example in EXAMPLES]


def parse(markup: str) -> ET.Element:
    """The HTML fragment is well-formed XML: parse it as such."""
    return ET.fromstring(markup)


def first_last_points(d: str) -> Tuple[Tuple[float, float], Tuple[float, float]]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return (numbers[0], numbers[1]), (numbers[-2], numbers[-1])


def geometry(figure: ET.Element):
    """Entity boxes by token range, token centres by index, arcs, label boxes."""
    ents: Dict[Tuple[int, int], Tuple[float, float, float]] = {}
    for g in figure.iter(f"{SVG}g"):
        if g.get("class") == "xlie-ent":
            rect = g.find(f"{SVG}rect")
            x, w = float(rect.get("x")), float(rect.get("width"))
            ents[(int(g.get("data-start")), int(g.get("data-end")))] = (x, x + w,
                                                                         float(rect.get("y")))
    tokens = {int(t.get("data-i")): (float(t.get("x")), float(t.get("y")), t.text)
              for t in figure.iter(f"{SVG}text") if t.get("class") == "xlie-token"}
    arcs = [g for g in figure.iter(f"{SVG}g") if g.get("class") == "xlie-arc"]
    labels = []
    for g in figure.iter(f"{SVG}g"):
        if g.get("class") == "xlie-arc-label":
            r = g.find(f"{SVG}rect")
            x, y = float(r.get("x")), float(r.get("y"))
            labels.append((x, x + float(r.get("width")), y, y + float(r.get("height"))))
    return ents, tokens, arcs, labels


def span_of(attr: str) -> Tuple[int, int]:
    start, end = attr.split(",")
    return int(start), int(end)


def test_arcs_start_and_end_over_their_entities(docs):
    root = parse(render(docs, jupyter=False))
    figures = root.findall("figure")
    assert len(figures) == 4
    for doc, figure in zip(docs, figures):
        ents, tokens, arcs, _ = geometry(figure)
        assert len(arcs) == len(doc._.relations)
        for arc, rel in zip(arcs, doc._.relations):
            assert span_of(arc.get("data-head")) == (rel.head.start, rel.head.end)
            assert span_of(arc.get("data-tail")) == (rel.tail.start, rel.tail.end)
            (hx, hy), (tx, ty) = first_last_points(arc.find(f"{SVG}path").get("d"))
            h0, h1, htop = ents[(rel.head.start, rel.head.end)]
            t0, t1, ttop = ents[(rel.tail.start, rel.tail.end)]
            assert h0 < hx < h1 and hy == htop, (rel, hx, (h0, h1))
            assert t0 < tx < t1 and ty == ttop, (rel, tx, (t0, t1))
        # Every entity token is drawn inside its box, on the box's row.
        for (start, end), (x0, x1, top) in ents.items():
            for i in range(start, end):
                x, y, _ = tokens[i]
                assert x0 < x < x1 and top < y < top + 26


def test_directions_known_answers(docs):
    root = parse(render(docs, jupyter=False))
    de, ar, zh, _ = (geometry(f) for f in root.findall("figure"))
    # German reads left to right, Arabic right to left: "ولدت" (token 0) is rightmost.
    assert de[1][0][0] == min(x for x, _, _ in de[1].values())
    assert ar[1][0][2] == "ولدت" and ar[1][0][0] == max(x for x, _, _ in ar[1].values())
    assert root.findall("figure")[1].get("dir") == "rtl"
    # Chinese: the founded_by arrow points from 阿里巴巴集团 (tokens 5-11) to 马云 (0-2),
    # which lies to its left.
    arc = zh[2][0]
    (hx, _), (tx, _) = first_last_points(arc.find(f"{SVG}path").get("d"))
    assert arc.get("data-label") == "org:founded_by" and tx < hx
    assert [zh[1][i][2] for i in range(2)] == ["马", "云"]


def test_labels_never_overlap_and_long_docs_wrap(docs):
    root = parse(render(docs, jupyter=False, options={"width": 600}))
    for figure in root.findall("figure"):
        _, tokens, _, labels = geometry(figure)
        for (a0, a1, b0, b1), (c0, c1, d0, d1) in combinations(labels, 2):
            assert a1 <= c0 or c1 <= a0 or b1 <= d0 or d1 <= b0
        assert all(x <= 600 + 12 for x, _, _ in tokens.values())
    rows = {y for _, y, _ in geometry(root.findall("figure")[3])[1].values()}
    assert len(rows) >= 3


def test_labels_stay_inside_the_picture():
    """A long label on a short arc at the start of a short doc is not cut off."""
    doc = make_doc("short", "en", "Aa Bb", [("Aa", "ORG"), ("Bb", "LOC")],
                   [(0, 1, "org:stateorprovince_of_headquarters", 1.0, "gold")])
    for direction in ("ltr", "rtl"):
        svg = parse(render(doc, jupyter=False, options={"direction": direction})).find(
            f"figure/{SVG}svg")
        (x0, x1, _, _), = geometry(svg)[3]
        assert 0 <= x0 and x1 <= float(svg.get("width"))


def test_everything_is_escaped():
    words = ["<script>alert(1)</script>", "&", '"Co"', "owns", "<b>Acme</b>"]
    doc = Doc(spacy.blank("en").vocab, words=words)
    spans = add_entities(doc, [Span(doc, 2, 3, label="<img src=x onerror=alert(1)>"),
                               Span(doc, 4, 5, label="ORG")])
    add_relation(doc, spans[0], spans[1], "<script>x</script>", source="\"><script>")
    doc._.xlie_id = "<i>id</i>"
    markup = render(doc, jupyter=False, options={"colors": {"ORG": "red\"/><script>"}})
    assert "<script" not in markup and "<img" not in markup and "<i>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    root = parse(markup)  # still well-formed: nothing broke out of an attribute
    assert not [el for el in root.iter() if el.tag.split("}")[-1] in ("script", "img", "b", "i")]


def test_options_and_manual_records():
    record = {"text": "Airbus sitzt in Toulouse .", "lang": "de",
              "entities": [{"start": 0, "end": 6, "label": "ORG"},
                           {"start": 16, "end": 24, "label": "LOC"}],
              "relations": [{"head": 0, "tail": 1, "label": "org:city_of_headquarters",
                             "score": 0.5, "source": "predicted"}]}
    markup = render(record, manual=True, jupyter=False,
                    options={"colors": {"ORG": "#123456"}, "arc_colors": {"predicted": "#abcdef"},
                             "show_scores": True})
    assert 'fill="#123456"' in markup and 'stroke="#abcdef"' in markup
    assert "org:city_of_headquarters 0.50" in markup
    assert "Airbus \u2192 org:city_of_headquarters \u2192 Toulouse: score 0.500" in markup
    hidden = render(record, manual=True, jupyter=False, options={"min_score": 0.6})
    assert "xlie-arc" not in hidden.split("</style>")[1]
    with pytest.raises(ValueError, match="manual=True"):
        render(record, jupyter=False)
    with pytest.raises(ValueError, match="style must be 'rel'"):
        render(record, style="dep", manual=True, jupyter=False)
    with pytest.raises(ValueError, match="unknown options"):
        render(record, manual=True, jupyter=False, options={"colour": {}})


# ---- in a real browser ---------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium not installed (Debian: apt-get install chromium)")
MEASURE = """<script>
const out = {tokens: [], ents: [], labels: []};
document.querySelectorAll('svg.xlie-rel-svg').forEach((svg, d) => {
  svg.querySelectorAll('text.xlie-token').forEach(t => { const b = t.getBBox();
    out.tokens.push({doc: d, i: +t.dataset.i, x0: b.x, x1: b.x + b.width, y: b.y}); });
  svg.querySelectorAll('g.xlie-ent').forEach(g => { const b = g.querySelector('rect').getBBox();
    out.ents.push({doc: d, start: +g.dataset.start, end: +g.dataset.end, x0: b.x,
                   x1: b.x + b.width}); });
  svg.querySelectorAll('g.xlie-arc-label').forEach(g => {
    const r = g.querySelector('rect').getBBox(), t = g.querySelector('text').getBBox();
    out.labels.push({doc: d, x0: r.x, x1: r.x + r.width, tx0: t.x, tx1: t.x + t.width}); });
});
const pre = document.createElement('pre'); pre.id = 'measured';
pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
</script>"""


def chromium(*args: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--virtual-time-budget=3000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout


@needs_chromium
def test_browser_layout_fits_the_estimates(docs, tmp_path):
    """What the browser really draws: token glyphs inside their entity boxes and clear of
    each other, label text inside its label box."""
    page = tmp_path / "page.html"
    page.write_text(render(docs, page=True, jupyter=False).replace("</body>", MEASURE + "</body>"),
                    encoding="utf8")
    dom = chromium("--dump-dom", page.as_uri())
    measured = json.loads(html.unescape(re.search(r'<pre id="measured">(.*?)</pre>', dom,
                                                  re.S).group(1)))
    tokens: Dict[Tuple[int, int], dict] = {(t["doc"], t["i"]): t for t in measured["tokens"]}
    assert len(measured["ents"]) == sum(len(e[3]) for e in EXAMPLES)
    for ent in measured["ents"]:
        for i in range(ent["start"], ent["end"]):
            tok = tokens[(ent["doc"], i)]
            assert ent["x0"] <= tok["x0"] and tok["x1"] <= ent["x1"], (ent, tok)
    by_row: Dict[Tuple[int, float], List[dict]] = {}
    for tok in measured["tokens"]:
        by_row.setdefault((tok["doc"], round(tok["y"])), []).append(tok)
    for row in by_row.values():
        row.sort(key=lambda t: t["x0"])
        for left, right in zip(row, row[1:]):
            assert left["x1"] <= right["x0"], (left, right)
    for label in measured["labels"]:
        assert label["x0"] <= label["tx0"] and label["tx1"] <= label["x1"], label


def png_size(path) -> Tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@needs_chromium
def test_screenshot(docs, tmp_path):
    """Screenshots of German, Arabic and Chinese relations (kept under tmp_path; the README's
    picture comes from `spacy-xlie show`). A page with drawings is far larger than a blank
    one: the PNG is not empty."""
    page = tmp_path / "page.html"
    page.write_text(render(docs[:3], page=True, jupyter=False), encoding="utf8")
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    for src, png in ((page, tmp_path / "rel.png"), (blank, tmp_path / "blank.png")):
        chromium(f"--screenshot={png}", "--window-size=1000,700", src.as_uri())
    assert png_size(tmp_path / "rel.png") == (1000, 700)
    assert (tmp_path / "rel.png").stat().st_size > 10 * (tmp_path / "blank.png").stat().st_size


def test_jupyter_displays_instead_of_returning(docs, monkeypatch):
    import sys
    import types

    shown = []
    stub = types.ModuleType("IPython.display")
    stub.HTML = lambda markup: ("HTML", markup)
    stub.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", stub)
    assert render(docs[2], jupyter=True) is None
    assert shown[0][0] == "HTML" and "阿" in shown[0][1] and "<svg" in shown[0][1]
