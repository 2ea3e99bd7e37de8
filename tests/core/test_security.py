import pytest


def _login(client, password):
    return client.post("/desk/login/?next=/desk/", {"username": "warehouse", "password": password})


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(users, client):
    for _ in range(5):
        assert _login(client, "wrong-password").status_code in (200, 429)
    locked = _login(client, "test-pass-123")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_api_token_endpoint_is_throttled_too(users, client):
    for _ in range(5):
        client.post("/api/v1/auth/token", {"username": "manager", "password": "nope"}, content_type="application/json")
    response = client.post("/api/v1/auth/token", {"username": "manager", "password": "test-pass-123"},
                           content_type="application/json")
    assert response.status_code in (401, 429)
    assert "token" not in response.content.decode()


@pytest.mark.django_db
def test_pages_carry_a_policy_without_inline_script_and_safe_cookies(client):
    response = client.get("/desk/login/")
    policy = response.headers["Content-Security-Policy"]
    script = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert b"<script>" not in response.content
    assert response.cookies["csrftoken"]["httponly"]


def test_session_cookie_is_httponly(users, client):
    response = client.post("/desk/login/?next=/desk/", {"username": "auditor", "password": "test-pass-123"})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["httponly"]
