#!/usr/bin/env bash
# authd and FreeRADIUS side by side under the same load.
#
# For each server and scenario (EAP-TLS 1.2 / 1.3, full and resumed,
# PEAP-MSCHAPv2 and TTLS-PAP on TLS 1.2 / 1.3, PAP, and EAP-TLS 1.2 / 1.3
# over RadSec),
# the script starts the server alone on its CPU(s), runs `fourway-sim load`
# on the other CPU(s) with the same concurrency and duration, and reads the
# server's CPU time (utime + stime of all its threads, /proc/PID/stat) and
# peak RSS (VmHWM, /proc/PID/status). Then the memory held per EAP
# conversation in progress: `fourway-sim load --half-open N` leaves N
# conversations open right after the server's first TLS flight, and the
# server's VmRSS is read before and while they are held.
#
# The load tool's own CPU time over each measured run (utime + stime,
# /proc/PID/stat, reported by the tool itself) is in the table as well: a
# saturation row whose server core is under 90 % busy is flagged, since the
# tool, not the server, then set the pace.
#
# The floor: `fourway-sim floor` runs the server side of full mutual TLS
# handshakes with rustls alone, in memory (same certificates, the
# aws-lc-rs default provider authd uses, the client chain verified against
# the CA, one TLS 1.3 ticket, fresh sessions), in one thread pinned to the
# server CPU, the client side in another on the load CPU, and reads the
# server thread's CPU time. Each full EAP-TLS row (tls12, tls13, their
# paced and radsec forms) gets that floor and its CPU÷floor ratio. The
# PAP row gets the floor of any UDP server: `fourway-sim udp-floor`, a
# thread on the server CPU answering each datagram of the PAP request's
# size with its own bytes (recv_from, send_to, no work), the client polling
# on the load CPU; its CPU per datagram is the kernel's share of a PAP
# answer on this machine. Each saturation row's floor is measured right
# before that row (a VM's speed drifts by a quarter within minutes, so a
# floor taken minutes earlier is not the floor of the row), and with
# --rounds N the scenarios run N times in turn, each row after its own
# floor, and a last table gives each ratio's median and range. Paced
# rows (NAME@RATE) are also set beside their saturation row (CPU/auth
# paced ÷ saturated: the cost of waking up for each request).
#
# Both servers use the same PKI (created with authd's CLI: CA, ECDSA P-256
# server certificate, client certificate), the same shared secret and the
# same user and password (PAP, PEAP, TTLS). FreeRADIUS runs from a private
# copy of /etc/freeradius/3.0 reduced to the eap, pap, mschap and files
# modules (templates in bench/freeradius/). In the PEAP and TTLS runs both
# servers propose that method first (no Nak round trip).
#
# The radsec-* scenarios are EAP-TLS with RADIUS over TLS (RFC 6614) between
# the load tool and authd: each of the C workers opens one TLS connection
# (its own NAS certificate, `[[client]] certificate_name`) and runs all its
# stations over it, as a proxy would, so the figure is the cost of the
# transport per authentication, not of a TLS handshake per station.
# FreeRADIUS gets a TLS listen section in front of the same virtual server
# for them (bench/freeradius/radsec, the layout of its sites-available/tls).
# The report sets each radsec-tlsNN run beside the tlsNN run of the same
# server (CPU per authentication over RadSec / over UDP).
#
# Usage: bench/compare.sh [options]     (as root: installs FreeRADIUS and jq
#                                        with apt when missing)
#   --smoke              a few seconds, debug binaries, EAP-TLS over UDP
#                        and RadSec, PEAP and PAP per server, both floors
#                        and a small half-open run; checks that each
#                        produced successes and a table
#   --out FILE           also write the results: FILE.json as JSON, any other
#                        name as markdown
#   --concurrency C      authentications in flight (default 32, $BENCH_CONCURRENCY)
#   --duration S         seconds per measured run (default 10, $BENCH_DURATION)
#   --warmup N           uncounted authentications before each run
#                        (default 2 x concurrency, $BENCH_WARMUP)
#   --scenarios "..."    among tls12 tls13 tls12-resume tls13-resume peap12
#                        peap13 ttls-pap12 ttls-pap13 pap radsec-tls12
#                        radsec-tls13, each
#                        optionally paced: NAME@RATE starts RATE
#                        authentications per second (open loop, latency from
#                        the scheduled start) instead of as many as the
#                        concurrency allows (default all, and tls13@100
#                        and tls13@1000; $BENCH_SCENARIOS)
#   --servers "..."      among authd freeradius (default both, $BENCH_SERVERS)
#   --half-open N        conversations for the memory measurement
#                        (default 10000, 0 to skip, $BENCH_HALF_OPEN)
#   --half-open-tls "."  TLS versions of the memory measurement
#                        (default "1.3 1.2", $BENCH_HALF_OPEN_TLS)
#   --hold S             seconds the half-open conversations are held (default 5)
#   --authd-log-level L  authd's [log] level (default info, its default)
#   --perf DIR           record authd with `perf record -g` during each of its
#                        runs (CPU figures then include perf's overhead)
#   --floor-duration S   seconds of each floor measurement (default 5;
#                        0 to skip; $BENCH_FLOOR_DURATION)
#   --rounds N           run the scenarios N times in turn (default 1,
#                        $BENCH_ROUNDS), each saturation row after its own
#                        floor; the report adds each row's median, minimum
#                        and maximum over the rounds (CPU/auth, CPU÷floor,
#                        FR÷authd): one run's ratio is a sample
#   --render FILE.json   only print the tables of a report written by --out
#   --bin-dir DIR        run the authd and fourway-sim binaries in DIR (say,
#                        release builds of an earlier commit kept aside)
#                        instead of building this checkout's; the report
#                        records DIR and each binary's SHA-256
#   --poll-paced         the paced (NAME@RATE) rows with `fourway-sim load
#                        --poll`: a load tool that never sleeps, so the
#                        server is not charged for waking it over loopback
#                        for every answer (its own CPU figures are then
#                        meaningless); both servers
#   --poll-pap           the PAP rows with `fourway-sim load --poll`: one
#                        thread polls non-blocking sockets and never sleeps
#                        (the same reason), lean enough to keep the server
#                        busy; both servers
#   --scale              the scale rows: tls13 and pap on small and large
#                        SQLite and PostgreSQL stores (NAME:STORE scenarios,
#                        see "scale" below; alone, only these; authd only)
#
# CPUs: with n >= 2 CPUs the server gets the first n/2, the load tool the
# others (override with $BENCH_SERVER_CPUS / $BENCH_LOAD_CPUS, taskset -c
# lists). With one CPU nothing is pinned.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SMOKE=0
OUT=""
PERF_DIR=""
RENDER=""
BIN_DIR=""
SCALE=0
POLL_PACED=0
POLL_PAP=0
# Values from the command line (they win over $BENCH_* and the defaults).
declare -A OPT=()

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
    --smoke) SMOKE=1 ;;
    --out) OUT=$2; shift ;;
    --perf) PERF_DIR=$2; shift ;;
    --render) RENDER=$2; shift ;;
    --bin-dir) BIN_DIR=$2; shift ;;
    --scale) SCALE=1 ;;
    --poll-paced) POLL_PACED=1 ;;
    --poll-pap) POLL_PAP=1 ;;
    --concurrency | --duration | --warmup | --scenarios | --servers | --half-open | \
        --half-open-tls | --hold | --authd-log-level | --floor-duration | --rounds)
        [ $# -ge 2 ] || { echo "compare.sh: $1 needs a value" >&2; exit 2; }
        OPT[$1]=$2
        shift
        ;;
    -h | --help) usage; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ "$SMOKE" = 1 ]; then
    CONCURRENCY=${BENCH_CONCURRENCY:-4}
    DURATION=${BENCH_DURATION:-1}
    SCENARIOS=${BENCH_SCENARIOS:-"tls13 radsec-tls13 peap12 pap"}
    HALF_OPEN=${BENCH_HALF_OPEN:-200}
    HALF_OPEN_TLS=${BENCH_HALF_OPEN_TLS:-1.3}
    HOLD=${BENCH_HOLD:-0.5}
    SETTLE=0.2
    # A handful of handshakes: the smoke run only checks a figure exists.
    FLOOR_DURATION=${BENCH_FLOOR_DURATION:-1}
    FLOOR_COUNT=${BENCH_FLOOR_COUNT:-20}
