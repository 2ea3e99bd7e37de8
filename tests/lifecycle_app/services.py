"""The test document's lifecycle, registered with core as a package's services module does."""

from django.db import models

from relief.core.services import document_lifecycle
from tests.lifecycle_app.models import Counter, Voucher


def voucher_post(voucher: Voucher, user) -> None:
    if voucher.note == "refuse":
        raise ValueError("refused by the hook")
    for line in voucher.lines.all():
        Counter.objects.filter(name=line.counter).update(value=models.F("value") + line.qty)


def voucher_reverse(voucher: Voucher, user) -> None:
    for line in voucher.lines.all():
        Counter.objects.filter(name=line.counter).update(value=models.F("value") - line.qty)


document_lifecycle(Voucher, post=voucher_post, reverse=voucher_reverse)
