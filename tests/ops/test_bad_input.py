"""Bad input sent to the running stack over HTTP, as a broken scanner, a confused clerk or an attacker
would send it: each gets a 4xx with a message naming what is wrong, never a 500, and nothing changes."""

from __future__ import annotations

import json

import pytest
import requests

pytestmark = pytest.mark.ops


def _counts(stack) -> tuple:
    return stack.sql("""SELECT (SELECT COUNT(*) FROM inventory_stockledgerentry),
                               (SELECT COUNT(*) FROM distribution_redemption),
                               (SELECT COALESCE(SUM(on_hand), 0) FROM inventory_bin)""")[0]


def test_bad_api_input_is_refused_clearly_and_changes_nothing(stack):
    url = f"{stack.base}/api/v1"
    clerk, lane = stack.token("warehouse"), stack.token("distribution")
    event = stack.world["events"][0]
    code = event["codes"][-1]
    good_line = {"item": "OPS-SOAP", "qty": 1, "source": "OPS-MAIN"}
    draft = requests.post(f"{url}/stock-entries", headers=clerk, timeout=30, json={
        "type": "issue", "purpose": "loan", "lines": [{**good_line, "qty": 9_999_999}]})
    assert draft.status_code == 201, draft.text
    before = _counts(stack)

    cases = [
        # (what, method, path, headers, body or raw bytes, expected status, a word the answer must hold)
        ("not JSON", "post", "/stock-entries", clerk, b"{lines: [", 400, "parse"),
        ("no lines", "post", "/stock-entries", clerk, {"type": "issue", "lines": []}, 422, "lines"),
        ("zero quantity", "post", "/stock-entries", clerk, {"type": "issue", "lines": [{**good_line, "qty": 0}]},
         422, "lines.0.qty"),
        ("unknown item", "post", "/stock-entries", clerk, {"type": "issue", "lines": [{**good_line, "item": "NOPE"}]},
         422, "NOPE"),
        ("unknown type", "post", "/stock-entries", clerk, {"type": "gift", "lines": [good_line]}, 422, "type"),
        ("1001 lines", "post", "/stock-entries", clerk, {"type": "issue", "lines": [good_line] * 1001}, 422, "lines"),
        ("more than on hand", "post", f"/stock-entries/{draft.json()['number']}/submit", clerk, None, 409,
         "OPS-SOAP"),
        ("unknown entry", "post", "/stock-entries/GRN-1900-00001/submit", clerk, None, 404, "GRN-1900-00001"),
        ("scanner posts stock", "post", "/stock-entries", lane, {"type": "issue", "lines": [good_line]}, 403, ""),
        # A bearer token is judged alone: a forged one is a 401, whatever cookies come with it.
        ("bad token", "post", "/scan/verify", {"Authorization": "Bearer forged"}, {"code": code,
                                                                                   "event": event["id"]}, 401, ""),
        ("oversized code", "post", "/scan/verify", lane, {"code": "A" * 5000, "event": event["id"]}, 422, "code"),
        ("unknown event", "post", "/scan/verify", lane, {"code": code, "event": 999999}, 404, ""),
        ("lane out of range", "post", "/scan/redeem", lane, {"code": code, "event": event["id"], "client_id": "x1",
                                                              "lane": 99}, 422, "lane"),
        ("empty client id", "post", "/scan/redeem", lane, {"code": code, "event": event["id"], "client_id": ""},
         422, "client_id"),
        ("collector not a number", "post", "/scan/redeem", lane, {"code": code, "event": event["id"],
                                                                   "client_id": "x2", "collector": "uncle"},
         422, "collector"),
        ("more than entitled", "post", "/scan/redeem", lane, {"code": code, "event": event["id"], "client_id": "x3",
                                                               "lines": [{"item": "OPS-BLK", "qty": 99}]}, 422, ""),
        ("11 MB body", "post", "/stock-entries", clerk, b"[" + b" " * (11 * 1024 * 1024) + b"]", 400, ""),
    ]
    problems = []
    for what, method, path, headers, body, status, word in cases:
        kw = {"data": body, "headers": {**headers, "Content-Type": "application/json"}} if isinstance(
            body, bytes) else {"json": body, "headers": headers}
        answer = requests.request(method, f"{url}{path}", timeout=60, **kw)
        text = answer.text
        if answer.status_code != status or word not in text or "Traceback" in text:
            problems.append((what, answer.status_code, text[:300]))
        if answer.status_code in (404, 409, 422) and "json" in answer.headers.get("Content-Type", ""):
            assert json.loads(text).get("detail") or json.loads(text).get("verdict"), (what, text)
    assert problems == [], "\n".join(map(repr, problems))
    assert _counts(stack) == before
    verdict = requests.post(f"{url}/scan/verify", json={"code": "RLF1:garbage", "event": event["id"]},
                            headers=lane, timeout=30).json()
    assert verdict["verdict"] not in ("entitled", "already_collected")
