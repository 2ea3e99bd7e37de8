"""The dashboard's figures against the ledger, and who may do what (pages and API) for every role."""

import json

import pytest
from django.db.models import Sum
from django.test import Client

from relief.core.services import document_submit
from relief.inventory.models import StockLedgerEntry, Warehouse
from relief.replenishment import selectors, services
from relief.replenishment.models import ReplenishmentPlan

ROLES = ["admin", "manager", "warehouse", "distribution", "registrar", "auditor", "outsider"]


def client_for(users, name) -> Client:
    client = Client()
    client.force_login(users[name])
    return client


@pytest.mark.django_db
def test_dashboard_stock_equals_the_ledger_per_warehouse_and_category(logistics):
    w = logistics
    document_submit(document=services.plan_create(user=w.users["manager"], horizon_days=30), user=w.users["manager"])
    stock = selectors.stock_by_warehouse_category()
    from_ledger = {
        (code, category): qty for code, category, qty in StockLedgerEntry.objects
        .exclude(warehouse__kind__in=[Warehouse.Kind.TRANSIT, Warehouse.Kind.REGION])
        .values_list("warehouse__code", "item__category").annotate(q=Sum("qty"))
        .values_list("warehouse__code", "item__category", "q") if qty}
    shown = {(code, series["category"]): qty for series in stock["series"]
             for code, qty in zip(stock["warehouses"], series["values"], strict=True) if qty}
    labels = {"nfi": "Non-food item"}
    assert shown == {(code, labels[category]): qty for (code, category), qty in from_ledger.items()}
    assert shown == {("KGM-MAIN", "Non-food item"): 35, ("NYA-DP1", "Non-food item"): 8}
    coverage = selectors.coverage_rounds()
    assert coverage == [{"item": "MOSQ-NET", "per_round": 30, "stock": 43, "rounds": 1.4, "cycle": w.cycle.number}]
    shortfalls = selectors.latest_shortfalls()
    assert (shortfalls["items"], shortfalls["short"], shortfalls["buy"]) == (["MOSQ-NET"], [22], [7])


@pytest.mark.django_db
def test_dashboard_page_carries_its_data_as_json_and_scripts_as_files(logistics):
    response = client_for(logistics.users, "manager").get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script id="dashboard-data" type="application/json">' in html
    assert "replenishment/vendor/chart.umd.min.js" in html and "replenishment/dashboard.js" in html
    # Every script tag is a file: nothing inline for the Content-Security-Policy to refuse.
    assert html.count("<script") == html.count('<script src="') + 1
    data = json.loads(html.split('<script id="dashboard-data" type="application/json">')[1].split("</script>")[0])
    assert data["stock"]["warehouses"] == ["KGM-MAIN", "NYA-DP1"]


@pytest.mark.django_db
def test_role_matrix_for_pages(logistics):
    w = logistics
    plan = services.plan_create(user=w.users["manager"], horizon_days=30)
    allowed_read = {"admin", "manager", "auditor"}
    allowed_plan = {"admin", "manager"}
    for name in ROLES:
        client = client_for(w.users, name)
        expect_read = 200 if name in allowed_read else 403
        assert client.get("/dashboard/").status_code == expect_read, name
        assert client.get("/replenishment/plans/").status_code == expect_read, name
        assert client.get(f"/replenishment/plans/{plan.number}/").status_code == expect_read, name
        assert client.get(f"/replenishment/plans/{plan.number}/xlsx/").status_code == expect_read, name
        before = ReplenishmentPlan.objects.count()
        response = client.post("/replenishment/plans/", {"horizon_days": "30"})
        assert response.status_code == (302 if name in allowed_plan else 403), name
        if name not in allowed_plan:
            assert ReplenishmentPlan.objects.count() == before
            assert client.post(f"/replenishment/plans/{plan.number}/").status_code == 403, name
    plan.refresh_from_db()
    assert plan.status == "draft"
    assert Client().get("/dashboard/").status_code == 302  # anonymous: to the login page
    response = client_for(w.users, "manager").post(f"/replenishment/plans/{plan.number}/", follow=True)
    assert "submitted" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == "submitted"


@pytest.mark.django_db
def test_run_a_plan_from_the_page_with_a_bad_horizon_says_so(logistics):
    client = client_for(logistics.users, "manager")
    response = client.post("/replenishment/plans/", {"horizon_days": "soon"}, follow=True)
    assert "Give a whole number of days" in response.content.decode()
    response = client.post("/replenishment/plans/", {"horizon_days": "0"}, follow=True)
    assert "Give 1 to 366 days from today" in response.content.decode()
    assert not ReplenishmentPlan.objects.exists()


@pytest.mark.django_db
def test_role_matrix_for_the_api(logistics):
    w = logistics
    for name in ROLES:
        client = client_for(w.users, name)
        response = client.post("/api/v1/replenishment/plans", {"horizon_days": 30}, content_type="application/json")
        assert response.status_code == (201 if name in {"admin", "manager"} else 403), name
        response = client.get("/api/v1/replenishment/dashboard")
        assert response.status_code == (200 if name in {"admin", "manager", "auditor"} else 403), name
    number = ReplenishmentPlan.objects.order_by("pk").values_list("number", flat=True).first()
    assert client_for(w.users, "auditor").post(f"/api/v1/replenishment/plans/{number}/submit").status_code == 403
    response = client_for(w.users, "manager").post(f"/api/v1/replenishment/plans/{number}/submit")
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    assert {ln["kind"] for ln in response.json()["lines"] if ln["document"]} == {"transfer", "purchase"}
    response = client_for(w.users, "manager").post("/api/v1/replenishment/plans", {"horizon_days": -2},
                                                  content_type="application/json")
    assert response.status_code == 422 and "in the past" in response.json()["detail"]
