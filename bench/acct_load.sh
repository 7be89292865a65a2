#!/usr/bin/env bash
# Accounting throughput: Accounting-Requests acknowledged per second by
# authd on SQLite (synchronous full and normal) and on PostgreSQL (fsync on,
# synchronous_commit on), under `fourway-sim acct-load`. Run as root (the
# PostgreSQL cluster runs as `postgres`); everything lives in a temporary
# directory and on loopback ports 18120/18130.
#
#   bash bench/acct_load.sh [SESSIONS] [SENDERS]
set -euo pipefail
SESSIONS=${1:-20000}
SENDERS=${2:-16}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release -p authd -p fourway-sim --manifest-path "$ROOT/Cargo.toml" >&2
AUTHD=$TARGET/release/authd
SIM=$TARGET/release/fourway-sim
WORK=$(mktemp -d)
chmod 755 "$WORK"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
cleanup() {
  [ -n "${AUTHD_PID:-}" ] && kill "$AUTHD_PID" 2>/dev/null || true
  [ -d "$WORK/pg" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The development PKI and configuration of the embedded default.
(cd "$WORK" && timeout 10 "$AUTHD" >/dev/null 2>&1 || true)
BASE=$WORK/authd-data/authd.toml
sed -i -e 's/127.0.0.1:1812/127.0.0.1:18120/' -e 's/127.0.0.1:1813/127.0.0.1:18130/' "$BASE"

run() {
  local label=$1 config=$2
  "$AUTHD" serve --config "$config" >"$WORK/$label.log" 2>&1 &
  AUTHD_PID=$!
  for _ in $(seq 100); do grep -q "accounting recorded" "$WORK/$label.log" && break; sleep 0.1; done
  printf '%-24s ' "$label"
  "$SIM" acct-load --server 127.0.0.1:18130 --secret testing123 \
    --sessions "$SESSIONS" --senders "$SENDERS" || true
  kill "$AUTHD_PID"; wait "$AUTHD_PID" 2>/dev/null || true; AUTHD_PID=
}

for sync in full normal; do
  rm -f "$WORK"/authd-data/authd.db*
  cp "$BASE" "$WORK/sqlite-$sync.toml"
  printf '\n[accounting]\nsqlite_synchronous = "%s"\n' "$sync" >>"$WORK/sqlite-$sync.toml"
  sed -i "s|^url = .*|url = \"sqlite://$WORK/authd-data/authd.db\"|" "$WORK/sqlite-$sync.toml"
  run "sqlite-$sync" "$WORK/sqlite-$sync.toml"
done

mkdir -p "$WORK/pg" && chown postgres:postgres "$WORK/pg"
runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg/data" -U authd -A trust -E UTF8 >/dev/null
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" \
  -o "-c listen_addresses='' -k $WORK/pg -c max_connections=50" -w start >/dev/null
runuser -u postgres -- "$PG_BIN/createdb" -h "$WORK/pg" -U authd authd
cp "$BASE" "$WORK/postgres.toml"
sed -i "s|^url = .*|url = \"postgres://authd@localhost/authd?host=$WORK/pg\"|" "$WORK/postgres.toml"
run "postgres" "$WORK/postgres.toml"
