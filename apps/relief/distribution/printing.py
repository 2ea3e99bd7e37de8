"""Card sheets: ID-1 cards (85.6 × 54 mm), ten to an A4 page with crop marks, in the site's language."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from relief.core.files import private_dir, private_file
from relief.core.jobs import job_progress
from relief.distribution import cardtoken, selectors, services
from relief.distribution.models import Card, CardStatus
from relief.households.models import Household, Member
from relief.households.selectors import household_identity

PRINT_JOB = "relief.distribution.printing.print_cards_job"

CARD_W, CARD_H = 85.6 * mm, 54 * mm
COLUMNS, ROWS = 2, 5
PAGE_W, PAGE_H = A4
MARGIN_X = (PAGE_W - COLUMNS * CARD_W) / 2
MARGIN_Y = (PAGE_H - ROWS * CARD_H) / 2
QR_SIZE = 36 * mm
MARK = 4 * mm
# Any of the eight masks is a valid symbol; the best-scoring one helps only marginally with a clean print.
PRINT_MASK = 4


def _crop_marks(c: Canvas) -> None:
    """Short lines in the margins at every cut, so a guillotine can follow them."""
    c.setLineWidth(0.3)
    xs = [MARGIN_X + i * CARD_W for i in range(COLUMNS + 1)]
    ys = [MARGIN_Y + j * CARD_H for j in range(ROWS + 1)]
    for x in xs:
        c.line(x, MARGIN_Y - MARK - 1 * mm, x, MARGIN_Y - 1 * mm)
        c.line(x, PAGE_H - MARGIN_Y + 1 * mm, x, PAGE_H - MARGIN_Y + MARK + 1 * mm)
    for y in ys:
        c.line(MARGIN_X - MARK - 1 * mm, y, MARGIN_X - 1 * mm, y)
        c.line(PAGE_W - MARGIN_X + 1 * mm, y, PAGE_W - MARGIN_X + MARK + 1 * mm, y)


def _qr(c: Canvas, code: str, x: float, y: float, size: float) -> None:
    """Draw the symbol as a 1-bit image, one pixel per module: far cheaper than thousands of vector squares,
    and a PDF viewer or printer scales it without smoothing (no /Interpolate)."""
    symbol = cardtoken.qr(code, mask=PRINT_MASK)
    quiet = 4
    side = len(symbol.matrix) + 2 * quiet
    white = bytes([255]) * side
    rows = [white] * quiet
    for row in symbol.matrix:
        rows.append(bytes([255]) * quiet + bytes(0 if dark else 255 for dark in row) + bytes([255]) * quiet)
    rows += [white] * quiet
    image = Image.frombytes("L", (side, side), b"".join(rows)).convert("1")
    c.drawImage(ImageReader(image), x, y, size, size)


def _card(c: Canvas, *, x: float, y: float, card: Card, who: dict, site_name: str) -> None:
    c.setStrokeGray(0.75)
    c.setLineWidth(0.2)
    c.roundRect(x + 1 * mm, y + 1 * mm, CARD_W - 2 * mm, CARD_H - 2 * mm, 2 * mm, stroke=1, fill=0)
    c.setStrokeGray(0)
    c.setFillGray(0)
    _qr(c, card.code, x + CARD_W - QR_SIZE - 2.5 * mm, y + (CARD_H - QR_SIZE) / 2, QR_SIZE)
    left = x + 4 * mm
    c.setFont("Helvetica-Bold", 7.5)
    c.drawString(left, y + CARD_H - 7 * mm, _("ENTITLEMENT CARD").upper())
    c.setFont("Helvetica", 7)
    c.drawString(left, y + CARD_H - 11 * mm, site_name[:32])
    c.setFont("Helvetica-Bold", 11)
    c.drawString(left, y + CARD_H - 18 * mm, who["number"])
    c.setFont("Helvetica", 8)
    lines = [
        _("Household size: %(size)s") % {"size": who["size"]},
        _("Block: %(block)s") % {"block": who["block"] or "—"},
        _("Head: %(initials)s") % {"initials": who["head_initials"] or "—"},
        _("Card %(serial)s · no. %(generation)s") % {"serial": card.serial, "generation": card.generation},
        _("Issued %(date)s") % {"date": card.issued_on.isoformat()},
    ]
    for n, text in enumerate(lines):
        c.drawString(left, y + CARD_H - 24 * mm - n * 4.2 * mm, text)
    c.setFont("Helvetica-Oblique", 5.5)
    c.drawString(left, y + 3.5 * mm, _("Keep this card. Report a lost card at once.")[:60])


def render_cards(cards: list[Card], out: Path, *, progress: Callable[[int], None] | None = None) -> int:
    """Write the PDF; returns the number of pages."""
    ids = [card.household_id for card in cards]
    households = (Household.objects.filter(pk__in=ids).select_related("site", "block")
                  .prefetch_related(_heads()))
    identity = {}
    for household in households.iterator(chunk_size=2000):
        identity[household.pk] = (household_identity(household), household.site)
    # Names, household numbers and signed tokens: written 0600, and seen under its name only once complete.
    with private_file(out) as fh:
        canvas = Canvas(fh, pagesize=A4, pageCompression=1)
        canvas.setTitle(_("Entitlement cards"))
        per_page = COLUMNS * ROWS
        pages = 0
        for start in range(0, len(cards), per_page):
            _crop_marks(canvas)
            for slot, card in enumerate(cards[start:start + per_page]):
                who, site = identity[card.household_id]
                col, row = slot % COLUMNS, slot // COLUMNS
                x = MARGIN_X + col * CARD_W
                y = PAGE_H - MARGIN_Y - (row + 1) * CARD_H
                with translation.override(site.language):
                    _card(canvas, x=x, y=y, card=card, who=who, site_name=f"{site.name} ({site.code})")
            canvas.showPage()
            pages += 1
            if progress is not None:
                progress(min(start + per_page, len(cards)))
        canvas.save()
    return pages


# One card for a card printer (ID-1, the card's own size) or an A6 sheet to cut along the marks.
ONE_CARD_PAGES = {"id1": (CARD_W, CARD_H), "a6": (105 * mm, 148 * mm)}


def render_one_card(card: Card, *, size: str = "id1") -> bytes:
    """One card as a PDF page: the card's own size for an ID-card printer, or centred on A6 with crop marks."""
    import io

    page_w, page_h = ONE_CARD_PAGES[size]
    household = (Household.objects.filter(pk=card.household_id).select_related("site", "block")
                 .prefetch_related(_heads()).get())
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(page_w, page_h), pageCompression=1)
    canvas.setTitle(card.serial)
    x, y = (page_w - CARD_W) / 2, (page_h - CARD_H) / 2
    if size != "id1":
        canvas.setLineWidth(0.3)
        for cx in (x, x + CARD_W):
            canvas.line(cx, y - MARK - 1 * mm, cx, y - 1 * mm)
            canvas.line(cx, y + CARD_H + 1 * mm, cx, y + CARD_H + MARK + 1 * mm)
        for cy in (y, y + CARD_H):
            canvas.line(x - MARK - 1 * mm, cy, x - 1 * mm, cy)
            canvas.line(x + CARD_W + 1 * mm, cy, x + CARD_W + MARK + 1 * mm, cy)
    with translation.override(household.site.language):
        _card(canvas, x=x, y=y, card=card, who=household_identity(household),
              site_name=f"{household.site.name} ({household.site.code})")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _heads():
    from django.db.models import Prefetch

    return Prefetch("members", queryset=Member.objects.filter(is_head=True, active=True))


