#!/usr/bin/env bash
# Start a throw-away PostgreSQL for the storage tests on a fresh Debian/Ubuntu machine (run as root).
# Installs the server if missing, starts the default cluster, creates role and database
# `playground`/`playground_test` (password `playground`), and prints the SQLAlchemy URL on stdout:
#   export PLAYGROUND_TEST_POSTGRES_URL="$(.ci/postgres.sh)"
# Idempotent: running it twice leaves one role and one database. Progress goes to stderr.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    log "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
    log "creating cluster $version/main"
    pg_createcluster "$version" main >&2
fi
port="$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')"
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
    log "starting cluster $version/main on port $port"
    pg_ctlcluster "$version" main start >&2
fi

for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 1
done

psql_su() { su postgres -c "psql -v ON_ERROR_STOP=1 -qAt -p $port $*"; }

if [ "$(psql_su "-c \"SELECT 1 FROM pg_roles WHERE rolname = 'playground'\"")" != "1" ]; then
    log "creating role playground"
    psql_su "-c \"CREATE ROLE playground LOGIN PASSWORD 'playground'\"" >&2
fi
if [ "$(psql_su "-c \"SELECT 1 FROM pg_database WHERE datname = 'playground_test'\"")" != "1" ]; then
    log "creating database playground_test"
    psql_su "-c \"CREATE DATABASE playground_test OWNER playground\"" >&2
fi

echo "postgresql+psycopg://playground:playground@127.0.0.1:${port}/playground_test"
