#!/usr/bin/env bash
# Make sure Redis answers at REDIS_URL (default redis://127.0.0.1:6379/0), where the quota counters
# live: installs redis-server with apt-get when it is missing (as root), and starts it daemonized
# (no systemd needed) when nothing answers. Only a Redis on this machine is installed or started; a
# remote one is only checked, and REDIS_URL=locmem:// (per-process counters) needs none. Safe to run
# any number of times.
set -euo pipefail

REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
say() { echo "[ensure_redis] $*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

case "$REDIS_URL" in
  locmem:*) say "REDIS_URL=${REDIS_URL}: quota counters are kept per process, no Redis needed"; exit 0 ;;
  redis://*|rediss://*) ;;
  *) echo "REDIS_URL must be redis://, rediss:// or locmem://, not ${REDIS_URL}" >&2; exit 1 ;;
esac

# host and port from redis[s]://[user:password@]host[:port][/db]
rest="${REDIS_URL#*://}"
rest="${rest##*@}"
hostport="${rest%%/*}"
HOST="${hostport%%:*}"
PORT=6379
[ "$hostport" != "$HOST" ] && PORT="${hostport##*:}"
HOST="${HOST:-127.0.0.1}"

answers() { command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null)" = PONG ]; }

if answers; then
  say "Redis answers on ${HOST}:${PORT}"
  exit 0
fi

case "$HOST" in
  127.0.0.1|localhost|::1) ;;
  *) echo "Redis does not answer on ${HOST}:${PORT} (REDIS_URL), and it is not on this machine." >&2; exit 1 ;;
esac

# 1. The server and redis-cli (redis-tools) from Debian's packages.
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  say "redis-server is missing; installing it with apt-get"
  if ! as_root true 2>/dev/null; then
    echo "Redis is not installed and this user cannot install packages." >&2
    echo "Install it as root:  apt-get install redis-server   (or set REDIS_URL=locmem:// for one process)" >&2
    exit 1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

# 2. Started daemonized on loopback (the package's own start may not have happened without
#    systemd). Counters are short-lived, so nothing is saved to disk.
if ! answers; then
  say "Redis is not answering on ${HOST}:${PORT}; starting redis-server"
  redis-server --daemonize yes --bind "$HOST" --port "$PORT" --save "" --appendonly no \
    --dir "${TMPDIR:-/tmp}" --logfile "${TMPDIR:-/tmp}/levelup-redis-${PORT}.log" \
    --pidfile "${TMPDIR:-/tmp}/levelup-redis-${PORT}.pid"
  for _ in $(seq 1 20); do answers && break; sleep 0.5; done
fi
if ! answers; then
  echo "Redis is not running on ${HOST}:${PORT}. Start it with:" >&2
  echo "  redis-server --daemonize yes --bind ${HOST} --port ${PORT}" >&2
  exit 1
fi
say "Redis $(redis-cli -h "$HOST" -p "$PORT" info server | sed -n 's/^redis_version:\(.*\)\r*$/\1/p' | tr -d '\r') ready on ${HOST}:${PORT}"
