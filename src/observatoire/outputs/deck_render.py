"""Decks written as files: an editable PPTX (python-pptx: text boxes, tables, native line
charts whose data PowerPoint or LibreOffice can edit, maps as pictures) or one self-contained
HTML file that works offline (SVG inline, arrow keys to move, one slide a page when printed).
"""

from __future__ import annotations

import io
import re
from html import escape
from pathlib import Path
from typing import Any

from observatoire.atomic import write_whole
from observatoire.csvfile import safe_cell
from observatoire.errors import InputError
from observatoire.outputs.charts import line_chart
from observatoire.outputs.deck import Deck, Slide

__all__ = ["FORMATS", "deck_html", "deck_pptx", "svg_to_png", "write_deck"]

FORMATS = {".pptx": "PowerPoint (modifiable)", ".html": "HTML autonome (hors ligne)"}
PRIMARY = (0x1F, 0x4E, 0x79)


def write_deck(deck: Deck, path: Path) -> Path:
    """``deck`` written to ``path`` (.pptx or .html), atomically."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"{path.name} : format de diaporama non pris en charge ({', '.join(FORMATS)})"
        )
    body = deck_pptx(deck) if suffix == ".pptx" else deck_html(deck).encode("utf-8")
    write_whole(path, body)
    return path


def svg_to_png(svg: str, width: int = 1000) -> bytes:
    """An SVG drawing of the platform (a map, a chart) as a PNG picture."""
    import cairosvg

    data: bytes = cairosvg.svg2png(bytestring=xml_safe(svg).encode("utf-8"), output_width=width)
    return data


# characters XML cannot hold, and the invisible ones that reverse how a name reads
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML cannot hold (a name typed with a control
    character would break the PowerPoint file).

    >>> xml_safe("Zone\x0b 1\uffff")
    'Zone 1'
    """
    return _NOT_XML.sub("", text)


def _cell(text: object) -> str:
    """A name as a cell of a chart's data sheet: XML-safe, never a formula."""
    return str(safe_cell(xml_safe(str(text))))


