"""MariaDB restarted under load, and Redis down, on a site of its own: a private mariadbd and redis-server
on free ports (the shared servers carry the other tests), the site restored there from the stack's backup."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass

import pytest
import requests

from tests.ops.stack import PrivateMariaDB, PrivateRedis, Stack, relief

pytestmark = pytest.mark.ops


@pytest.fixture(scope="module")
def private(stack, tmp_path_factory):
    root = tmp_path_factory.mktemp("ops-private")
    mariadb, redis_server = PrivateMariaDB(root / "mariadb").install(), PrivateRedis(root / "redis")
    site = Stack(site=f"priv-{uuid.uuid4().hex[:6]}.localhost", sites_dir=stack.sites_dir,
                 database="test_relief_ops_private", db_port=mariadb.port, world=stack.world)
    try:
        mariadb.start()
        redis_server.start()
        relief("--site", site.site, "restore", str(stack.archive), "--db-url",
               f"mysql://root@127.0.0.1:{mariadb.port}/{site.database}", sites_dir=stack.sites_dir)
        site.set_config(redis_url=redis_server.url)
        backup = site.start("backup", "backup")  # a fresh backup keeps /health/ green until the outages
        site.start_worker("worker-1", "short", "default", "long")
        site.start_scheduler(interval=2)
        site.start_web(workers=2)
        assert backup.wait(timeout=300) == 0, site.tail("backup")
        site.processes.pop("backup")
        site.mariadb, site.redis = mariadb, redis_server
        yield site
    finally:
        site.stop()
        redis_server.stop()
        mariadb.stop()


@dataclass
class Answer:
    at: float
    kind: str
    status: int | str
    body: str
    content_type: str = ""


class Load:
    """A few clients hitting desk pages, scans and redeems in a loop until stopped."""

    def __init__(self, site: Stack, codes: list[str], clients: int = 4) -> None:
        self.site, self.answers, self.stopped = site, [], threading.Event()
        self.auth = site.token("distribution", name="outage lane")
        self.desk = site.login("warehouse")
        # /health/'s details are for the monitor's token (or an Administrator).
        self.health = {"Authorization": f"Bearer {site.config()['health_token']}"}
        self.event = site.world["events"][0]["id"]
        self.codes, self.lock, self.next_redeem = iter(codes), threading.Lock(), 0.0
        self.redeems: dict[str, dict] = {}  # client_id -> body
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(60)

    def _call(self, kind: str, method: str, url: str, client=requests, **kw) -> None:
        try:
            response = client.request(method, f"{self.site.base}{url}", timeout=30, **kw)
            answer = Answer(time.monotonic(), kind, response.status_code, response.text[:3000],
                            response.headers.get("Content-Type", ""))
        except requests.RequestException as exc:
            answer = Answer(time.monotonic(), kind, type(exc).__name__, "")
        with self.lock:
            self.answers.append(answer)

    def _run(self, n: int) -> None:
        for step in itertools.count():
            if self.stopped.is_set():
                return
            kind = ("verify", "page", "redeem", "health")[(n + step) % 4]
            if kind == "verify":
                self._call(kind, "POST", "/api/v1/scan/verify", headers=self.auth,
                           json={"code": self.site.world["events"][0]["codes"][0], "event": self.event})
            elif kind == "page":
                self._call(kind, "GET", "/desk/", client=self.desk)
            elif kind == "redeem":
                # Paced so the cards last through before, during and after the outage.
                with self.lock:
                    code = next(self.codes, None) if time.monotonic() >= self.next_redeem else None
                    self.next_redeem = max(self.next_redeem, time.monotonic() + 0.3)
                if code is None:
                    continue
                body = {"code": code, "event": self.event, "client_id": str(uuid.uuid4())}
                self.redeems[body["client_id"]] = body
                self._call(kind, "POST", "/api/v1/scan/redeem", headers=self.auth, json=body)
            else:
                self._call(kind, "GET", "/health/", headers=self.health)
            time.sleep(0.05)

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.at < end]


def ok(answer: Answer) -> bool:
    return answer.status in (200, 201)


def clean_failure(answer: Answer) -> bool:
    """A failure a user or a scanner can act on: an error status with a short page or JSON, no traceback."""
    internals = ("Traceback", 'File "', "pymysql", "Can't connect", "SELECT ")
    return (answer.status in (500, 502, 503) and not any(word in answer.body for word in internals)
            and len(answer.body) < 3000)


def test_mariadb_restarted_under_load_requests_fail_cleanly_then_succeed(private):
    # The private site is restored from a backup taken before any test scanned: only code 20 (the Redis
    # test's) and the last (the bad-input test's) are set aside.
    codes = private.world["events"][0]["codes"][21:-1]
    with Load(private, codes) as load:
        time.sleep(3)
        down = time.monotonic()
        private.mariadb.stop()
        time.sleep(5)
        private.mariadb.start()
        up = time.monotonic()
        deadline = up + 60
        while time.monotonic() < deadline:
            time.sleep(1)
            recent = load.between(time.monotonic() - 3, time.monotonic())
            if recent and all(ok(a) for a in recent):
                break
        time.sleep(2)

    before = load.between(0, down)
    assert before and all(ok(a) for a in before), [(a.kind, a.status) for a in before if not ok(a)]
    outage = [a for a in load.between(down + 0.5, up) if not ok(a)]
    assert len(outage) >= 10, "the outage was not felt"
    kinds = {a.kind for a in outage}
    # Pages and health are polled steadily; scans come in bursts, so at least one kind of scan must feel it.
    assert {"page", "health"} <= kinds and kinds & {"verify", "redeem"}, kinds
    for kind in ("verify", "page", "redeem", "health"):
        sample = next((a for a in outage if a.kind == kind), None)
        print(f"during the outage, {kind}: {sample and (sample.status, sample.content_type, sample.body[:120])}")
    assert all(clean_failure(a) for a in outage), [(a.kind, a.status, a.body[:300]) for a in outage
                                                   if not clean_failure(a)][:5]
    # The web tier stayed up: every request got an answer, none a dropped connection.
    assert all(isinstance(a.status, int) for a in load.answers)
    health = [a for a in outage if a.kind == "health"]
    assert health and all(a.status == 503 and '"database": {"ok": false' in a.body for a in health)
    recovered = load.between(time.monotonic() - 4, time.monotonic())
    assert recovered and all(ok(a) for a in recovered), [(a.kind, a.status) for a in recovered if not ok(a)]
    last_failure = max(a.at for a in load.answers if not ok(a))

    # A redeem cut short by the outage is retried with its client id: each household collects once.
    auth = private.token("distribution")
    for body in load.redeems.values():
        answer = requests.post(f"{private.base}/api/v1/scan/redeem", json=body, headers=auth, timeout=30)
        assert answer.status_code == 201, answer.text
    assert private.sql("SELECT COUNT(*) FROM distribution_redemption WHERE client_id IN %s",
                       [list(load.redeems)])[0][0] == len(load.redeems)
    assert private.sql("SELECT household_id FROM distribution_redemption GROUP BY household_id, event_id "
                       "HAVING COUNT(*) > 1") == []
    assert private.bins_match_ledger() == []
    private.check()

    # The scheduler and the worker lived through it: a job still runs.
    assert all(proc.poll() is None for proc in private.processes.values())
    admin = private.login("admin")
    job = private.post_form(admin, "/jobs/sample/", {}, allow_redirects=False).headers["Location"]
    assert private.wait_job(admin, job.rstrip("/").rsplit("/", 1)[-1])["status"] == "finished"
    print(f"MariaDB outage: {len(load.answers)} requests, {len(outage)} failed cleanly while it was down, "
          f"all answered again {max(0.0, last_failure - up):.1f}s after it was back")


def test_mariadb_power_cut_under_load_leaves_nothing_half_done(private):
    """SIGKILL of the private mariadbd (a power cut: no shutdown) during mixed load, then crash recovery: every
    hand-over is whole or absent, retries record each once, the books balance and relief check is clean."""
    codes = private.world["events"][0]["codes"][1:20]  # code 0 is only verified; 20 on belong to other tests
    with Load(private, codes) as load:
        time.sleep(3)
        down = time.monotonic()
        private.mariadb.kill()
        time.sleep(2)
        private.mariadb.start(timeout=180)
        up = time.monotonic()
        deadline = up + 60
        while time.monotonic() < deadline:
            time.sleep(1)
            recent = load.between(time.monotonic() - 3, time.monotonic())
            if recent and all(ok(a) for a in recent):
                break
    assert [a for a in load.between(down + 0.5, up) if not ok(a)], "the power cut was not felt"
    assert all(isinstance(a.status, int) for a in load.answers)

    auth = private.token("distribution")
    for body in load.redeems.values():
        answer = requests.post(f"{private.base}/api/v1/scan/redeem", json=body, headers=auth, timeout=30)
        assert answer.status_code == 201, answer.text
    assert private.sql("SELECT COUNT(*) FROM distribution_redemption WHERE client_id IN %s",
                       [list(load.redeems)])[0][0] == len(load.redeems)
    # Nothing half-done: no hand-over without its lines, none whose stock differs from what it handed over.
    assert private.sql("SELECT r.id FROM distribution_redemption r LEFT JOIN distribution_redemptionline l "
                       "ON l.redemption_id = r.id WHERE l.id IS NULL") == []
    assert private.sql("SELECT household_id FROM distribution_redemption GROUP BY household_id, event_id "
                       "HAVING COUNT(*) > 1") == []
    assert private.bins_match_ledger() == []
    private.check()
    assert all(proc.poll() is None for proc in private.processes.values())
    print(f"MariaDB power cut: {len(load.answers)} requests, {len(load.redeems)} hand-overs, all whole after "
          f"crash recovery ({up - down:.1f}s down)")


def test_redis_down_pages_and_scans_work_jobs_wait_and_the_administrator_sees_it(private):
    event = private.world["events"][0]
    code = event["codes"][20]
    auth = private.token("distribution")
    desk = private.login("warehouse")
    admin = private.login("admin")
    private.redis.stop()
    try:
        assert desk.get(f"{private.base}/desk/", timeout=30).status_code == 200
        verdict = requests.post(f"{private.base}/api/v1/scan/verify", json={"code": code, "event": event["id"]},
                                headers=auth, timeout=30)
        assert verdict.status_code == 200 and verdict.json()["verdict"] == "entitled"
        redeemed = requests.post(f"{private.base}/api/v1/scan/redeem", headers=auth, timeout=30,
                                 json={"code": code, "event": event["id"], "client_id": str(uuid.uuid4())})
        assert redeemed.status_code == 201, redeemed.text
        health = requests.get(f"{private.base}/health/", timeout=30,
                              headers={"Authorization": f"Bearer {private.config()['health_token']}"})
        assert health.status_code == 503
        assert health.json()["checks"]["redis"]["ok"] is False and health.json()["checks"]["database"]["ok"]
        assert "REDIS DOWN" in admin.get(f"{private.base}/desk/", timeout=30).text
        assert "REDIS DOWN" not in desk.get(f"{private.base}/desk/", timeout=30).text

        started = private.post_form(admin, "/jobs/sample/", {}, allow_redirects=False)
        assert started.status_code == 302
        job = started.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        time.sleep(3)
        assert private.job_status(admin, job)["status"] == "queued"
        assert all(proc.poll() is None for proc in private.processes.values()), private.tail("scheduler")
    finally:
        private.redis.start()
    back = time.monotonic()
    # Back: the scheduler hands the waiting job to the worker, and health is green again.
    assert private.wait_job(admin, job, timeout=120)["status"] == "finished"
    print(f"Redis outage: the job that waited finished {time.monotonic() - back:.1f}s after Redis was back")
    assert requests.get(f"{private.base}/health/", timeout=30).status_code == 200
