import pytest

from relief.inventory.models import StockEntry, StockLedgerEntry, Waybill
from tests.inventory.conftest import receive

ROLES = ["admin", "manager", "warehouse", "distribution", "registrar", "auditor", "outsider"]


@pytest.fixture
def api(client, users, stock):
    """A client logged in as a role; the Warehouse Staff user works at the camp warehouse only."""
    stock.camp.staff.add(users["warehouse"])

    def as_role(role):
        client.force_login(users[role])
        return client

    return as_role


def post(client, path, body=None):
    return client.post(f"/api/v1{path}", body or {}, content_type="application/json")


def receipt(target="NYA-FW", qty=10):
    return {"type": "receipt", "grant": "ECHO-2026-01", "supplier": "ECHO",
            "lines": [{"item": "BLK", "qty": qty, "target": target}]}


@pytest.mark.smoke
def test_bearer_token_flow_receipt_submit_stock_cancel(client, users, stock):
    token = client.post("/api/v1/auth/token", {"username": "manager", "password": "test-pass-123"},
                        content_type="application/json").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    made = client.post("/api/v1/stock-entries", receipt("KGM", 40), content_type="application/json", **auth)
    assert made.status_code == 201, made.content
    number = made.json()["number"]
    assert made.json() == {"number": number, "status": "draft"}
    done = client.post(f"/api/v1/stock-entries/{number}/submit", content_type="application/json", **auth)
    assert done.status_code == 200 and done.json()["status"] == "submitted"
    rows = client.get("/api/v1/stock?warehouse=KGM&item=BLK", **auth).json()
    assert rows == [{"warehouse": "KGM", "item": "BLK", "lot": f"{number}-1", "on_hand": 40, "reserved": 0,
                     "available": 40}]
    cancelled = client.post(f"/api/v1/stock-entries/{number}/cancel", {"reason": "typo in the quantity"},
                            content_type="application/json", **auth)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.get("/api/v1/stock?warehouse=KGM", **auth).json() == []


def test_short_stock_is_409_with_the_numbers_and_posts_nothing(api, admin_user, stock):
    receive(admin_user, stock.main, stock.blanket, 5)
    client = api("manager")
    number = post(client, "/stock-entries", {"type": "issue", "purpose": "distribution",
                                             "lines": [{"item": "BLK", "qty": 6, "source": "KGM"}]}).json()["number"]
    response = post(client, f"/stock-entries/{number}/submit")
    assert response.status_code == 409
    assert "available 5, requested 6" in response.json()["detail"]
    assert StockEntry.objects.get(number=number).status == "draft"
    assert not StockLedgerEntry.objects.filter(voucher_no=number).exists()


@pytest.mark.parametrize("body, field", [
    ({"type": "receipt", "lines": [{"item": "BLK", "qty": 0, "target": "KGM"}]}, "lines.0.qty"),
    ({"type": "gift", "lines": [{"item": "BLK", "qty": 1, "target": "KGM"}]}, "type"),
    ({"type": "receipt", "lines": []}, "lines"),
    ({"type": "receipt", "lines": [{"item": "NOPE", "qty": 1, "target": "KGM"}]}, "lines.0.item"),
    ({"type": "receipt", "lines": [{"item": "BLK", "qty": 1, "target": "ZZZ"}]}, "lines.0.target"),
    ({"type": "issue", "purpose": "write-off", "lines": [{"item": "BLK", "qty": 1, "source": "KGM"}]}, "reason"),
    ({"type": "receipt", "grant": "NOPE", "lines": [{"item": "BLK", "qty": 1, "target": "KGM"}]}, "grant"),
])
def test_bad_bodies_are_422_naming_the_field_and_save_nothing(api, body, field):
    response = post(api("manager"), "/stock-entries", body)
    assert response.status_code == 422, response.content
    assert response.json()["detail"].startswith(f"{field}:") or f"{field}:" in response.json()["detail"]
    assert not StockEntry.objects.exists()


def test_unknown_codes_in_a_stock_query_are_404_naming_them(api):
    client = api("manager")
    response = client.get("/api/v1/stock?warehouse=ZZZ")
    assert response.status_code == 404 and "ZZZ" in response.json()["detail"]
    response = client.get("/api/v1/stock?item=NOPE")
    assert response.status_code == 404 and "NOPE" in response.json()["detail"]
    assert post(client, "/stock-entries/GRN-1/submit").status_code == 404


# role → (create a receipt at the main warehouse, at the camp warehouse, read stock of the main warehouse)
MATRIX = {
    "admin": (201, 201, 200),
    "manager": (201, 201, 200),
    "warehouse": (403, 201, 403),
    "distribution": (403, 403, 403),
    "registrar": (403, 403, 403),
    "auditor": (403, 403, 200),
    "outsider": (403, 403, 403),
}


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(api, role, admin_user, stock):
    receive(admin_user, stock.main, stock.blanket, 10)
    receive(admin_user, stock.camp, stock.blanket, 3)
    client = api(role)
    at_main, at_camp, read_main = MATRIX[role]
    assert post(client, "/stock-entries", receipt("KGM")).status_code == at_main
    made = post(client, "/stock-entries", receipt("NYA-FW"))
    assert made.status_code == at_camp
    assert client.get("/api/v1/stock?warehouse=KGM").status_code == read_main
    listed = client.get("/api/v1/stock")
    if role in ("registrar", "outsider"):
        assert listed.status_code == 403
    else:
        seen = {row["warehouse"] for row in listed.json()}
        expected = {"admin": {"KGM", "NYA-FW"}, "manager": {"KGM", "NYA-FW"}, "auditor": {"KGM", "NYA-FW"},
                    "warehouse": {"NYA-FW"}, "distribution": set()}[role]
        assert seen == expected
    # Submitting and cancelling someone's main-warehouse draft.
    other = post(api("admin"), "/stock-entries", receipt("KGM")).json()["number"]
    client = api(role)
    allowed = role in ("admin", "manager")
    assert post(client, f"/stock-entries/{other}/submit").status_code == (200 if allowed else 403)
    if allowed:
        # Cancelling reverses the receipt: refused without a reason, naming the field.
        refused = post(client, f"/stock-entries/{other}/cancel")
        assert refused.status_code == 422 and "reason" in refused.content.decode()
        reason = {"reason": "received twice by mistake"}
        assert post(client, f"/stock-entries/{other}/cancel", reason).status_code == 200


def test_warehouse_staff_receive_waybills_to_their_warehouse_only(api, admin_user, stock):
    receive(admin_user, stock.main, stock.blanket, 10)
    client = api("manager")
    number = post(client, "/stock-entries", {"type": "transfer", "lines": [
        {"item": "BLK", "qty": 10, "source": "KGM", "target": "NYA-FW"}]}).json()["number"]
    assert post(client, f"/stock-entries/{number}/submit").status_code == 200
    waybill = Waybill.objects.get(entry__number=number)
    body = {"lines": [{"line": waybill.lines.get().pk, "received": 9, "damaged": 1, "remarks": "wet"}]}
    assert post(api("auditor"), f"/waybills/{waybill.number}/receive", body).status_code == 403
    response = post(api("warehouse"), f"/waybills/{waybill.number}/receive", body)
    assert response.status_code == 200 and response.json()["status"] == "received"
    again = post(api("warehouse"), f"/waybills/{waybill.number}/receive", body)
    assert again.status_code == 409
