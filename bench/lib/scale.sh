#!/usr/bin/env bash
# shellcheck shell=bash
# Sourced by bench/compare.sh after the run functions are defined: the
# scale rows (stores of 1 and of 1,000,000 users, seeded by scale_seed.sh).

# ---------------------------------------------------------------- scale
# The scale rows (issue 13, "flat cost as the deployment grows"): a scenario
# NAME:STORE runs NAME against a store of its own, seeded by
# bench/scale_seed.sh, with the bench's client 127.0.0.1/32 in the store:
#   sqlite, pg              1 user (the bench user), 1 NAS client
#   sqlite-large, pg-large  $BENCH_SCALE_USERS users (default 1,000,000),
#                           $BENCH_SCALE_CLIENTS NAS clients (default 100,000)
# pg* run on a throw-away PostgreSQL cluster (Unix socket only, in a
# directory of its own that the postgres user can reach). Each STORE-large
# row is set beside its STORE row in the scale table, with the server's
# start-up time and VmRSS once started. --scale adds tls13 and pap on all
# four stores (authd only).
SCALE_USERS=${BENCH_SCALE_USERS:-1000000}
SCALE_CLIENTS=${BENCH_SCALE_CLIENTS:-100000}
SCALE_RESULTS=$TMP/scale.jsonl
: >"$SCALE_RESULTS"
declare -A SCALE_URL=()
SCALE_PG=""
SCALE_PG_DIR=""

# scale_db STORE: sets DB_URL to STORE's database, seeding it on first use.
scale_db() {
    if [ -z "${SCALE_URL[$1]:-}" ]; then
        local users=1 clients=1 url t0
        [[ "$1" == *-large ]] && users=$SCALE_USERS clients=$SCALE_CLIENTS
        case "$1" in
        sqlite | sqlite-large) url="sqlite://$TMP/scale-$1.db" ;;
        pg | pg-large)
            if [ -z "$SCALE_PG" ]; then
                SCALE_PG_DIR=$(mktemp -d /tmp/authd-bench-pg.XXXXXX)
                chmod 755 "$SCALE_PG_DIR"
                SCALE_PG=$(bash bench/scale_seed.sh pg-start "$SCALE_PG_DIR/pg") || return 1
            fi
            bash bench/scale_seed.sh pg-createdb "$SCALE_PG_DIR/pg" "scale_${1//-/_}" || return 1
            url=${SCALE_PG/\/\?/\/scale_${1//-/_}?}
            ;;
        *) die "unknown store $1 (sqlite, sqlite-large, pg, pg-large)" ;;
        esac
        log "seeding $1: $users users, $clients NAS clients"
        t0=$(date +%s.%N)
        bash bench/scale_seed.sh seed "$AUTHD" "$url" "$users" "$clients" "$SECRET" \
            "$USER_NAME" "$PAP_PASSWORD" "$CRED_KEY" || return 1
        log "seeded $1 in $(echo "$(date +%s.%N) - $t0" | bc) s"
        SCALE_URL[$1]=$url
    fi
    DB_URL=${SCALE_URL[$1]}
}

# scale_started SCENARIO SECONDS: the start-up time and VmRSS of the server
# just started, for the scale table.
scale_started() {
    local rss
    rss=$(status_kb "$SERVER_PID" VmRSS) || rss=null
    jq -nc --arg sc "$1" --argjson s "$2" --argjson rss "$rss" \
        '{scenario: $sc, startup_s: $s, rss_started_kb: $rss}' >>"$SCALE_RESULTS"
}

scale_cleanup() {
    [ -z "$SCALE_PG_DIR" ] || bash bench/scale_seed.sh pg-stop "$SCALE_PG_DIR/pg"
    [ -z "$SCALE_PG_DIR" ] || rm -rf "$SCALE_PG_DIR"
}
