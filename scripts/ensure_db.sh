#!/usr/bin/env bash
# Make sure PostgreSQL 15 is running with PostGIS available, and that the project database
# exists with the postgis extension. Safe to run any number of times.
set -euo pipefail

DB_NAME="${LEVELUP_DB_NAME:-levelup}"
PG_VERSION="${PG_VERSION:-15}"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
export PGHOST PGPORT PGUSER

say() { echo "[ensure_db] $*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

# 1. PostGIS (and with it GDAL/GEOS/PROJ, which GeoDjango needs) from Debian's packages.
if [ ! -f "/usr/share/postgresql/${PG_VERSION}/extension/postgis.control" ] || ! ldconfig -p | grep -q libgdal; then
  say "PostGIS is missing; installing postgresql-${PG_VERSION}-postgis-3 with apt-get"
  if ! as_root true 2>/dev/null; then
    echo "PostGIS is not installed and this user cannot install packages." >&2
    echo "Install it as root:  apt-get install postgresql-${PG_VERSION}-postgis-3" >&2
    exit 1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-${PG_VERSION}-postgis-3" >/dev/null
fi

# 2. The cluster must be up.
if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
  say "PostgreSQL is not answering on ${PGHOST}:${PGPORT}; starting cluster ${PG_VERSION}/main"
  if command -v pg_ctlcluster >/dev/null 2>&1 && as_root true 2>/dev/null; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST" -p "$PGPORT" && break; sleep 1; done
  if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
    echo "PostgreSQL is not running on ${PGHOST}:${PGPORT}. Start it with:" >&2
    echo "  pg_ctlcluster --skip-systemctl-redirect ${PG_VERSION} main start" >&2
    exit 1
  fi
fi

# 3. Database and extensions (the test database gets them from Django's PostGIS backend).
if ! psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'" | grep -q 1; then
  say "creating database ${DB_NAME}"
  createdb "$DB_NAME"
fi
psql -q -d "$DB_NAME" -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm;" >/dev/null
say "database ${DB_NAME} ready on ${PGHOST}:${PGPORT} with PostGIS $(psql -d "$DB_NAME" -tAc 'SELECT postgis_lib_version()')"

# 4. Replication from loopback, so the test suite can start a real streaming replica of this
#    cluster (tests/api/test_replicas.py, bench/standby.py). Only on a local cluster we administer.
if ! psql "dbname=postgres replication=true" -c "IDENTIFY_SYSTEM" >/dev/null 2>&1; then
  HBA_FILE="$(psql -d postgres -tAc 'SHOW hba_file')"
  if [ -w "$HBA_FILE" ] || as_root test -w "$HBA_FILE" 2>/dev/null; then
    say "allowing replication connections from 127.0.0.1 in ${HBA_FILE}"
    echo "host replication all 127.0.0.1/32 trust  # levelup: loopback streaming replica for tests" \
      | as_root tee -a "$HBA_FILE" >/dev/null
    psql -q -d postgres -tAc "SELECT pg_reload_conf()" >/dev/null
  else
    say "replication from loopback is not allowed and ${HBA_FILE} is not writable: the streaming-replica tests will be skipped"
  fi
fi