else
    CONCURRENCY=${BENCH_CONCURRENCY:-32}
    DURATION=${BENCH_DURATION:-10}
    SCENARIOS=${BENCH_SCENARIOS:-"tls12 tls13 radsec-tls12 radsec-tls13 tls12-resume tls13-resume peap12 peap13 ttls-pap12 ttls-pap13 pap tls13@100 tls13@1000"}
    HALF_OPEN=${BENCH_HALF_OPEN:-10000}
    HALF_OPEN_TLS=${BENCH_HALF_OPEN_TLS:-"1.3 1.2"}
    HOLD=${BENCH_HOLD:-5}
    SETTLE=1
    FLOOR_DURATION=${BENCH_FLOOR_DURATION:-5}
    FLOOR_COUNT=""
fi
SERVERS=${BENCH_SERVERS:-"authd freeradius"}
AUTHD_LOG_LEVEL=${BENCH_AUTHD_LOG_LEVEL:-info}
CONCURRENCY=${OPT[--concurrency]:-$CONCURRENCY}
DURATION=${OPT[--duration]:-$DURATION}
SCENARIOS=${OPT[--scenarios]:-$SCENARIOS}
SERVERS=${OPT[--servers]:-$SERVERS}
HALF_OPEN=${OPT[--half-open]:-$HALF_OPEN}
HALF_OPEN_TLS=${OPT[--half-open-tls]:-$HALF_OPEN_TLS}
HOLD=${OPT[--hold]:-$HOLD}
AUTHD_LOG_LEVEL=${OPT[--authd-log-level]:-$AUTHD_LOG_LEVEL}
FLOOR_DURATION=${OPT[--floor-duration]:-$FLOOR_DURATION}
ROUNDS=${OPT[--rounds]:-${BENCH_ROUNDS:-1}}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --rounds needs a positive integer, not '$ROUNDS'" >&2; exit 2; }
# The round being run (1 ... ROUNDS); every run and floor records it.
ROUND=1
WARMUP=${OPT[--warmup]:-${BENCH_WARMUP:-$((2 * CONCURRENCY))}}
if [ "$SCALE" = 1 ]; then
    SCALE_SCENARIOS="tls13:sqlite tls13:sqlite-large tls13:pg tls13:pg-large pap:sqlite pap:sqlite-large pap:pg pap:pg-large"
    SCENARIOS=$([ -n "${OPT[--scenarios]:-}" ] && echo "$SCENARIOS $SCALE_SCENARIOS" || echo "$SCALE_SCENARIOS")
