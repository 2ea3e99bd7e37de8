"""The production stack as real processes, for the ops tests and the load benchmark.

A site made with `relief new-site` in its own sites folder, then gunicorn (`relief serve`), RQ workers
(`relief worker`) and the scheduler (`relief scheduler`) started as the Procfile starts them, each in
its own process group so a test can SIGKILL exactly the process it means to. Helpers drive the site
over HTTP the way a browser or a scanner does, and read the database directly to verify what is stored.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
import requests

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "ops-pass-12345"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict:
    """The environment a user's shell would have: none of the test suite's RELIEF_/DJANGO_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELIEF_", "DJANGO_"))}
    env.update(extra)
    return env


def relief(*args: str, sites_dir: Path, timeout: int = 300, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "relief.cli", *args], capture_output=True, text=True,
                          env=clean_env(RELIEF_SITES_DIR=str(sites_dir)), timeout=timeout, cwd=REPO)
    if check and done.returncode != 0:
        raise RuntimeError(f"relief {' '.join(args[:3])} failed ({done.returncode}):\n{done.stdout[-2000:]}"
                           f"\n{done.stderr[-4000:]}")
    return done


def sql(database: str, query: str, params=(), *, port: int = 3306) -> list[tuple]:
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", database=database, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(query, params)
            return list(cursor.fetchall())
    finally:
        conn.close()


