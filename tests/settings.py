"""Settings for the test suite: real MariaDB and Redis unless told otherwise.

RELIEF_TEST_DB_URL picks the server (default MariaDB on 127.0.0.1:3306; `sqlite` for the
smoke subset). The suite creates and drops its own `test_relief…` database, and its
Redis keys and queues carry a per-run prefix, so nothing else is touched.
"""

import os
import tempfile

_scratch = tempfile.mkdtemp(prefix="relief-test-")
_db = os.environ.get("RELIEF_TEST_DB_URL", "mysql://root@127.0.0.1:3306/relief")
os.environ["RELIEF_DB_URL"] = f"sqlite:///{_scratch}/relief.sqlite3" if _db == "sqlite" else _db
os.environ.setdefault("RELIEF_REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("RELIEF_SECRET_KEY", "test-secret-key-not-for-production")
os.environ["RELIEF_QUEUE_PREFIX"] = f"test_relief_{os.getpid()}_"
os.environ["RELIEF_KEYS_DIR"] = os.path.join(_scratch, "keys")
os.environ["RELIEF_FILES_DIR"] = os.path.join(_scratch, "files")
os.environ.pop("RELIEF_SITE", None)
os.environ["RELIEF_SITES_DIR"] = os.path.join(_scratch, "sites")
os.makedirs(os.environ["RELIEF_SITES_DIR"])
os.makedirs(os.environ["RELIEF_FILES_DIR"])

from relief.settings import *  # noqa: E402,F403
from relief.settings import DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"].endswith("mysql"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("RELIEF_TEST_DB", "test_relief")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
RELIEF_TEST_SCRATCH = _scratch

# A minimal document model for the core lifecycle tests (tables made without migrations).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.lifecycle_app"]  # noqa: F405
# Every lock a test takes is checked against the house lock order (relief.core.locks).
RELIEF_LOCK_ORDER_CHECK = True