fi

SECRET=bench-secret-0123456789
USER_NAME=benchuser
PAP_PASSWORD=bench-password-4711
AUTHD_AUTH_PORT=18120
AUTHD_ACCT_PORT=18130
AUTHD_RADSEC_PORT=18183
# The NAS of the radsec-* scenarios: its certificate names its [[client]].
NAS_NAME=bench-nas
FR_AUTH_PORT=18121
FR_ACCT_PORT=18131
FR_RADSEC_PORT=18184

log() { echo "compare.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# The tables of a report (bench/lib/tables.sh).
# shellcheck source=bench/lib/tables.sh
source bench/lib/tables.sh

# ---------------------------------------------------------------- tools

apt_install() {
    [ "$(id -u)" = 0 ] || die "$* missing and not root: install it (apt-get install $*)"
    log "installing $* with apt"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
command -v jq >/dev/null || apt_install jq
find_freeradius() { command -v freeradius || { [ -x /usr/sbin/freeradius ] && echo /usr/sbin/freeradius; } || true; }
FREERADIUS=$(find_freeradius)
if [ -z "$FREERADIUS" ] && [[ " $SERVERS " == *" freeradius "* ]]; then
    apt_install freeradius
    FREERADIUS=$(find_freeradius)
    [ -n "$FREERADIUS" ] || die "freeradius not found after installing it"
fi
if [ -n "$PERF_DIR" ]; then
    command -v perf >/dev/null || apt_install linux-perf
fi

# ---------------------------------------------------------------- build

if [ -n "$BIN_DIR" ]; then
    PROFILE="$(basename "$BIN_DIR")"
    AUTHD=$(realpath "$BIN_DIR/authd")
    SIM=$(realpath "$BIN_DIR/fourway-sim")
else
    if [ "$SMOKE" = 1 ]; then
        PROFILE=debug
        cargo build -q -p authd -p fourway-sim
    else
        PROFILE=release
        nice -n 5 cargo build -q --release -p authd -p fourway-sim
    fi
    TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
    AUTHD=$TARGET_DIR/$PROFILE/authd
    SIM=$TARGET_DIR/$PROFILE/fourway-sim
fi
if [ ! -x "$AUTHD" ] || [ ! -x "$SIM" ]; then
    die "authd and fourway-sim not found (${BIN_DIR:-$TARGET_DIR/$PROFILE})"
fi
# Each binary's name and SHA-256 (its directory is this machine's business).
BINARIES=$(sha256sum "$AUTHD" "$SIM" | awk '{n = split($2, p, "/"); printf "%s%s %s", (NR > 1 ? ", " : ""), p[n], substr($1, 1, 16)}')

# ---------------------------------------------------------------- clean-up

TMP=$(mktemp -d)
SERVER_PID=""
TOOL_PID=""
PERF_PID=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local pid
    for pid in $PERF_PID $TOOL_PID $SERVER_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $PERF_PID $TOOL_PID $SERVER_PID; do
        wait "$pid" 2>/dev/null || true
    done
    ! declare -F scale_cleanup >/dev/null || scale_cleanup
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- CPUs

NPROC=$(nproc)
if [ "$NPROC" -ge 2 ]; then
    half=$((NPROC / 2))
    SERVER_CPUS=${BENCH_SERVER_CPUS:-$([ "$half" = 1 ] && echo 0 || echo "0-$((half - 1))")}
    LOAD_CPUS=${BENCH_LOAD_CPUS:-$([ "$((half + 1))" = "$NPROC" ] && echo "$half" || echo "$half-$((NPROC - 1))")}
    SERVER_PIN=(taskset -c "$SERVER_CPUS")
    LOAD_PIN=(taskset -c "$LOAD_CPUS")
    PINNING="server on CPU $SERVER_CPUS, load tool on CPU $LOAD_CPUS (taskset)"
else
    SERVER_PIN=()
    LOAD_PIN=()
    PINNING="not pinned: one CPU, server and load tool share it"
fi
log "$PINNING"
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- PKI, store

PKI=$TMP/pki
DB_URL="sqlite://$TMP/authd.db"
"$AUTHD" pki init --dir "$PKI" >/dev/null
# The credential key keeps the NT hash MS-CHAPv2 needs (PEAP); authd's
# configuration names the same file.
CRED_KEY=$TMP/credential.key
"$AUTHD" user add "$USER_NAME" --database "$DB_URL" >/dev/null
"$AUTHD" cert issue "$USER_NAME" --database "$DB_URL" --out "$PKI" \
    --ca-cert "$PKI/ca.pem" --ca-key "$PKI/ca.key" >/dev/null
if [ ! -s "$PKI/$USER_NAME.pem" ] || [ ! -s "$PKI/$USER_NAME.key" ]; then
    die "authd cert issue wrote no client certificate"
fi
"$AUTHD" user add "$NAS_NAME" --database "$DB_URL" >/dev/null
"$AUTHD" cert issue "$NAS_NAME" --database "$DB_URL" --out "$PKI" \
    --ca-cert "$PKI/ca.pem" --ca-key "$PKI/ca.key" >/dev/null
[ -s "$PKI/$NAS_NAME.pem" ] || die "authd cert issue wrote no NAS certificate"
# The password (PAP, TTLS-PAP; with the NT hash, PEAP-MSCHAPv2).
PAP_SETUP="ok"
if ! printf '%s\n' "$PAP_PASSWORD" | "$AUTHD" user passwd "$USER_NAME" --database "$DB_URL" \
    --credential-key "$CRED_KEY" >"$TMP/passwd.out" 2>"$TMP/passwd.err"; then
    PAP_SETUP="authd user passwd failed: $(head -c 200 "$TMP/passwd.err")"
    log "$PAP_SETUP"
elif ! grep -q "MS-CHAPv2" "$TMP/passwd.out"; then
    PAP_SETUP="authd user passwd stored no NT hash: $(head -c 200 "$TMP/passwd.out")"
    log "$PAP_SETUP"
fi

# shellcheck source=bench/lib/servers.sh
source bench/lib/servers.sh

# ---------------------------------------------------------------- /proc

# utime + stime of all threads, in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the command name in parentheses).
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}
status_kb() {
    local v
    v=$(awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$v" ] || return 1
    echo "$v"
}

# server_gone: succeeds if the server exited, and says how in GONE.
GONE=""
server_gone() {
    [ -n "$SERVER_PID" ] || { GONE="not running"; return 0; }
    kill -0 "$SERVER_PID" 2>/dev/null && return 1
    local rc=0
    wait "$SERVER_PID" 2>/dev/null || rc=$?
    SERVER_PID=""
    if [ "$rc" -gt 128 ]; then
        GONE="killed by signal $((rc - 128))$([ "$rc" = 139 ] && echo ", SIGSEGV")"
    else
        GONE="exit status $rc"
    fi
}

# wait_file PATH PID: until PATH exists; fails if PID exits first.
wait_file() {
    while [ ! -e "$1" ]; do
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.01
    done
}

# TTLS-PAP: the stations take the server's handshake signature as valid
# unchecked (--skip-server-signature, where the load tool has it: an older
# build kept for --bin-dir may not; $BENCH_SKIP_SERVER_SIGNATURE=0 turns it
# off). There the server signs once and checks no client certificate, and a
# station that verifies the signature (which costs more than making it)
# could not keep the server busy (86-89 % in the runs of BENCHMARKS.md).
# Only there: a load tool with CPU to spare sleeps between answers, and
# each answer then pays, on the server's side, for waking it over loopback
# (about +8 % per EAP-TLS 1.3 authentication when it was skipped on every
# row). The server's own work is the same either way.
NO_SIGNATURE=()
if [ "${BENCH_SKIP_SERVER_SIGNATURE:-1}" = 1 ] && "$SIM" load --help 2>/dev/null | grep -q -- --skip-server-signature; then
    NO_SIGNATURE=(--skip-server-signature)
fi

# The load tool's arguments against server $1.
sim_common() {
    printf '%s\n' --server "127.0.0.1:$(server_port "$1")" --secret "$SECRET" \
        --identity "$USER_NAME" --cert "$PKI/$USER_NAME.pem" --key "$PKI/$USER_NAME.key" \
        --ca "$PKI/ca.pem"
}

RESULTS=$TMP/results.jsonl
HALF_RESULTS=$TMP/half-open.jsonl
FLOOR_RESULTS=$TMP/floor.jsonl
: >"$RESULTS"
: >"$HALF_RESULTS"
: >"$FLOOR_RESULTS"

# record SCENARIO SERVER ERROR [REPORT_JSON CPU_TICKS VMHWM_KB]
record() {
    if [ -n "$3" ]; then
        jq -nc --arg sc "$1" --arg sv "$2" --arg err "$3" --argjson round "$ROUND" \
            '{scenario: $sc, server: $sv, round: $round, error: $err}' >>"$RESULTS"
        return
    fi
    jq -c --arg sc "$1" --arg sv "$2" --argjson ticks "$5" --argjson hz "$CLK_TCK" \
        --arg ftls "$(floor_tls "$1")" --argjson round "$ROUND" \
        --argjson hwm "$6" '
        . as $r
        | ($ticks / $hz) as $cpu
        | {scenario: $sc, server: $sv, round: $round, error: null,
           floor_tls: (if $ftls == "" then null else $ftls end),
           succeeded: $r.succeeded, failed: $r.failed, failures: $r.failures,
           resumed: $r.resumed, offered_rate: $r.offered_rate, auths_per_s: $r.auths_per_s,
           p50_ms: $r.latency_ms_p50, p99_ms: $r.latency_ms_p99,
           round_trips: $r.round_trips_mean, retransmits: $r.retransmits,
           elapsed_s: $r.elapsed_s, server_cpu_s: $cpu,
           server_cpu_pct: (if $r.elapsed_s > 0 then $cpu / $r.elapsed_s * 100 else null end),
           under_90: ($r.offered_rate == null and $r.elapsed_s > 0 and $cpu / $r.elapsed_s < 0.9),
           cpu_ms_per_auth: (if $r.succeeded > 0 then $cpu * 1000 / $r.succeeded else null end),
           tool_cpu_s: (if $r.tool_cpu_ticks != null then $r.tool_cpu_ticks / $hz else null end),
           tool_cpu_pct: (if $r.tool_cpu_ticks != null and $r.elapsed_s > 0
                          then $r.tool_cpu_ticks / $hz / $r.elapsed_s * 100 else null end),
           tool_cpu_ms_per_auth: (if $r.tool_cpu_ticks != null and $r.succeeded > 0
                                  then $r.tool_cpu_ticks / $hz * 1000 / $r.succeeded else null end),
           peak_rss_kb: $hwm}' "$4" >>"$RESULTS"
}

# run_scenario SERVER SCENARIO
run_scenario() {
    local server=$1 sc=$2 tmin=1.2 tmax=1.3 cache=no
    local -a args
    local -a password=(--password-env FOURWAY_SIM_PASSWORD)
    local name=${sc%@*} store="" db_url=$DB_URL t_start
    EAP_METHOD=tls RADSEC=0
    if [[ "$name" == *:* ]]; then # a scale row (see "scale")
        store=${name#*:} name=${name%%:*}
        [ "$server" = authd ] || return 0
        scale_db "$store" || { record "$sc" "$server" "seeding $store failed"; return; }
    fi
    mapfile -t args < <(sim_common "$server")
    if [[ "$sc" == *@* ]]; then
        args+=(--rate "${sc#*@}")
        [ "$POLL_PACED" = 0 ] || args+=(--poll)
    fi
    case "$name" in
    tls12) tmin=1.2 tmax=1.2 args+=(--tls 1.2) ;;
    tls13) tmin=1.3 tmax=1.3 args+=(--tls 1.3) ;;
    tls12-resume) tmin=1.2 tmax=1.2 cache=yes args+=(--tls 1.2 --resume) ;;
    tls13-resume) tmin=1.3 tmax=1.3 cache=yes args+=(--tls 1.3 --resume) ;;
    peap12) tmin=1.2 tmax=1.2 EAP_METHOD=peap args+=(--tls 1.2 --method peap "${password[@]}") ;;
    peap13) tmin=1.3 tmax=1.3 EAP_METHOD=peap args+=(--tls 1.3 --method peap "${password[@]}") ;;
    ttls-pap12) tmin=1.2 tmax=1.2 EAP_METHOD=ttls args+=(--tls 1.2 --method ttls-pap "${password[@]}" "${NO_SIGNATURE[@]}") ;;
    ttls-pap13) tmin=1.3 tmax=1.3 EAP_METHOD=ttls args+=(--tls 1.3 --method ttls-pap "${password[@]}" "${NO_SIGNATURE[@]}") ;;
    pap)
        args+=(--pap-user "$USER_NAME")
        [ "$POLL_PAP" = 0 ] || [[ " ${args[*]} " == *" --poll "* ]] || args+=(--poll)
        ;;
    radsec-tls12 | radsec-tls13)
        tmin=1.${name: -1} tmax=1.${name: -1} RADSEC=1
        args+=(--tls "$tmin" --radsec "127.0.0.1:$(radsec_port "$server")"
            --radsec-cert "$PKI/$NAS_NAME.pem" --radsec-key "$PKI/$NAS_NAME.key")
        ;;
    *) die "unknown scenario $sc" ;;
    esac
    local label="$sc"
    log "$server: $sc"
    t_start=$(date +%s.%N)
    if ! start_server "$server" "$tmin" "$tmax" "$cache" "$label"; then
        record "$sc" "$server" "server did not start"
        stop_server "$(server_port "$server")"
        DB_URL=$db_url
        return
    fi
    [ -z "$store" ] || scale_started "$sc" "$(echo "$(date +%s.%N) - $t_start" | bc)"
    # Named per round: a ready file left by an earlier round would start
    # the measurement before this run's warm-up.
    local ready=$TMP/ready-$server-$sc-$ROUND json=$TMP/load-$server-$sc.json err=$TMP/load-$server-$sc.err
    rm -f "$ready"
    FOURWAY_SIM_PASSWORD=$PAP_PASSWORD "${LOAD_PIN[@]}" "$SIM" load "${args[@]}" \
        --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" \
        --ready-file "$ready" --json --quiet >"$json" 2>"$err" &
    TOOL_PID=$!
    local t0="" t1="" hwm="" rc=0
    if wait_file "$ready" "$TOOL_PID"; then
        t0=$(cpu_ticks "$SERVER_PID") || t0=""
        if [ -n "$PERF_DIR" ] && [ "$server" = authd ]; then
            mkdir -p "$PERF_DIR"
            perf record -q -g -p "$SERVER_PID" -o "$PERF_DIR/authd-$sc.perf.data" \
                -- sleep "$DURATION" >/dev/null 2>&1 &
            PERF_PID=$!
        fi
    fi
    wait "$TOOL_PID" || rc=$?
    TOOL_PID=""
    if [ -n "$PERF_PID" ]; then
        wait "$PERF_PID" || true
        PERF_PID=""
        perf report -i "$PERF_DIR/authd-$sc.perf.data" --no-children --percent-limit 1 \
            --stdio -g none >"$PERF_DIR/authd-$sc.txt" 2>/dev/null || true
    fi
    if [ -n "$t0" ]; then
        t1=$(cpu_ticks "$SERVER_PID") || t1=""
        hwm=$(status_kb "$SERVER_PID" VmHWM) || hwm=""
    fi
    if server_gone; then
        record "$sc" "$server" "server died during the run ($GONE); \
$(jq -r '"\(.succeeded) succeeded, \(.failed) failed"' "$json" 2>/dev/null || echo "no report")"
    elif [ -z "$t0" ] || [ -z "$t1" ] || [ -z "$hwm" ] || ! jq -e .succeeded "$json" >/dev/null 2>&1; then
        record "$sc" "$server" "load tool failed (exit $rc): $(tail -c 300 "$err" | tr '\n' ' ')"
    else
        record "$sc" "$server" "" "$json" "$((t1 - t0))" "$hwm"
    fi
    stop_server "$(server_port "$server")"
    EAP_METHOD=tls
    RADSEC=0
    DB_URL=$db_url
}

