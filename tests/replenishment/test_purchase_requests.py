"""Purchase requests a logistician can send: supplier, unit prices, currency; sent for approval, approved by
the role its total needs (never by who sent it); a PDF; the same rules through the page and the API."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pypdfium2
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from relief.core.documents import DocumentError
from relief.core.roles import LOGISTICS_MANAGER
from relief.core.services import document_submit
from relief.inventory.models import Item, Warehouse
from relief.replenishment import services
from relief.replenishment.models import PurchaseApproval, PurchaseRequest, PurchaseRequestLine

pytestmark = pytest.mark.django_db


def _request(users, *, qty: int, price: str | None, currency: str = "TZS", supplier: str = "Kigoma Traders Ltd"):
    warehouse = Warehouse.objects.create(code="KGM-MAIN", name="Kigoma main", kind=Warehouse.Kind.MAIN)
    item = Item.objects.create(code="TARP-4X6", name="Tarpaulin 4 × 6 m")
    pr = PurchaseRequest.objects.create(warehouse=warehouse, need_by=timezone.localdate() + datetime.timedelta(30),
                                        supplier=supplier, currency=currency, created_by=users["manager"])
    PurchaseRequestLine.objects.create(request=pr, item=item, qty=qty, unit_price=price, need_by=pr.need_by)
    return pr


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_send_for_approval_needs_supplier_currency_and_every_price(users):
    pr = _request(users, qty=10, price=None, currency="", supplier="")
    with pytest.raises(DocumentError) as caught:
        document_submit(document=pr, user=users["manager"])
    message = str(caught.value)
    assert "supplier" in message and "currency" in message and "unit price" in message
    pr.refresh_from_db()
    assert pr.status == "draft" and pr.total is None


def test_small_purchase_is_approved_by_another_logistics_manager_never_by_its_sender(users):
    from django.contrib.auth.models import Group, User

    pr = document_submit(document=_request(users, qty=2000, price="875"), user=users["manager"])
    # 2,000 × 875 TZS = 1,750,000 TZS = 700 USD: within the Logistics Manager's limit.
    assert (pr.total, pr.total_usd, pr.approver_role) == (Decimal("1750000.00"), Decimal("700.00"), LOGISTICS_MANAGER)
    with pytest.raises(PermissionDenied):
        services.purchase_request_decide(request=pr, user=users["manager"], approve=True)
    with pytest.raises(PermissionDenied):
        services.purchase_request_decide(request=pr, user=users["warehouse"], approve=True)
    colleague = User.objects.create_user(username="manager2", password="x")
    colleague.groups.add(Group.objects.get(name=LOGISTICS_MANAGER))
    with pytest.raises(ValidationError):
        services.purchase_request_decide(request=pr, user=colleague, approve=False, note="")
    approval = services.purchase_request_decide(request=pr, user=colleague, approve=True)
    assert (approval.decision, approval.role) == ("approved", LOGISTICS_MANAGER)
    with pytest.raises(DocumentError):
        services.purchase_request_decide(request=pr, user=users["admin"], approve=False, note="too late")


def test_large_purchase_needs_an_administrator_page_api_and_pdf(users):
    pr = document_submit(document=_request(users, qty=800, price="36250"), user=users["manager"])
    # 29,000,000 TZS = 11,600 USD: above 5,000 USD, an Administrator approves.
    assert pr.approver_role == "Administrator"
    manager = _client(users["manager"])
    page = manager.get(f"/replenishment/purchase-requests/{pr.number}/").content.decode()
    assert "29000000.00 TZS" in page and 'id="pr-decide"' not in page
    refused = manager.post(f"/api/v1/replenishment/purchase-requests/{pr.number}/decision", {"approve": True},
                           content_type="application/json")
    assert refused.status_code == 403 and not PurchaseApproval.objects.exists()
    admin = _client(users["admin"])
    assert 'id="pr-decide"' in admin.get(f"/replenishment/purchase-requests/{pr.number}/").content.decode()
    assert admin.post(f"/replenishment/purchase-requests/{pr.number}/", {"action": "approve"}).status_code == 302
    detail = manager.get(f"/api/v1/replenishment/purchase-requests/{pr.number}").json()
    assert detail["decision"]["decision"] == "approved" and detail["decision"]["by"] == "admin"
    pdf = manager.get(f"/replenishment/purchase-requests/{pr.number}/pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    text = pypdfium2.PdfDocument(pdf.content)[0].get_textpage().get_text_range()
    assert "Kigoma Traders Ltd" in text and "29,000,000.00 TZS" in text and "Approved" in text
    assert _client(users["warehouse"]).get(f"/replenishment/purchase-requests/{pr.number}/pdf/").status_code == 403


def test_supplier_markup_is_text_in_the_pdf(users):
    pr = document_submit(document=_request(users, qty=1, price="10", supplier="<b>Acme</b> & <font size=40>"),
                         user=users["manager"])
    pdf = _client(users["manager"]).get(f"/replenishment/purchase-requests/{pr.number}/pdf/")
    text = pypdfium2.PdfDocument(pdf.content)[0].get_textpage().get_text_range()
    assert "<b>Acme</b> & <font size=40>" in text
