#!/usr/bin/env bash
# A store the size of a large deployment, for the scale rows of
# bench/compare.sh (and by hand): USERS users and CLIENTS NAS clients in an
# authd store, SQLite or PostgreSQL, written with SQL in one transaction.
#
#   bench/scale_seed.sh seed AUTHD DB_URL USERS CLIENTS SECRET USER PASSWORD CRED_KEY
#       Creates the schema (`authd user add USER`), gives USER its password
#       (`authd user passwd`: Argon2id and the NT hash, as for any user),
#       then adds USERS - 1 more users and CLIENTS NAS clients, the first of
#       them 127.0.0.1/32 with SECRET (the load tool's address):
#         users   user0000002 ... : distinct names, in ten groups, each with a
#                 real Argon2id PHC string (one password hashed once by authd
#                 and stored in every row: hashing a million passwords would
#                 take hours) and no NT hash; one in fifty disabled.
#         clients nas0000002 ...  : 60 % IPv4 host addresses (10.0.0.0/8),
#                 20 % IPv4 networks /26 to /30 (11.0.0.0/8), 10 % IPv6 /128,
#                 10 % IPv6 /64 and /48 (2001:db8::/32); every one its own
#                 secret.
#       The NAS client change marker is bumped, so running servers reload.
#   bench/scale_seed.sh pg-start DIR    a throw-away PostgreSQL cluster in DIR
#       (run as root: it runs as `postgres`, Unix socket only, in DIR);
#       prints its URL prefix, postgres://authd@localhost/ ... ?host=DIR,
#       without the database name: `pg-createdb DIR NAME` makes one.
#   bench/scale_seed.sh pg-createdb DIR NAME
#   bench/scale_seed.sh pg-stop DIR
#   bench/scale_seed.sh sql sqlite|postgres USERS CLIENTS SECRET HASH
#       Only print the SQL of the seed (the schema must exist).
#   bench/scale_seed.sh toml-clients CLIENTS SECRET
#       The same clients as [[client]] tables, for a configuration file.
set -euo pipefail

die() { echo "scale_seed.sh: $*" >&2; exit 1; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

pg_start() {
    local dir=$1 bin
    bin=$(pg_bin)
    [ -n "$bin" ] || die "PostgreSQL not installed"
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 755 "$dir"
    runuser -u postgres -- test -x "$dir" ||
        die "the postgres user cannot reach $dir: every directory above it must be searchable"
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U authd -A trust -E UTF8 >/dev/null
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" \
        -o "-c listen_addresses='' -k $dir -c max_connections=50 -c fsync=off" -w start >/dev/null
    echo "postgres://authd@localhost/?host=$dir"
}

pg_stop() {
    local bin
    bin=$(pg_bin)
    [ -d "$1/data" ] || return 0
    runuser -u postgres -- "$bin/pg_ctl" -D "$1/data" -m immediate stop >/dev/null 2>&1 || true
}

# The SQL of the seed: seed_sql KIND USERS CLIENTS SECRET HASH, KIND sqlite
# or postgres. The numbers come from the database itself (a recursive CTE
# in SQLite, generate_series in PostgreSQL), so a million rows take seconds.
seed_sql() {
    local kind=$1 users=$2 clients=$3 secret=$4 hash=$5
    local from_u from_c name_u name_c sec yes
    if [ "$kind" = sqlite ]; then
        from_u="FROM (WITH RECURSIVE s(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM s WHERE i < $users) SELECT i FROM s WHERE i <= $users) AS s"
        from_c="FROM (WITH RECURSIVE s(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM s WHERE i < $clients) SELECT i FROM s WHERE i <= $clients) AS s"
        name_u="printf('user%07d', i)"
        name_c="printf('nas%07d', i)"
        hex() { echo "printf('%x', $1)"; }
        sec="printf('nas-secret-%08x-%d', (i * 2654435761) & 4294967295, i)"
        yes=1
    else
        from_u="FROM generate_series(2, $users) AS s(i)"
        from_c="FROM generate_series(2, $clients) AS s(i)"
        name_u="'user' || lpad(i::text, 7, '0')"
        name_c="'nas' || lpad(i::text, 7, '0')"
        hex() { echo "to_hex($1)"; }
        sec="'nas-secret-' || lpad(to_hex((i::bigint * 2654435761) & 4294967295), 8, '0') || '-' || i"
        yes=TRUE
    fi
    # One address text per i, unique by construction, host bits zero.
    local addr="CASE
      WHEN i % 10 < 6 THEN
        '10.' || ((i >> 16) & 255) || '.' || ((i >> 8) & 255) || '.' || (i & 255) || '/32'
      WHEN i % 10 < 8 THEN
        '11.' || (((i * 64) >> 16) & 255) || '.' || (((i * 64) >> 8) & 255) || '.' || ((i * 64) & 255)
          || '/' || (26 + (i / 10) % 5)
      WHEN i % 10 = 8 THEN
        '2001:db8:' || $(hex "i >> 16") || ':' || $(hex "i & 65535") || '::1/128'
      WHEN i % 20 = 9 THEN
        '2001:db8:' || $(hex "32768 + (i >> 16)") || ':' || $(hex "i & 65535") || '::/64'
      ELSE
        '2001:' || $(hex "4096 + (i >> 16)") || ':' || $(hex "i & 65535") || '::/48'
    END"
    cat <<EOF
BEGIN;
INSERT INTO groups (name, vlan, session_timeout, created_at)
SELECT 'group' || g, CAST(100 + g AS TEXT), 3600 * (g + 1), 1764547200
FROM (SELECT 0 AS g UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) AS t
WHERE $users > 1;
INSERT INTO users (name, enabled, group_name, password_hash, created_at)
SELECT $name_u, (i % 50) <> 0, 'group' || (i % 10), '$hash', 1764547200 $from_u;
INSERT INTO nas_clients (name, address, secret, require_message_authenticator, created_at)
VALUES ('nas0000001', '127.0.0.1/32', '$secret', $yes, 1764547200);
INSERT INTO nas_clients (name, address, secret, require_message_authenticator, created_at)
SELECT $name_c, $addr, $sec, $yes, 1764547200 $from_c;
UPDATE counters SET value = value + 1 WHERE name = 'clients';
COMMIT;
EOF
}

# query URL SQL: one value.
query() {
    case "$1" in
    sqlite://*) local path=${1#sqlite://}; sqlite3 -bail "${path%%\?*}" "$2" ;;
    *) psql -At -v ON_ERROR_STOP=1 "$1" -c "$2" ;;
    esac
}

