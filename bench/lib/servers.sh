#!/usr/bin/env bash
# shellcheck shell=bash
# Sourced by bench/compare.sh once its settings, the PKI and $TMP are in
# place: starting and stopping the two servers (authd's configuration,
# FreeRADIUS's private copy of its own), and waiting for their ports.

# ---------------------------------------------------------------- servers

# port_listening PORT: a UDP socket bound to 127.0.0.1:PORT exists.
port_listening() {
    local hex
    hex=$(printf '0100007F:%04X' "$1")
    awk -v a="$hex" '$2 == a { found = 1 } END { exit !found }' /proc/net/udp
}

# wait_ready PID PORT LOG: the server bound its port; dies with its log if
# it exits first.
wait_ready() {
    for _ in $(seq 1 300); do
        if ! kill -0 "$1" 2>/dev/null; then
            log "server exited during start-up; its log:"
            tail -n 30 "$3" >&2 || true
            return 1
        fi
        port_listening "$2" && return 0
        sleep 0.05
    done
    log "server did not bind port $2 within 15 s"
    return 1
}

# tcp_listening PORT: a TCP socket listens on 127.0.0.1:PORT.
tcp_listening() {
    local hex
    hex=$(printf '0100007F:%04X' "$1")
    awk -v a="$hex" '$2 == a && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp
}

# wait_tcp PORT LOG: until the RadSec listener is up.
wait_tcp() {
    for _ in $(seq 1 300); do
        tcp_listening "$1" && return 0
        sleep 0.05
    done
    log "server did not listen on TCP $1 within 15 s; its log:"
    tail -n 30 "$2" >&2 || true
    return 1
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    # Let the port go before the next start.
    for _ in $(seq 1 100); do
        port_listening "$1" || break
        sleep 0.05
    done
}

# The EAP method each server proposes first in the next start: tls, peap
# or ttls (set by run_scenario).
EAP_METHOD=tls

# authd's [eap] methods: $EAP_METHOD first, then the others.
authd_methods() {
    local m out="\"$EAP_METHOD\""
    for m in tls peap ttls; do
        [ "$m" = "$EAP_METHOD" ] || out+=", \"$m\""
    done
    echo "$out"
}

# start_authd TLS_MIN TLS_MAX LABEL
start_authd() {
    local conf=$TMP/authd-$3.toml
    cat >"$conf" <<EOF
[listen]
auth = "127.0.0.1:$AUTHD_AUTH_PORT"
acct = "127.0.0.1:$AUTHD_ACCT_PORT"
radsec = "127.0.0.1:$AUTHD_RADSEC_PORT"

[[client]]
name = "bench"
address = "127.0.0.0/8"
secret = "$SECRET"

[[client]]
name = "bench-radsec"
address = "127.0.0.0/8"
certificate_name = "$NAS_NAME"

[tls]
certificate = "$PKI/server.pem"
private_key = "$PKI/server.key"
ca = "$PKI/ca.pem"
min_version = "$1"
max_version = "$2"

[radsec]
max_connections_per_client = 1024

[log]
level = "$AUTHD_LOG_LEVEL"

[database]
url = "$DB_URL"
credential_key = "$CRED_KEY"

[eap]
methods = [$(authd_methods)]
EOF
    "${SERVER_PIN[@]}" "$AUTHD" serve --config "$conf" >"$TMP/authd-$3.log" 2>&1 &
    SERVER_PID=$!
    wait_ready "$SERVER_PID" "$AUTHD_AUTH_PORT" "$TMP/authd-$3.log" &&
        wait_tcp "$AUTHD_RADSEC_PORT" "$TMP/authd-$3.log"
}

