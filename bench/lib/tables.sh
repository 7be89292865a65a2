#!/usr/bin/env bash
# shellcheck shell=bash
# Sourced by bench/compare.sh: the tables of a JSON report (markdown and
# terminal). Needs jq.

# ---------------------------------------------------------------- tables

# markdown REPORT [runs|floor|paced|radsec|half|medians|all]: the tables of
# a JSON report, as markdown.
markdown() {
    jq -r --arg part "${2:-all}" '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round / pow(10; d) | tostring) end;
    # ms per authentication: five decimals below 0.1 ms (PAP, its floor).
    def ms(n): if n != null and n < 0.1 then f(n; 5) else f(n; 3) end;
    def fails: if (.failures // {}) == {} then "0"
               else ([.failures | to_entries[] | "\(.value) \(.key)"] | join(", ")) end;
    # The name of a row: with several rounds, its round after it.
    (.rounds // 1) as $rounds
    | def name: "\(.scenario)\(if $rounds > 1 then " #\(.round)" else "" end)";
    # The row a floor was measured right before, if any.
    def before: if .for then (.scenario = .for | name) else "-" end;
    def spread(s; d): if s == null then "-" else "\(f(s.median; d)) (\(f(s.min; d))-\(f(s.max; d)))" end;
    (if $part == "all" or $part == "runs" then
    "| scenario | server | auth/s | server CPU ms/auth | server CPU % | tool CPU ms/auth | tool CPU % | p99 ms | round trips | peak RSS MiB | succeeded | failures | floor ms | CPU÷floor | CPU/auth authd÷FR | FR CPU÷authd (x less) | auth/s authd÷FR |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    (.runs[] |
      if .error != null then
        "| \(name) | \(.server) | FAILED | - | - | - | - | - | - | - | - | \(.error | gsub("\\|"; "/")) | - | - | - | - | - |"
      else
        "| \(name) | \(.server) | \(f(.auths_per_s; 0)) | \(ms(.cpu_ms_per_auth)) | \(f(.server_cpu_pct; 0))\(if .under_90 then " (<90!)" else "" end) | \(ms(.tool_cpu_ms_per_auth)) | \(f(.tool_cpu_pct; 0)) | \(if .succeeded > 0 then f(.p99_ms; 2) else "-" end) | \(if .succeeded > 0 then f(.round_trips; 2) else "-" end) | \(f(.peak_rss_kb / 1024; 1)) | \(.succeeded)\(if .resumed > 0 then " (\(.resumed) resumed)" else "" end) | \(fails | gsub("\\|"; "/")) | \(ms(.floor_ms)) | \(f(.floor_ratio; 2)) | \(f(.cpu_ratio; 3)) | \(f(.fr_over_authd; 2)) | \(f(.throughput_ratio; 2)) |"
      end)
    else empty end),
    (if ($part == "all" or $part == "floor") and (.floor // [] | length) > 0 then
      (if $part == "all" then "" else empty end),
      "| floor | TLS | paced/s | before | handshakes (datagrams) | server ms/handshake (datagram) | client ms/handshake (datagram) | server thread busy % | in flight | failures |",
      "|---|---|---:|---|---:|---:|---:|---:|---:|---|",
      (.floor[] |
        if .error != null then
          "| \(if .tls == "udp" then "UDP echo" else "rustls" end) | \(.tls) | \(.rate // "-") | \(before) | FAILED | - | - | - | - | \(.error | gsub("\\|"; "/")) |"
        elif .mode == "udp-echo-floor" then
          "| UDP echo, \(.datagram_bytes) octets | - | - | \(before) | \(.datagrams) | \(ms(.server_ms_per_datagram)) | \(ms(.client_us_per_datagram / 1000)) | \(f(.server_busy * 100; 0)) | \(.senders) | 0 |"
        else
          "| rustls | \(.tls) | \(.rate // "-") | \(before) | \(.handshakes) | \(f(.server_ms_per_handshake; 3)) | \(f(.client_ms_per_handshake; 3)) | \(f(.server_busy * 100; 0)) | \(.in_flight) | 0 |"
        end)
    else empty end),
    (if ($part == "all" or $part == "paced") and (.paced_vs_saturated // [] | length) > 0 then
      (if $part == "all" then "" else empty end),
      "| paced | server | CPU ms/auth paced | CPU ms/auth saturated | paced÷saturated | floor paced÷saturated | server CPU % paced | p99 ms paced |",
      "|---|---|---:|---:|---:|---:|---:|---:|",
      (.paced_vs_saturated[] |
        "| \(name) | \(.server) | \(f(.paced_cpu_ms_per_auth; 3)) | \(f(.saturated_cpu_ms_per_auth; 3)) | \(f(.ratio; 2)) | \(f(.floor_ratio; 2)) | \(f(.paced_server_cpu_pct; 0)) | \(f(.paced_p99_ms; 2)) |")
    else empty end),
    (if ($part == "all" or $part == "radsec") and (.radsec_vs_udp // [] | length) > 0 then
      (if $part == "all" then "" else empty end),
      "| RadSec vs UDP | server | CPU ms/auth UDP | CPU ms/auth RadSec | added ms/auth | CPU RadSec÷UDP | auth/s RadSec÷UDP |",
      "|---|---|---:|---:|---:|---:|---:|",
      (.radsec_vs_udp[] |
        "| \(name) | \(.server) | \(f(.udp_cpu_ms_per_auth; 3)) | \(f(.radsec_cpu_ms_per_auth; 3)) | \(f(.added_cpu_ms_per_auth; 3)) | \(f(.cpu_ratio; 3)) | \(f(.throughput_ratio; 2)) |")
    else empty end),
    (if ($part == "all" or $part == "medians") and (.medians // [] | length) > 0 then
      (if $part == "all" then "" else empty end),
      "| over \($rounds) rounds | server | rounds | CPU ms/auth median (min-max) | CPU÷floor median (min-max) | FR CPU÷authd median (min-max) | server CPU % median (min-max) |",
      "|---|---|---:|---:|---:|---:|---:|",
      (.medians[] |
        "| \(.scenario) | \(.server) | \(.rounds) | \(if (.cpu_ms_per_auth.median // 1) < 0.1 then spread(.cpu_ms_per_auth; 5) else spread(.cpu_ms_per_auth; 3) end) | \(spread(.floor_ratio; 2)) | \(spread(.fr_over_authd; 2)) | \(spread(.server_cpu_pct; 0)) |")
    else empty end),
    (if $part == "all" then "" else empty end),
    (if ($part == "all" or $part == "half") and (.half_open | length) > 0 then
      "| half-open | server | TLS | reached | round trips | first flight octets | VmRSS before MiB | VmRSS held MiB | bytes per session | failures |",
      "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
      (.half_open[] |
        if .error != null then
          "| - | \(.server) | \(.tls) | FAILED | - | - | - | - | - | \(.error | gsub("\\|"; "/")) |"
        else
          "| \(.requested) | \(.server) | \(.tls) | \(.reached) | \(f(.round_trips; 2)) | \(f(.first_flight_octets; 0)) | \(f(.rss_before_kb / 1024; 1)) | \(f(.rss_held_kb / 1024; 1)) | \(f(.bytes_per_session; 0)) | \(fails | gsub("\\|"; "/")) |"
        end)
    else empty end)' "$1"
}

# print_tables REPORT: a heading and the tables, aligned for a terminal.
print_tables() {
    jq -r '"\nauthd vs FreeRADIUS \(.freeradius): \(.profile) build, concurrency \(.concurrency), \(.duration_s) s per run (after \(.warmup) warm-up authentications), \(.pinning)",
        (if .smoke then "SMOKE RUN: debug binaries and short runs, the numbers mean nothing" else empty end),
        (if .perf_recording == "yes" then "perf was recording authd: its CPU figures include perf'"'"'s overhead" else empty end)' "$1"
    markdown "$1" runs | column -t -s '|' -o '|'
    if [ "$(jq '.floor // [] | length' "$1")" -gt 0 ]; then
        echo
        echo "The floor: the server side of full mutual TLS handshakes, rustls alone in memory (same certificates and provider); for PAP, a thread answering each datagram with its own bytes (the kernel alone):"
        markdown "$1" floor | column -t -s '|' -o '|'
    fi
    if [ "$(jq '.paced_vs_saturated // [] | length' "$1")" -gt 0 ]; then
        echo
        echo "CPU per authentication paced vs at saturation (the cost of waking up per request):"
        markdown "$1" paced | column -t -s '|' -o '|'
    fi
    if [ "$(jq '.radsec_vs_udp // [] | length' "$1")" -gt 0 ]; then
        echo
        echo "EAP-TLS over RadSec (one TLS connection per load worker) vs over UDP:"
        markdown "$1" radsec | column -t -s '|' -o '|'
    fi
    if [ "$(jq '.half_open | length' "$1")" -gt 0 ]; then
        echo
        echo "Server memory per EAP-TLS conversation in progress (VmRSS held - VmRSS before, / reached):"
        markdown "$1" half | column -t -s '|' -o '|'
    fi
    if [ "$(jq '.medians // [] | length' "$1")" -gt 0 ]; then
        echo
        echo "Each row over the rounds (each saturation row after its own floor): median (minimum-maximum):"
        markdown "$1" medians | column -t -s '|' -o '|'
    fi
    print_scale "$1"
    jq -r '"load average before/after: \(.loadavg_before) / \(.loadavg_after)"' "$1"
}

# print_scale REPORT: each NAME:STORE-large row beside NAME:STORE.
print_scale() {
    [ "$(jq '[.runs[] | select(.scenario | contains(":"))] | length' "$1")" -gt 0 ] || return 0
    echo
    echo "Flat cost as the deployment grows (large: $(jq -r '.scale.users // "-"' "$1") users, $(jq -r '.scale.clients // "-"' "$1") NAS clients in the store):"
    jq -r '
    def f(n; d): if n == null then "-" else (n * pow(10; d) | round / pow(10; d) | tostring) end;
    (.scale.started // []) as $st
    | def started($sc): ($st | map(select(.scenario == $sc)) | first) // {};
    "| scenario | server | CPU ms/auth small | CPU ms/auth large | large÷small | auth/s small | auth/s large | start-up s small | start-up s large | VmRSS MiB small | VmRSS MiB large |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    (.runs[] as $l
     | select($l.error == null and ($l.scenario | test(":[a-z]+-large$")))
     | ($l.scenario | sub("-large$"; "")) as $small
     | (.runs | map(select(.error == null and .server == $l.server and .scenario == $small)) | first) as $s
     | select($s != null)
     | "| \($small) | \($l.server) | \(f($s.cpu_ms_per_auth; 4)) | \(f($l.cpu_ms_per_auth; 4)) | \(f(if $s.cpu_ms_per_auth > 0 then $l.cpu_ms_per_auth / $s.cpu_ms_per_auth else null end; 3)) | \(f($s.auths_per_s; 0)) | \(f($l.auths_per_s; 0)) | \(f(started($small).startup_s; 2)) | \(f(started($l.scenario).startup_s; 2)) | \(f((started($small).rss_started_kb // null) | if . == null then null else . / 1024 end; 1)) | \(f((started($l.scenario).rss_started_kb // null) | if . == null then null else . / 1024 end; 1)) |")
    ' "$1" | column -t -s '|' -o '|'
}

if [ -n "$RENDER" ]; then
    print_tables "$RENDER"
    exit 0
fi
