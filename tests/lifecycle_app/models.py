from django.db import models
from simple_history.models import HistoricalRecords

from relief.core.documents import Document, DocumentLine


class Counter(models.Model):
    """Stands in for a balance that a document posts to."""

    name = models.CharField(max_length=20, unique=True)
    value = models.IntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class Voucher(Document):
    naming_series = "VCH-{year}-"
    note = models.CharField(max_length=50, blank=True)
    history = HistoricalRecords()


class VoucherLine(DocumentLine):
    document_field = "voucher"
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="lines")
    counter = models.CharField(max_length=20)
    qty = models.IntegerField()