# -- PPTX ------------------------------------------------------------------------------------------
def deck_pptx(deck: Deck) -> bytes:
    """The deck as an editable PowerPoint file (16:9)."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    for slide in deck.slides:
        if slide.kind == "title":
            _title_slide(prs, slide, deck)
        else:
            _content_slide(prs, slide, deck)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def _title_slide(prs: Any, slide: Slide, deck: Deck) -> None:
    from pptx.util import Pt

    page = prs.slides.add_slide(prs.slide_layouts[0])
    page.shapes.title.text = xml_safe(slide.title)
    page.placeholders[1].text = xml_safe("\n".join(t for t in (slide.subtitle, deck.note) if t))
    for paragraph in page.placeholders[1].text_frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = Pt(20)
    _footer(page, prs, deck)
    if slide.notes:
        page.notes_slide.notes_text_frame.text = xml_safe(slide.notes)


def _content_slide(prs: Any, slide: Slide, deck: Deck) -> None:
    from pptx.dml.color import RGBColor
    from pptx.util import Inches, Pt

    page = prs.slides.add_slide(prs.slide_layouts[5])  # title only
    title = page.shapes.title
    title.text = xml_safe(slide.title)
    title.left, title.top, title.width, title.height = (
        Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.9),
    )  # fmt: skip
    for paragraph in title.text_frame.paragraphs:
        for run in paragraph.runs:
            run.font.size, run.font.bold = Pt(28), True
            run.font.color.rgb = RGBColor(*PRIMARY)
    visual = bool(slide.picture or slide.chart)
    left_width = 6.2 if visual else 12.3
    top = 1.3
    if slide.bullets:
        box = page.shapes.add_textbox(Inches(0.5), Inches(top), Inches(left_width), Inches(2.6))
        frame = box.text_frame
        frame.word_wrap = True
        for i, text in enumerate(slide.bullets):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.text = xml_safe(f"• {text}")
            paragraph.space_after = Pt(6)
            for run in paragraph.runs:
                run.font.size = Pt(14 if visual or slide.table else 18)
        top += 2.7 if slide.table else 0
    if slide.table:
        _table(page, slide.table, Inches(0.5), Inches(top), Inches(left_width))
    if slide.picture:
        height = 2.9 if slide.chart else 5.6
        picture = svg_to_png(slide.picture)
        page.shapes.add_picture(io.BytesIO(picture), Inches(7.0), Inches(1.3),
                                height=Inches(height))  # fmt: skip
        if slide.caption:
            note = page.shapes.add_textbox(Inches(7.0), Inches(1.3 + height), Inches(5.8),
                                           Inches(0.3))  # fmt: skip
            note.text_frame.text = xml_safe(slide.caption)
            note.text_frame.paragraphs[0].runs[0].font.size = Pt(10)
    if slide.chart:
        chart_top = 4.5 if slide.picture else 1.3
        chart_height = 2.5 if slide.picture else 5.4
        _line_chart(page, slide.chart, Inches(7.0 if visual else 0.5), Inches(chart_top),
                    Inches(5.8), Inches(chart_height))  # fmt: skip
    _footer(page, prs, deck)
    if slide.notes:
        page.notes_slide.notes_text_frame.text = xml_safe(slide.notes)


def _table(page: Any, rows: list[list[str]], left: Any, top: Any, width: Any) -> None:
    from pptx.util import Inches, Pt

    count, columns = len(rows), max(len(r) for r in rows)
    shape = page.shapes.add_table(count, columns, left, top, width,
                                  Inches(0.3) * count)  # fmt: skip
    table = shape.table
    for i, row in enumerate(rows):
        for j in range(columns):
            cell = table.cell(i, j)
            cell.text = xml_safe(row[j]) if j < len(row) else ""
            for paragraph in cell.text_frame.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(11 if count < 10 else 9)
                    run.font.bold = i == 0


def _line_chart(page: Any, chart: dict[str, Any], left: Any, top: Any, width: Any,
                height: Any) -> None:  # fmt: skip
    """A native line chart: the observed series, then each projection as its own series
    (« … (projection) »), over the union of the periods."""
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
    from pptx.util import Pt

    lines = [s for s in chart["series"] if s.get("points")]
    every = [p for s in lines for p in [*s["points"], *s.get("projection", [])]]
    periods = sorted({p["period"] for p in every})
    if not periods:
        return
    data = CategoryChartData()
    data.categories = [_cell(p) for p in periods]
    for line in lines:
        values = {p["period"]: p["value"] for p in line["points"]}
        data.add_series(_cell(line["name"]), [values.get(p) for p in periods])
        ahead = line.get("projection") or []
        if ahead:
            last = line["points"][-1]
            values = {last["period"]: last["value"], **{p["period"]: p["value"] for p in ahead}}
            data.add_series(_cell(f"{line['name']} (projection)"),
                            [values.get(p) for p in periods])  # fmt: skip
    frame = page.shapes.add_chart(XL_CHART_TYPE.LINE_MARKERS, left, top, width, height, data)
    graph = frame.chart
    graph.has_title = True
    graph.chart_title.text_frame.text = xml_safe(chart["title"])
    graph.chart_title.text_frame.paragraphs[0].runs[0].font.size = Pt(12)
    graph.has_legend = True
    graph.legend.position = XL_LEGEND_POSITION.BOTTOM
    graph.legend.include_in_layout = False
    graph.legend.font.size = Pt(9)


def _footer(page: Any, prs: Any, deck: Deck) -> None:
    from pptx.util import Inches, Pt

    box = page.shapes.add_textbox(Inches(0.5), prs.slide_height - Inches(0.45), Inches(12.3),
                                  Inches(0.3))  # fmt: skip
    box.text_frame.text = xml_safe(deck.footer + (f" · {deck.note}" if deck.note else ""))
    box.text_frame.paragraphs[0].runs[0].font.size = Pt(9)


# -- HTML -----------------------------------------------------------------------------------------
_CSS = """
body{margin:0;background:#333;font-family:"DejaVu Sans",Arial,sans-serif;color:#1a1a1a}
.slide{box-sizing:border-box;width:1280px;height:720px;margin:24px auto;background:#fff;
padding:36px 48px 40px;position:relative;overflow:hidden;display:flex;flex-direction:column}
.slide h1{color:#1f4e79;font-size:32px;margin:0 0 16px}
.slide.title{justify-content:center;background:#1f4e79;color:#fff}
.slide.title h1{color:#fff;font-size:46px}.slide.title p{font-size:24px}
.body{display:flex;gap:32px;flex:1;min-height:0}.text{flex:1;min-width:0}
.visual{flex:1;min-width:0;display:flex;flex-direction:column;gap:8px}
.visual svg{max-width:100%;max-height:300px;height:auto}
ul{font-size:19px;line-height:1.35;padding-left:22px}li{margin-bottom:8px}
table{border-collapse:collapse;font-size:14px;margin-top:8px}
td,th{border-bottom:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#e8eef5}.caption{font-size:13px;color:#555}
footer{position:absolute;bottom:10px;left:48px;right:48px;font-size:12px;color:#666}
.note{color:#a00;font-weight:bold}.counter{float:right}
@media print{body{background:#fff}.slide{margin:0;page-break-after:always}}
@page{size:1280px 720px;margin:0}
"""
_SCRIPT = """
const slides=[...document.querySelectorAll('.slide')];let at=0;
function show(i){at=Math.max(0,Math.min(slides.length-1,i));slides[at].scrollIntoView();}
document.addEventListener('keydown',e=>{
if(['ArrowRight','PageDown',' '].includes(e.key)){show(at+1);e.preventDefault();}
if(['ArrowLeft','PageUp'].includes(e.key)){show(at-1);e.preventDefault();}});
"""


def deck_html(deck: Deck) -> str:
    """The deck as one HTML file: no request leaves it (styles, drawings and script inline)."""
    parts = [
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">',
        f"<title>{escape(deck.title)}</title><style>{_CSS}</style></head><body>",
    ]
    total = len(deck.slides)
    for n, slide in enumerate(deck.slides, start=1):
        parts.append(_html_slide(slide, deck, n, total))
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return xml_safe("".join(parts))


def _html_slide(slide: Slide, deck: Deck, n: int, total: int) -> str:
    footer = (f"<footer>{escape(deck.footer)}"
              + (f" · <span class=\"note\">{escape(deck.note)}</span>" if deck.note else "")
              + f"<span class=\"counter\">{n} / {total}</span></footer>")  # fmt: skip
    if slide.kind == "title":
        return (f"<section class=\"slide title\" id=\"diapo-{n}\"><h1>{escape(slide.title)}</h1>"
                f"<p>{escape(slide.subtitle)}</p>"
                + (f"<p class=\"note\">{escape(deck.note)}</p>" if deck.note else "")
                + f"{footer}</section>")  # fmt: skip
    text = ""
    if slide.bullets:
        text += "<ul>" + "".join(f"<li>{escape(b)}</li>" for b in slide.bullets) + "</ul>"
    if slide.table:
        head, *rows = slide.table
        text += ("<table><thead><tr>" + "".join(f"<th scope=\"col\">{escape(c)}</th>" for c in head)
                 + "</tr></thead><tbody>"
                 + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>"
                           for r in rows)
                 + "</tbody></table>")  # fmt: skip
    visual = ""
    if slide.picture:
        visual += slide.picture + (f"<p class=\"caption\">{escape(slide.caption)}</p>"
                                   if slide.caption else "")  # fmt: skip
    if slide.chart:
        series = [s for s in slide.chart["series"] if s.get("points")]
        visual += line_chart(series, title=slide.chart["title"], unit=slide.chart["unit"],
                             ident=f"diapo-{n}-courbe")  # fmt: skip
    body = f'<div class="text">{text}</div>'
    if visual:
        body += f'<div class="visual">{visual}</div>'
    return (f"<section class=\"slide\" id=\"diapo-{n}\"><h1>{escape(slide.title)}</h1>"
            f"<div class=\"body\">{body}</div>{footer}</section>")  # fmt: skip