# The private FreeRADIUS configuration: a copy of the Debian one with the
# bench site, eap module, client and users file, logs and run files in the
# temporary directory, no privilege drop (it reads the temporary PKI).
RADDB=$TMP/raddb
setup_freeradius() {
    cp -a /etc/freeradius/3.0 "$RADDB"
    mkdir -p "$TMP/fr-log" "$TMP/fr-run"
    sed -i \
        -e "s|^raddbdir = .*|raddbdir = $RADDB|" \
        -e "s|^logdir = .*|logdir = $TMP/fr-log|" \
        -e "s|^run_dir = .*|run_dir = $TMP/fr-run|" \
        -e 's/^\([[:space:]]*\)\(user\|group\) = freerad/\1# \2 = freerad/' \
        -e 's|^proxy_requests  *= yes|proxy_requests = no|' \
        "$RADDB/radiusd.conf"
    grep -q "^raddbdir = $RADDB\$" "$RADDB/radiusd.conf" || die "could not rewrite radiusd.conf"
    rm -f "$RADDB"/sites-enabled/* "$RADDB"/mods-enabled/*
    local m
    for m in eap pap mschap files; do
        ln -s "../mods-available/$m" "$RADDB/mods-enabled/$m"
    done
    sed -e "s|@AUTH_PORT@|$FR_AUTH_PORT|" -e "s|@ACCT_PORT@|$FR_ACCT_PORT|" \
        bench/freeradius/site >"$RADDB/sites-enabled/bench"
    sed -e "s|@SECRET@|$SECRET|" bench/freeradius/clients.conf >"$RADDB/clients.conf"
    printf '%s Cleartext-Password := "%s"\n' "$USER_NAME" "$PAP_PASSWORD" \
        >"$RADDB/mods-config/files/authorize"
}

# start_freeradius TLS_MIN TLS_MAX CACHE(yes|no) LABEL
start_freeradius() {
    rm -rf "$TMP/fr-tlscache"
    mkdir -m 700 "$TMP/fr-tlscache"
    sed -e "s|@KEY@|$PKI/server.key|" -e "s|@CERT@|$PKI/server.pem|" \
        -e "s|@CA@|$PKI/ca.pem|" -e "s|@CA_PATH@|$PKI|" \
        -e "s|@TLS_MIN@|$1|" -e "s|@TLS_MAX@|$2|" -e "s|@CACHE@|$3|" \
        -e "s|@FRAGMENT@|1398|" -e "s|@PERSIST_DIR@|$TMP/fr-tlscache|" \
        -e "s|@DEFAULT_EAP@|$EAP_METHOD|" \
        bench/freeradius/eap >"$RADDB/mods-available/eap"
    # The RadSec listener, only for the radsec-* scenarios.
    rm -f "$RADDB/sites-enabled/radsec"
    if [ "$RADSEC" = 1 ]; then
        sed -e "s|@KEY@|$PKI/server.key|" -e "s|@CERT@|$PKI/server.pem|" \
            -e "s|@CA@|$PKI/ca.pem|" -e "s|@RADSEC_PORT@|$FR_RADSEC_PORT|" \
            bench/freeradius/radsec >"$RADDB/sites-enabled/radsec"
    fi
    "${SERVER_PIN[@]}" "$FREERADIUS" -f -d "$RADDB" -l "$TMP/fr-log/radius-$4.log" \
        >"$TMP/freeradius-$4.out" 2>&1 &
    SERVER_PID=$!
    wait_ready "$SERVER_PID" "$FR_AUTH_PORT" "$TMP/freeradius-$4.out" &&
        { [ "$RADSEC" = 0 ] || wait_tcp "$FR_RADSEC_PORT" "$TMP/fr-log/radius-$4.log"; }
}

server_port() { if [ "$1" = authd ]; then echo "$AUTHD_AUTH_PORT"; else echo "$FR_AUTH_PORT"; fi; }
radsec_port() { if [ "$1" = authd ]; then echo "$AUTHD_RADSEC_PORT"; else echo "$FR_RADSEC_PORT"; fi; }
# Whether the next FreeRADIUS start has its RadSec listener (run_scenario).
RADSEC=0

# start_server SERVER TLS_MIN TLS_MAX CACHE LABEL
start_server() {
    if [ "$1" = authd ]; then start_authd "$2" "$3" "$5"; else start_freeradius "$2" "$3" "$4" "$5"; fi
}
