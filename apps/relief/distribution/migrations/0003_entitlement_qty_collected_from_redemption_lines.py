"""Fill ``qty_collected`` of entitlements redeemed before it existed from their redemption line."""

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce


def fill(apps, schema_editor):
    Entitlement = apps.get_model("distribution", "Entitlement")
    RedemptionLine = apps.get_model("distribution", "RedemptionLine")
    handed = RedemptionLine.objects.filter(entitlement=OuterRef("pk")).values("qty_handed")[:1]
    Entitlement.objects.filter(status="redeemed").update(qty_collected=Coalesce(Subquery(handed), 0))


class Migration(migrations.Migration):
    dependencies = [("distribution", "0002_owed_entitlements_and_mop_up_events")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