# half_error SERVER TLS ERROR
half_error() {
    jq -nc --arg sv "$1" --arg tls "$2" --arg err "$3" \
        '{server: $sv, tls: $tls, error: $err}' >>"$HALF_RESULTS"
}

# half_open SERVER TLS
half_open() {
    local server=$1 tls=$2 label="half-open-$2"
    local -a args
    mapfile -t args < <(sim_common "$server")
    log "$server: half-open $HALF_OPEN conversations, TLS $tls"
    if ! start_server "$server" "$tls" "$tls" no "$label"; then
        half_error "$server" "$tls" "server did not start"
        stop_server "$(server_port "$server")"
        return
    fi
    # Warm up (first-use allocations, thread pools), then the baseline.
    "${LOAD_PIN[@]}" "$SIM" load "${args[@]}" --tls "$tls" --concurrency "$CONCURRENCY" \
        --count "$WARMUP" --json --quiet >"$TMP/$server-$label-warmup.json" 2>&1 || true
    sleep "$SETTLE"
    local base="" held="" hwm="" ready=$TMP/ready-$server-$label json=$TMP/$server-$label.json rc=0
    base=$(status_kb "$SERVER_PID" VmRSS) || base=""
    "${LOAD_PIN[@]}" "$SIM" load "${args[@]}" --tls "$tls" --concurrency "$CONCURRENCY" \
        --half-open "$HALF_OPEN" --hold "$HOLD" --ready-file "$ready" --json --quiet \
        >"$json" 2>"$TMP/$server-$label.err" &
    TOOL_PID=$!
    if wait_file "$ready" "$TOOL_PID"; then
        held=$(status_kb "$SERVER_PID" VmRSS) || held=""
        hwm=$(status_kb "$SERVER_PID" VmHWM) || hwm=""
    fi
    wait "$TOOL_PID" || rc=$?
    TOOL_PID=""
    if server_gone; then
        half_error "$server" "$tls" "server died during the run ($GONE)"
    elif [ -z "$base" ] || [ -z "$held" ] || ! jq -e .reached "$json" >/dev/null 2>&1; then
        half_error "$server" "$tls" "half-open run failed (exit $rc): $(tail -c 300 "$TMP/$server-$label.err" | tr '\n' ' ')"
    else
        jq -c --arg sv "$server" --arg tls "$tls" --argjson base "$base" --argjson held "$held" \
            --argjson hwm "${hwm:-null}" '
            {server: $sv, tls: $tls, error: null, requested, reached, failed, failures,
             round_trips: .round_trips_mean, first_flight_octets: .first_flight_octets_mean,
             open_s, rss_before_kb: $base, rss_held_kb: $held, peak_rss_kb: $hwm,
             bytes_per_session: (if .reached > 0 then (($held - $base) * 1024 / .reached) else null end)}' \
            "$json" >>"$HALF_RESULTS"
    fi
    stop_server "$(server_port "$server")"
}