run_sql() {
    local url=$1
    case "$url" in
    sqlite://*)
        local path=${url#sqlite://}
        path=${path%%\?*}
        sqlite3 -bail "$path"
        ;;
    postgres://* | postgresql://*) psql -q -v ON_ERROR_STOP=1 "$url" >/dev/null ;;
    *) die "unknown database URL scheme: $url" ;;
    esac
}

seed() {
    [ $# = 8 ] || die "seed AUTHD DB_URL USERS CLIENTS SECRET USER PASSWORD CRED_KEY"
    local authd=$1 url=$2 users=$3 clients=$4 secret=$5 user=$6 password=$7 key=$8
    [ "$users" -ge 1 ] && [ "$clients" -ge 1 ] || die "at least one user and one client"
    [[ "$secret$password" != *"'"* ]] || die "no quotes in the secret or password"
    "$authd" user add "$user" --database "$url" >/dev/null
    printf '%s\n' "$password" | "$authd" user passwd "$user" --database "$url" \
        --credential-key "$key" >/dev/null
    # The Argon2id string every other user gets: authd's own hash of a
    # password no one is told.
    "$authd" user add seed-template --database "$url" >/dev/null
    head -c 18 /dev/urandom | base64 | "$authd" user passwd seed-template --no-mschap \
        --database "$url" >/dev/null 2>&1
    local hash kind=sqlite
    [[ "$url" == postgres* ]] && kind=postgres
    hash=$(query "$url" "SELECT password_hash FROM users WHERE name = 'seed-template'")
    [[ "$hash" == '$argon2id$'* ]] || die "could not read the template hash"
    "$authd" user delete seed-template --database "$url" >/dev/null
    seed_sql "$kind" "$users" "$clients" "$secret" "$hash" | run_sql "$url"
}

toml_clients() {
    local clients=$1 secret=$2
    printf '[[client]]\nname = "nas0000001"\naddress = "127.0.0.1"\nsecret = "%s"\n\n' "$secret"
    awk -v n="$clients" 'BEGIN {
        for (i = 2; i <= n; i++) {
            m = i % 10
            if (m < 6) a = sprintf("10.%d.%d.%d/32", int(i / 65536) % 256, int(i / 256) % 256, i % 256)
            else if (m < 8) { b = i * 64
                a = sprintf("11.%d.%d.%d/%d", int(b / 65536) % 256, int(b / 256) % 256, b % 256, 26 + int(i / 10) % 5) }
            else if (m == 8) a = sprintf("2001:db8:%x:%x::1/128", int(i / 65536), i % 65536)
            else if (i % 20 == 9) a = sprintf("2001:db8:%x:%x::/64", 32768 + int(i / 65536), i % 65536)
            else a = sprintf("2001:%x:%x::/48", 4096 + int(i / 65536), i % 65536)
            printf "[[client]]\nname = \"nas%07d\"\naddress = \"%s\"\nsecret = \"nas-secret-%d\"\n\n", i, a, i
        }
    }'
}

cmd=${1:-}
shift || true
case "$cmd" in
seed) seed "$@" ;;
sql) seed_sql "$@" ;;
pg-start) pg_start "$@" ;;
pg-createdb) runuser -u postgres -- "$(pg_bin)/createdb" -h "$1" -U authd "$2" ;;
pg-stop) pg_stop "$@" ;;
toml-clients) toml_clients "$@" ;;
*) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 2 ;;
esac
