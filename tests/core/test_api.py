import pytest
from django.utils import timezone

from relief.core import services
from relief.core.models import ApiToken


def test_token_from_password_then_bearer_access(users, client):
    response = client.post("/api/v1/auth/token", {"username": "warehouse", "password": "test-pass-123"},
                           content_type="application/json")
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json() == {"username": "warehouse", "roles": ["Warehouse Staff"]}
    assert token not in "".join(ApiToken.objects.values_list("key_hash", flat=True))


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"username": "warehouse", "password": "nope"}, 401, None),
        ({"username": "warehouse"}, 422, "password"),
        ({"username": "warehouse", "password": "test-pass-123", "days": 9999}, 422, "days"),
    ],
)
def test_bad_token_requests_are_refused_with_the_field_named(users, client, body, status, field):
    response = client.post("/api/v1/auth/token", body, content_type="application/json")
    assert response.status_code == status
    if field:
        assert field in response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_revoked_and_expired_tokens_stop_working(users, client):
    token, raw = services.api_token_create(user=users["distribution"], name="lane 3 phone")
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    services.api_token_revoke(token=token)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    token2, raw2 = services.api_token_create(user=users["distribution"], name="lane 4 phone")
    ApiToken.objects.filter(pk=token2.pk).update(expires_at=timezone.now())
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw2}"}).status_code == 401


def test_no_credentials_no_access(client, db):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_openapi_schema_is_served(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/auth/token" in schema["paths"]


def test_a_bad_bearer_token_is_a_401_even_with_a_session(users, client):
    client.force_login(users["manager"])
    response = client.post("/api/v1/households/search", {"q": "x"}, content_type="application/json",
                           headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401