def drop_database(name: str, *, port: int = 3306) -> None:
    assert name.startswith("test_relief_ops"), name
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def children(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers, an RQ worker's work-horse)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the parent pid is the 2nd field after the last ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Stack:
    """One site and its processes. ``processes`` maps a name (web, worker-1, ...) to its Popen."""

    site: str
    sites_dir: Path
    database: str
    db_port: int = 3306
    web_port: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    world: dict = field(default_factory=dict)
    archive: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def logs(self) -> Path:
        path = self.sites_dir / "logs"
        path.mkdir(exist_ok=True)
        return path

    def relief(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return relief("--site", self.site, *args, sites_dir=self.sites_dir, **kw)

    def config(self) -> dict:
        return json.loads((self.sites_dir / self.site / "site_config.json").read_text())

    def set_config(self, **values) -> None:
        path = self.sites_dir / self.site / "site_config.json"
        path.write_text(json.dumps({**self.config(), **values}, indent=2))

    # Fault points (relief.core.faults): every process of the stack can be stopped at one, released by default.
    FAULT_POINTS = ("posting", "redemption", "card-print")

    @property
    def faults(self) -> Path:
        path = self.sites_dir / f"faults-{self.site}"
        if not path.exists():
            path.mkdir()
            for point in self.FAULT_POINTS:
                (path / f"{point}.go").touch()
        return path

    def arm(self, point: str) -> None:
        """The next process to reach ``point`` stops there (inside its transaction) until released."""
        for old in self.faults.glob(f"{point}.[0-9]*"):
            old.unlink()
        (self.faults / f"{point}.go").unlink(missing_ok=True)

    def paused(self, point: str, timeout: float = 60) -> int:
        """The pid of the first process stopped at ``point``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = sorted(self.faults.glob(f"{point}.[0-9]*"), key=lambda f: f.stat().st_mtime)
            if found:
                return int(found[0].suffix[1:])
            time.sleep(0.02)
        raise AssertionError(f"nothing reached the fault point {point}")

    def release(self, point: str) -> None:
        (self.faults / f"{point}.go").touch()

    def start(self, name: str, *args: str, env: dict | None = None) -> subprocess.Popen:
        """Start `relief --site X <args>` in its own process group, output to logs/<name>.log."""
        out = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "relief.cli", "--site", self.site, *args], stdout=out,
                                stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
                                env=clean_env(RELIEF_SITES_DIR=str(self.sites_dir),
                                              RELIEF_FAULT_PAUSE_DIR=str(self.faults), **(env or {})))
        out.close()
        self.processes[name] = proc
        return proc

    def start_web(self, *, workers: int = 2, env: dict | None = None) -> None:
        self.web_port = self.web_port or free_port()
        self.start("web", "serve", "--port", str(self.web_port), "--workers", str(workers), env=env)
        self.wait_web(workers=workers)

    def wait_web(self, *, workers: int = 2, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with suppress(requests.RequestException):
                if (requests.get(f"{self.base}/desk/login/", timeout=5).status_code == 200
                        and len(self.web_workers()) >= workers):
                    return
            time.sleep(0.3)
        raise RuntimeError(f"web did not come up:\n{self.tail('web')}")

    def web_workers(self) -> list[int]:
        master = self.processes.get("web")
        return children(master.pid) if master else []

    def start_worker(self, name: str, *queues: str) -> subprocess.Popen:
        proc = self.start(name, "worker", *queues)
        return proc

    def start_scheduler(self, *, interval: int = 2) -> subprocess.Popen:
        return self.start("scheduler", "scheduler", "--interval", str(interval))

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one process this stack started, with its process group and its children: an RQ
        work-horse runs in a session of its own, and a power cut takes it down too."""
        proc = self.processes.pop(name)
        horses = children(proc.pid)
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        if sig == signal.SIGKILL:
            for pid in horses:
                with suppress(ProcessLookupError):
                    os.kill(pid, sig)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def rss(self) -> dict[str, float]:
        """Resident memory (MB) of each process, gunicorn's workers and any work-horse counted apart."""
        report = {}
        for name, proc in self.processes.items():
            report[name] = round(rss_mb(proc.pid), 1)
            for n, child in enumerate(children(proc.pid), 1):
                report[f"{name}/{'worker' if name == 'web' else 'horse'}-{n}"] = round(rss_mb(child), 1)
        return report

    # HTTP as its users drive it

    def login(self, username: str, password: str = PASSWORD) -> requests.Session:
        """A desk session, logged in through the login form with its CSRF token."""
        session = requests.Session()
        page = session.get(f"{self.base}/desk/login/", timeout=30)
        token = csrf_token(page.text)
        done = session.post(f"{self.base}/desk/login/?next=/desk/", timeout=30, allow_redirects=False,
                            data={"csrfmiddlewaretoken": token, "username": username, "password": password},
                            headers={"Referer": f"{self.base}/desk/login/"})
        if done.status_code != 302:
            raise RuntimeError(f"login as {username} failed: {done.status_code}")
        return session

    def token(self, username: str, password: str = PASSWORD, name: str = "ops test") -> dict:
        done = requests.post(f"{self.base}/api/v1/auth/token", json={"username": username, "password": password,
                                                                    "name": name}, timeout=30)
        done.raise_for_status()
        return {"Authorization": f"Bearer {done.json()['token']}"}

    def post_form(self, session: requests.Session, path: str, data: dict, **kw) -> requests.Response:
        """POST a desk form: the CSRF token is read from a page, as the browser would have it."""
        token = csrf_token(session.get(f"{self.base}/desk/", timeout=30).text)
        return session.post(f"{self.base}{path}", data={**data, "csrfmiddlewaretoken": token}, timeout=60,
                            headers={"Referer": f"{self.base}{path}"}, **kw)

    def job_status(self, session: requests.Session, job_id: str) -> dict:
        return session.get(f"{self.base}/jobs/{job_id}/status/", timeout=30).json()

    def wait_job(self, session: requests.Session, job_id: str, *, timeout: float = 90,
                 until=("finished", "failed")) -> dict:
        deadline = time.monotonic() + timeout
        status = {}
        while time.monotonic() < deadline:
            status = self.job_status(session, job_id)
            if status["status"] in until:
                return status
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} still {status} after {timeout}s\n{self.tail('worker-1')}"
                             f"\n{self.tail('worker-2')}\n{self.tail('scheduler')}")

    # What is stored

    def sql(self, query: str, params=()) -> list[tuple]:
        return sql(self.database, query, params, port=self.db_port)

    def bins_match_ledger(self) -> list[tuple]:
        """Bins whose on-hand differs from the sum of their ledger rows (empty when the books balance)."""
        return self.sql("""
            SELECT b.id, b.on_hand, COALESCE(SUM(l.qty), 0) FROM inventory_bin b
            LEFT JOIN inventory_stockledgerentry l
              ON l.item_id = b.item_id AND l.warehouse_id = b.warehouse_id AND l.lot_id = b.lot_id
            GROUP BY b.id, b.on_hand HAVING b.on_hand <> COALESCE(SUM(l.qty), 0)""")

    def check(self) -> str:
        done = self.relief("check", check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def create_site(stack: Stack, *, redis_url: str, households: int, cycles: int = 1,
                site_codes: tuple[str, ...] = ("NYA",)) -> Stack:
    """`relief new-site` on MariaDB, the demo, then the ops world (stock, cycles, cards, open events)."""
    stack.sites_dir.mkdir(parents=True, exist_ok=True)
    relief("new-site", stack.site, "--db-url", f"mysql://root@127.0.0.1:{stack.db_port}/{stack.database}",
           "--redis-url", redis_url, "--admin-password", PASSWORD, sites_dir=stack.sites_dir)
    stack.relief("demo", "--households", str(households), "--password", PASSWORD, timeout=900)
    stack.world = seed_world(stack, cycles=cycles, site_codes=site_codes)
    return stack


def seed_world(stack: Stack, *, cycles: int = 1, site_codes: tuple[str, ...] = ("NYA",)) -> dict:
    out = stack.sites_dir / f"world-{time.monotonic_ns()}.json"
    stack.relief("shell", "--no-imports", "-c",
                 f"from tests.ops.seed import main; main({str(out)!r}, cycles={cycles}, site_codes={site_codes!r})",
                 timeout=900)
    return json.loads(out.read_text())


def issue_tokens(stack: Stack, devices: dict[str, str]) -> dict[str, str]:
    """Bearer tokens issued on the site itself, one per device name (device -> username)."""
    out = stack.sites_dir / f"tokens-{time.monotonic_ns()}.json"
    stack.relief("shell", "--no-imports", "-c",
                 f"from tests.ops.seed import tokens; tokens({str(out)!r}, {devices!r})")
    issued = json.loads(out.read_text())
    out.unlink()
    return issued


def remove_site(stack: Stack, redis_url: str | None = None) -> None:
    """Stop the processes, then forget the site's Redis keys (a worker writes some as it stops), drop the
    database and the site folder."""
    stack.stop()
    if redis_url:
        forget_redis_keys(stack, redis_url)
    with suppress(pymysql.MySQLError):
        drop_database(stack.database, port=stack.db_port)
    shutil.rmtree(stack.sites_dir / stack.site, ignore_errors=True)


def forget_redis_keys(stack: Stack, url: str) -> None:
    """The site's queues, registries, cache and leases, and its RQ job hashes (named by job id)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"*{stack.site}*", count=1000))
        ids = [row[0] for row in stack.sql("SELECT REPLACE(id, '-', '') FROM core_job")]
        for job_id in ids:
            dashed = str(uuid.UUID(job_id))
            keys += [f"rq:job:relief-{dashed}", f"rq:results:relief-{dashed}", f"rq:executions:relief-{dashed}"]
        for n in range(0, len(keys), 500):
            client.delete(*keys[n:n + 500])
    except (redis.RedisError, pymysql.MySQLError, OSError):
        pass


class PrivateServer:
    """A database or Redis server of the test's own, on a free port, that the test may stop and start
    (the shared servers on the standard ports carry other tests and are never touched)."""

    name = "server"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = 60) -> None:
        log = (self.root / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start:\n{(self.root / f'{self.name}.log').read_text()[-3000:]}")

    def kill(self) -> None:
        """A power cut: SIGKILL, no shutdown, no flush beyond what the server already made durable."""
        if self.proc is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as a service manager restarting it would do."""
        if self.proc is None:
            return
        with suppress(ProcessLookupError):
            self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


class PrivateMariaDB(PrivateServer):
    name = "mariadb"

    def install(self) -> PrivateMariaDB:
        done = subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.root / 'data'}",
             "--auth-root-authentication-method=normal", "--skip-test-db",
             *(["--user=root"] if os.geteuid() == 0 else [])],
            capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return self

    def command(self) -> list[str]:
        binary = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        return [binary, "--no-defaults", f"--datadir={self.root / 'data'}", f"--port={self.port}",
                "--bind-address=127.0.0.1", f"--socket={self.root / 'sock'}", f"--pid-file={self.root / 'pid'}",
                "--innodb-buffer-pool-size=128M", "--skip-name-resolve",
                *(["--user=root"] if os.geteuid() == 0 else [])]

    def ready(self) -> bool:
        try:
            pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1).close()
            return True
        except pymysql.MySQLError:
            return False


class PrivateRedis(PrivateServer):
    name = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.root)]

    def ready(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False
