"""Printed documents: goods received notes, waybills, stock cards and count sheets (reportlab).

GRNs and waybills carry a QR code of their page, so scanning a waybill at the receiving warehouse
opens its receipt form.
"""

from __future__ import annotations

import io

import segno
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from relief.core.escape import pdf_text

_STYLES = getSampleStyleSheet()


def qr_image(payload: str, size_mm: float = 32) -> Image:
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="png", scale=6, border=2)
    buffer.seek(0)
    return Image(buffer, width=size_mm * mm, height=size_mm * mm)


def _table(header: list[str], rows: list[list], widths: list[float] | None = None) -> Table:
    table = Table([header, *rows], colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _cancelled_watermark(canvas, doc) -> None:
    """Across every page of a cancelled document, so a copy can never pass for a valid one."""
    canvas.saveState()
    canvas.setFillColor(colors.Color(0.8, 0, 0, alpha=0.35))
    canvas.setFont("Helvetica-Bold", 88)
    canvas.translate(A4[0] / 2, A4[1] / 2)
    canvas.rotate(45)
    canvas.drawCentredString(0, -30, _("CANCELLED"))
    canvas.restoreState()


def render(*, title: str, organisation: str, facts: list[tuple[str, str]], header: list[str], rows: list[list],
           qr: str | None = None, footer: list[str] = (), widths: list[float] | None = None,
           cancelled: bool = False) -> bytes:
    """One printed document: title, facts (label, value) beside an optional QR, a table, signature lines;
    a cancelled document carries a large CANCELLED watermark on every page."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=title)
    # Every text reaching a Paragraph goes through pdf_text: names are data, never markup.
    facts_table = Table([[Paragraph(f"<b>{pdf_text(label)}</b>", _STYLES["Normal"]),
                          Paragraph(pdf_text(value), _STYLES["Normal"])]
                         for label, value in facts], colWidths=[40 * mm, 95 * mm])
    top = Table([[facts_table, qr_image(qr) if qr else ""]], colWidths=[140 * mm, 40 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story = [Paragraph(pdf_text(organisation), _STYLES["Normal"]), Paragraph(pdf_text(title), _STYLES["Title"]), top,
             Spacer(1, 6 * mm),
             _table(header, rows, widths), Spacer(1, 10 * mm)]
    if footer:
        boxes = _table(footer, [["" for _ in footer]], [180 * mm / len(footer)] * len(footer))
        boxes._argH[1] = 18 * mm  # room to sign
        story.append(boxes)
    if cancelled:
        doc.build(story, onFirstPage=_cancelled_watermark, onLaterPages=_cancelled_watermark)
    else:
        doc.build(story)
    return buffer.getvalue()


def signatures() -> list[str]:
    return [_("Delivered by (name, signature)"), _("Received by (name, signature)"), _("Date and stamp")]
