"""A report's Markdown turned into a Word file (.docx) with Chinese fonts, the same bytes every time.

The Markdown is the report's one stored form (``Report.content_md``); the .docx is rendered from it,
so a signed report's file can be rebuilt later and checked against the SHA-256 kept with it. The
renderer reads only the small subset the report writers produce:

- ``# 标题`` (the title, centred), ``## 一、…`` (a heading), ``### …`` (a subheading);
- ``- 条目`` (a bullet), ``> 引文`` (quoted text: the holding statement);
- ``| a | b |`` rows, the second row ``|---|---|`` (a table with a header row);
- any other line is a paragraph; the paragraphs after the line ``特此报告。`` are the signature block,
  set flush right.

Text that came from outside (post titles, reasons, notes) is written into the Markdown with every
ASCII punctuation character backslash-escaped (``escape``), so it can never become a heading, a link,
HTML or a table cell boundary; the renderer removes the escapes and Word shows the text as it was.
"""

from __future__ import annotations

import io
import re
import string
import zipfile
from datetime import datetime

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from store.times import as_utc

BODY_FONT = "宋体"  # SimSun
BODY_FONT_ASCII = "Times New Roman"
HEADING_FONT = "黑体"  # SimHei
QUOTE_FONT = "楷体"  # KaiTi: quoted text (the holding statement), as in official documents
SIGNATURE_LINE = "特此报告。"

_PUNCT = set(string.punctuation)
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_TABLE_RULE = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+$")


def escape(text: object, limit: int | None = None) -> str:
    """Untrusted text as one line of Markdown that renders as exactly that text (no markup survives)."""
    s = " ".join(_CONTROL.sub("", str(text if text is not None else "")).split())
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)].rstrip() + "…"
    return "".join("\\" + ch if ch in _PUNCT else ch for ch in s)


def unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text)


def split_row(line: str) -> list[str]:
    """``| a | b\\|c |`` → ['a', 'b|c']: cells split on pipes that are not escaped."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    cells, cur, i = [], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            cur.append(body[i : i + 2])
            i += 2
            continue
        if ch == "|":
            cells.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    if "".join(cur).strip():
        cells.append("".join(cur))
    return [unescape(c.strip()) for c in cells]


# --------------------------------------------------------------------------- fonts


def _set_fonts(rpr_parent, *, east_asia: str, ascii_font: str = BODY_FONT_ASCII) -> None:
    """w:rFonts with explicit ascii/hAnsi/eastAsia fonts (theme fonts removed, which would win in Word)."""
    rpr = rpr_parent.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:ascii"), ascii_font)
    rfonts.set(qn("w:hAnsi"), ascii_font)
    rfonts.set(qn("w:eastAsia"), east_asia)
    rfonts.set(qn("w:cs"), ascii_font)


def _run(paragraph, text: str, *, font: str = BODY_FONT, size: float = 12, bold: bool = False):
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = RGBColor(0, 0, 0)
    _set_fonts(run._element, east_asia=font, ascii_font="Arial" if font == HEADING_FONT else BODY_FONT_ASCII)
    return run


def _styles(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.size = Pt(12)
    _set_fonts(normal.element, east_asia=BODY_FONT)
    for name in ("Heading 1", "Heading 2"):
        style = doc.styles[name]
        style.font.color.rgb = RGBColor(0, 0, 0)
        _set_fonts(style.element, east_asia=HEADING_FONT, ascii_font="Arial")


# --------------------------------------------------------------------------- rendering


def render_docx(markdown: str, *, title: str, author: str, created: datetime) -> bytes:
    """The .docx for ``markdown``; the same inputs give the same bytes (fixed times in the package)."""
    created = as_utc(created).replace(microsecond=0, tzinfo=None)
    doc = Document()
    _styles(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    lines = markdown.splitlines()
    signature = False
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        i += 1
        if not line.strip():
            continue
        if line.startswith("# "):
            # a plain centred paragraph, not the "Title" style: its blue rule has no place in an official letter
            p = doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.space_after = Pt(18)
            _run(p, unescape(line[2:].strip()), font=HEADING_FONT, size=18, bold=True)
        elif line.startswith("## "):
            p = doc.add_paragraph(style="Heading 1")
            _run(p, unescape(line[3:].strip()), font=HEADING_FONT, size=14, bold=True)
        elif line.startswith("### "):
            p = doc.add_paragraph(style="Heading 2")
            _run(p, unescape(line[4:].strip()), font=HEADING_FONT, size=12, bold=True)
        elif line.startswith("- "):
            p = doc.add_paragraph(style="List Bullet")
            _run(p, unescape(line[2:].strip()))
        elif line.startswith(">"):
            p = doc.add_paragraph()
            p.paragraph_format.left_indent = Cm(0.74)
            p.paragraph_format.right_indent = Cm(0.74)
            _run(p, unescape(line[1:].strip()), font=QUOTE_FONT)
        elif line.startswith("|"):
            rows = [split_row(line)]
            while i < len(lines) and lines[i].startswith("|"):
                if not _TABLE_RULE.match(lines[i].strip()):
                    rows.append(split_row(lines[i]))
                i += 1
            _table(doc, rows)
        else:
            text = unescape(line.strip())
            p = doc.add_paragraph()
            if signature:
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            else:
                p.paragraph_format.first_line_indent = Pt(24)  # two characters, as in official documents
            _run(p, text)
            if line.strip() == SIGNATURE_LINE:
                signature = True

    props = doc.core_properties
    props.title = title
    props.author = author
    props.last_modified_by = author
    props.comments = "舆情值守台生成的草稿"
    props.created = props.modified = props.last_printed = created
    props.revision = 1
    raw = io.BytesIO()
    doc.save(raw)
    return _fixed_zip(raw.getvalue(), created)


def _table(doc, rows: list[list[str]]) -> None:
    width = max(len(r) for r in rows)
    table = doc.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    # row by row: table.cell(r, c) walks the whole table on every call, quadratic in its size
    for r, (row, cells) in enumerate(zip(table.rows, rows, strict=True)):
        for c, cell in enumerate(row.cells):
            p = cell.paragraphs[0]
            _run(
                p,
                cells[c] if c < len(cells) else "",
                size=10.5,
                bold=r == 0,
                font=HEADING_FONT if r == 0 else BODY_FONT,
            )


def _fixed_zip(data: bytes, when: datetime) -> bytes:
    """The package re-zipped with every entry stamped ``when``: no wall-clock time in the bytes."""
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def docx_text(data: bytes) -> str:
    """All the text of a .docx (paragraphs, then table cells), one paragraph a line: for checks and tests."""
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)
