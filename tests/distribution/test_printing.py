"""Card sheets: print to PDF, render the pages, decode every QR with a real decoder, verify each."""

import pypdfium2
import pytest
import zxingcpp
from django.test import Client

from relief.distribution import services
from relief.distribution.models import CardPrint
from relief.distribution.printing import print_cards


def decode_pdf(path, scale=4):
    codes = []
    pdf = pypdfium2.PdfDocument(str(path))
    for page in pdf:
        image = page.render(scale=scale).to_pil()
        codes.extend(r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode)
    return codes, len(pdf)


@pytest.mark.django_db
def test_printed_cards_decode_and_verify(world, tmp_path, users):
    out = tmp_path / "cards.pdf"
    # Eleven cards: two pages (ten per page); the households without a card get one on the way.
    from tests.distribution.conftest import register

    for _ in range(6):
        register(users["admin"], world.sites["NYA"], size=2)
    result = print_cards(out=out, user=users["registrar"], site="NYA")
    assert result["cards"] == 10 and result["pages"] == 1
    result = print_cards(out=out, user=users["registrar"], households=[h.number for h in world.households])
    assert result["pages"] == 1
    codes, pages = decode_pdf(out)
    assert pages == 1 and len(codes) == 5
    verdicts = sorted(services.scan_verify(code=c, event=world.event).verdict for c in codes)
    assert verdicts == ["entitled"] * 4 + ["wrong_event"]
    assert CardPrint.objects.count() == 15
    # A reprint is history, not a new card.
    assert CardPrint.objects.filter(card=world.cards[0]).count() == 2


@pytest.mark.django_db
def test_print_refuses_unknown_households_and_prints_nothing(world, tmp_path, users):
    with pytest.raises(ValueError, match="HH-NYA-999999"):
        print_cards(out=tmp_path / "x.pdf", user=users["registrar"], households=["HH-NYA-999999"])
    assert not (tmp_path / "x.pdf").exists() and CardPrint.objects.count() == 0


@pytest.mark.django_db
def test_print_page_runs_a_job_with_a_download(world, users):
    client = Client()
    client.force_login(users["registrar"])
    resp = client.post("/distribution/cards/print/", {"cycle": world.cycle.number})
    assert resp.status_code == 302 and "/jobs/" in resp["Location"]
    from relief.core.models import Job

    job = Job.objects.get(kind="print-cards")
    # Tests run jobs on Redis only when a worker is there; run it here as the worker would.
    from relief.core.jobs import job_run

    job_run(str(job.pk))
    job.refresh_from_db()
    assert job.status == "finished", job.message
    assert job.result["cards"] == 5
    pdf = client.get(job.result["download"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    other = Client()
    other.force_login(users["distribution"])
    assert other.get(job.result["download"]).status_code == 403
    assert other.get("/distribution/cards/print/").status_code == 403


@pytest.mark.django_db
def test_print_cards_command(world, tmp_path):
    from django.core.management import CommandError, call_command

    out = tmp_path / "nya.pdf"
    call_command("print_cards", "--households", f"{world.households[0].number},{world.households[1].number}",
                 "--out", str(out))
    codes, _pages = decode_pdf(out)
    assert sorted(codes) == sorted([world.code(0), world.code(1)])
    with pytest.raises(CommandError, match="--out"):
        call_command("print_cards", "--site-code", "NYA", "--out", str(tmp_path / "nya.txt"))
    with pytest.raises(CommandError, match="nothing to print"):
        call_command("print_cards", "--cycle", "DC-1999-00001", "--out", str(out))