def cards_for_print(*, households: Iterable[Household], user) -> list[Card]:
    """The active card of each household, issuing a first card where there is none."""
    households = list(households)
    services.cards_issue(households=households, user=user)
    cards = {c.household_id: c for c in Card.objects.filter(household__in=[h.pk for h in households],
                                                            status=CardStatus.ACTIVE)}
    return [cards[h.pk] for h in households if h.pk in cards]


def print_cards(*, out: Path, user, cycle: str | None = None, households: list[str] | None = None,
                site: str | None = None, site_ids: set[int] | None = None,
                progress: Callable[[int, int], None] | None = None, batch: str | None = None) -> dict:
    """Print the cards chosen by the filters to ``out``; every card printed gets a print-history row.

    ``batch`` names the print run; a run started again under the same batch (a job whose worker died)
    records its cards once."""
    chosen = list(selectors.card_filter(cycle_number=cycle, households=households, site_code=site, site_ids=site_ids))
    if households:
        missing = sorted(set(households) - {h.number for h in chosen})
        if missing:
            raise ValueError(_("unknown or inactive household(s): %(numbers)s") % {"numbers": ", ".join(missing[:10])})
    if not chosen:
        raise ValueError(_("no household matches: nothing to print"))
    cards = cards_for_print(households=chosen, user=user)
    total = len(cards)
    pages = render_cards(cards, out, progress=(lambda done: progress(done, total)) if progress else None)
    batch = batch or f"PRINT-{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    services.card_prints_record(cards=cards, batch=batch, user=user)
    return {"cards": total, "pages": pages, "batch": batch}


def print_cards_job(*, job, user_id: int, cycle: str | None = None, households: list[str] | None = None,
                    site: str | None = None, site_ids: list[int] | None = None) -> dict:
    user = get_user_model().objects.get(pk=user_id)
    # Card sheets carry household numbers and signed tokens: private like every file Relief writes.
    folder = private_dir(Path(settings.MEDIA_ROOT) / "cards")
    out = folder / f"{job.pk}.pdf"
    result = print_cards(out=out, user=user, cycle=cycle, households=households, site=site,
                         site_ids=set(site_ids) if site_ids is not None else None, batch=f"PRINT-{job.pk.hex}",
                         progress=lambda done, total: job_progress(job, done=done, total=total,
                                                                   message=_("cards drawn")))
    from django.urls import reverse

    return {**result, "download": reverse("distribution:cards-pdf", args=[job.pk]),
            "download_label": _("Download the card sheets (PDF)")}