# floor_tls SCENARIO: the TLS version of a full EAP-TLS scenario (its floor),
# nothing for the others. A new full EAP-TLS scenario is added here.
floor_tls() {
    case "${1%@*}" in
    tls12 | radsec-tls12) echo 1.2 ;;
    tls13 | radsec-tls13) echo 1.3 ;;
    pap) echo udp ;;
    esac
}

# The PAP request's size: the header, User-Name, User-Password (padded to
# 16 octets, RFC 2865 §5.2), NAS-Identifier "fourway-sim" and
# Message-Authenticator (pap_request in fourway-sim/src/load.rs).
pap_request_octets() {
    echo $((20 + 2 + ${#USER_NAME} + 2 + (${#PAP_PASSWORD} + 15) / 16 * 16 + 2 + 11 + 18))
}

# run_floor TLS [RATE] [SCENARIO]: the server thread on the server CPU(s),
# the client thread on the load CPU(s), one line in $FLOOR_RESULTS (with
# the round, and the scenario it was measured for, right before its rows).
# - TLS 1.2 or 1.3: `fourway-sim floor`, rustls alone; with RATE, the
#   measured handshakes start at RATE per second and both threads sleep in
#   between (the floor of a paced row: what waking up costs rustls alone,
#   no socket, no runtime).
# - udp: `fourway-sim udp-floor`, the PAP row's floor, a UDP echo thread
#   answering datagrams of the PAP request's size, as many in flight as the
#   PAP load keeps.
run_floor() {
    local tls=$1 rate=${2:-} for=${3:-} json=$TMP/floor-$1-${2:-max}.json err=$TMP/floor-$1-${2:-max}.err
    local cmd field failed what
    local -a args
    if [ "$tls" = udp ]; then
        cmd=udp-floor field=server_ms_per_datagram failed="udp floor failed: "
        what="a UDP echo thread, $(pap_request_octets)-octet datagrams"
        args=(--senders "$CONCURRENCY" --bytes "$(pap_request_octets)")
        if [ "$SMOKE" = 1 ]; then args+=(--warmup 100); fi
    else
        cmd=floor field=server_ms_per_handshake failed="floor failed: "
        what="rustls alone, TLS $tls${rate:+, $rate handshakes/s}"
        args=(--server-cert "$PKI/server.pem" --server-key "$PKI/server.key"
            --ca "$PKI/ca.pem" --cert "$PKI/$USER_NAME.pem" --key "$PKI/$USER_NAME.key" --tls "$tls")
        if [ -n "$FLOOR_COUNT" ]; then args+=(--count "$FLOOR_COUNT" --warmup 5); fi
        if [ -n "$rate" ]; then args+=(--rate "$rate"); fi
    fi
    args+=(--duration "$FLOOR_DURATION" --json)
    if [ "${#SERVER_PIN[@]}" -gt 0 ]; then
        args+=(--server-cpu "$SERVER_CPUS" --client-cpu "$LOAD_CPUS")
    fi
    log "floor: $what${for:+, before $for}"
    if "$SIM" "$cmd" "${args[@]}" >"$json" 2>"$err" && jq -e ".$field" "$json" >/dev/null 2>&1; then
        # The udp floor's report has no rate; the TLS floor's carries its own.
        jq -c --arg tls "$tls" --argjson round "$ROUND" --arg for "$for" \
            '{rate: null} + . + {tls: $tls, round: $round, for: (if $for == "" then null else $for end), error: null}' \
            "$json" >>"$FLOOR_RESULTS"
    else
        jq -nc --arg tls "$tls" --arg err "$(tail -c 300 "$err" | tr '\n' ' ')" \
            --argjson rate "${rate:-null}" --arg failed "$failed" --argjson round "$ROUND" --arg for "$for" \
            '{tls: $tls, rate: $rate, round: $round, for: (if $for == "" then null else $for end),
              error: ($failed + $err)}' >>"$FLOOR_RESULTS"
    fi
}

# The scale rows (bench/lib/scale.sh).
# shellcheck source=bench/lib/scale.sh
source bench/lib/scale.sh

# ---------------------------------------------------------------- runs

[[ " $SERVERS " == *" freeradius "* ]] && setup_freeradius
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# The paced floors first, one per paced full EAP-TLS scenario at its rate
# (the saturation floors are measured right before their rows, below).
if [ "$FLOOR_DURATION" != 0 ]; then
    declare -A PACED_FLOOR=()
    for sc in $SCENARIOS; do
        tls=$(floor_tls "$sc")
        if [[ "$sc" == *@* ]] && [ -n "$tls" ] && [ "$tls" != udp ] && [ -z "${PACED_FLOOR[$tls@${sc##*@}]:-}" ]; then
            PACED_FLOOR[$tls@${sc##*@}]=1
            run_floor "$tls" "${sc##*@}"
        fi
    done
fi
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    [ "$ROUNDS" = 1 ] || log "round $ROUND of $ROUNDS"
    for sc in $SCENARIOS; do
        # Each saturation row's floor right before it: on a VM whose speed
        # drifts from minute to minute, a floor taken minutes earlier would
        # not be the floor of these rows. Paced rows use the floor of their
        # saturation row, of the same round when it ran.
        tls=$(floor_tls "$sc")
        if [ "$FLOOR_DURATION" != 0 ] && [ -n "$tls" ] && [[ "$sc" != *@* ]]; then
            run_floor "$tls" "" "$sc"
        fi
        for server in $SERVERS; do
            run_scenario "$server" "$sc"
        done
    done
done
if [ "$HALF_OPEN" -gt 0 ]; then
    for tls in $HALF_OPEN_TLS; do
        for server in $SERVERS; do
            half_open "$server" "$tls"
        done
    done
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

FR_VERSION=-
if [ -n "$FREERADIUS" ]; then
    FR_VERSION=$({ "$FREERADIUS" -v 2>/dev/null || true; } | sed -n '1s/.*Version \([^,]*\),.*/\1/p')
fi
REPORT=$TMP/report.json
# shellcheck source=bench/lib/report.sh
source bench/lib/report.sh

print_tables "$REPORT"

if [ -n "$OUT" ]; then
    case "$OUT" in
    *.json) cp "$REPORT" "$OUT" ;;
    *) markdown "$REPORT" >"$OUT" ;;
    esac
    log "wrote $OUT"
fi

# Sanity checks: every EAP run succeeded at least once, a table exists.
status=0
if ! jq -e '.runs | length > 0' "$REPORT" >/dev/null; then
    log "no results"; status=1
fi
bad=$(jq -r '.runs[] | select(.scenario != "pap" and (.error != null or .succeeded == 0))
             | "\(.server) \(.scenario): \(.error // "no successes")"' "$REPORT")
if [ -n "$bad" ]; then
    log "EAP runs without successes:"; echo "$bad" >&2
    [ "$SMOKE" = 1 ] && status=1
fi
if [ "$FLOOR_DURATION" != 0 ] && jq -e '[.runs[] | select(.floor_tls != null and .floor_tls != "")] | length > 0' "$REPORT" >/dev/null &&
    ! jq -e '(.floor | length) > 0 and all(.floor[]; .error == null and (.server_ms_per_handshake // .server_ms_per_datagram // 0) > 0)' "$REPORT" >/dev/null; then
    log "floor measurement failed: $(jq -c '[.floor[] | .error // .server_ms_per_handshake // .server_ms_per_datagram]' "$REPORT")"
    [ "$SMOKE" = 1 ] && status=1
fi
# Each saturation row with a floor got the one measured right before it,
# in its own round; with several rounds, every row has its medians over
# all of them.
if [ "$FLOOR_DURATION" != 0 ] &&
    ! jq -e '.floor as $floor
             | [.runs[] | select(.error == null and .floor_tls != null and (.scenario | contains("@") | not))]
             | all(.[]; . as $r | .floor_ms != null
                   and ([$floor[] | select(.round == $r.round and .for == $r.scenario)] | length) == 1)' \
        "$REPORT" >/dev/null; then
    log "a saturation row without its own floor"; [ "$SMOKE" = 1 ] && status=1
fi
if [ "$ROUNDS" -gt 1 ] &&
    ! jq -e --argjson n "$ROUNDS" '(.medians | length) > 0 and all(.medians[]; .rounds == $n)' "$REPORT" >/dev/null; then
    log "no medians over $ROUNDS rounds"; [ "$SMOKE" = 1 ] && status=1
fi
if [ "$SMOKE" = 1 ] && [ "$HALF_OPEN" -gt 0 ] &&
    ! jq -e '(.half_open | length) as $n
             | [.half_open[] | select(.error == null and .reached > 0)] | length == $n and $n > 0' \
        "$REPORT" >/dev/null; then
    log "half-open run failed"; status=1
fi
exit "$status"
