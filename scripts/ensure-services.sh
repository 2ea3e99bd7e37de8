#!/usr/bin/env bash
# Start MariaDB and Redis when they are installed but not answering (as the test suite needs them).
set -u
if ! mariadb-admin -uroot -h127.0.0.1 ping >/dev/null 2>&1; then
  if [ -x /usr/sbin/mariadbd ]; then
    echo "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 60); do mariadb-admin -uroot -h127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done
  fi
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  if command -v redis-server >/dev/null; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done
  fi
fi
mariadb-admin -uroot -h127.0.0.1 ping >/dev/null 2>&1 || { echo "MariaDB is not answering on 127.0.0.1:3306"; exit 1; }
redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || { echo "Redis is not answering on 127.0.0.1:6379"; exit 1; }
# Date lookups in a time zone (desk date filters, per-day reports) need MariaDB's time zone tables.
if [ "$(mariadb -uroot -h127.0.0.1 -N -e 'SELECT COUNT(*) FROM mysql.time_zone_name' 2>/dev/null)" = "0" ]; then
  echo "loading MariaDB time zone tables"
  mariadb-tzinfo-to-sql /usr/share/zoneinfo 2>/dev/null | mariadb -uroot -h127.0.0.1 mysql
fi
# Browser tests drive Debian's Chromium; install it when missing (never a downloaded browser).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing chromium and poppler-utils"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium poppler-utils >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium poppler-utils >/dev/null 2>&1; }
fi
exit 0
