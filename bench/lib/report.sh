#!/usr/bin/env bash
# shellcheck shell=bash
# Sourced by bench/compare.sh after the runs: writes $REPORT, the JSON
# report (every run with its FreeRADIUS and floor ratios, the paced,
# RadSec and scale comparisons, the medians over rounds, the machine).

jq -n --slurpfile runs "$RESULTS" --slurpfile half "$HALF_RESULTS" --slurpfile floor "$FLOOR_RESULTS" \
    --slurpfile scale_started "$SCALE_RESULTS" --argjson scale_users "$SCALE_USERS" \
    --argjson scale_clients "$SCALE_CLIENTS" \
    --arg started "$STARTED" --arg profile "$PROFILE" --arg binaries "$BINARIES" --arg pinning "$PINNING" \
    --argjson concurrency "$CONCURRENCY" --arg duration "$DURATION" --argjson warmup "$WARMUP" \
    --arg cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)" --argjson nproc "$NPROC" \
    --arg kernel "$(uname -r)" --arg rustc "$(rustc --version)" --arg freeradius "$FR_VERSION" \
    --arg load_before "$LOAD_BEFORE" --arg load_after "$LOAD_AFTER" \
    --arg authd_log_level "$AUTHD_LOG_LEVEL" --arg pap_setup "$PAP_SETUP" \
    --argjson skip_signature "${#NO_SIGNATURE[@]}" --argjson poll_paced "$POLL_PACED" --argjson poll_pap "$POLL_PAP" \
    --arg perf "$([ -n "$PERF_DIR" ] && echo yes || echo no)" --argjson smoke "$SMOKE" \
    --argjson rounds "$ROUNDS" '
    def ratio(a; b): if a != null and b != null and b != 0 then a / b else null end;
    # The saturation floor of run $r: the one measured right before its
    # scenario (a paced row: before its saturation row) in its round, else
    # any of its round, else any.
    def floor_for($r):
        ($floor | map(select(.error == null and .tls == $r.floor_tls and .rate == null))) as $c
        | ($c | map(select(.round == $r.round and .for == ($r.scenario | split("@") | first))) | first)
          // ($c | map(select(.round == $r.round)) | first) // ($c | first);
    # median, minimum and maximum of the numbers of an array (nulls left out).
    def stats: map(select(. != null)) | sort | length as $n
        | if $n == 0 then null
          else {median: (if $n % 2 == 1 then .[($n - 1) / 2] else (.[$n / 2 - 1] + .[$n / 2]) / 2 end),
                min: .[0], max: .[$n - 1], n: $n} end;
    {started: $started, profile: $profile, binaries: $binaries, pinning: $pinning, concurrency: $concurrency,
     duration_s: ($duration | tonumber), warmup: $warmup, cpu: $cpu, nproc: $nproc,
     kernel: $kernel, rustc: $rustc, freeradius: $freeradius,
     loadavg_before: $load_before, loadavg_after: $load_after,
     authd_log_level: $authd_log_level, pap_setup: $pap_setup, perf_recording: $perf,
     ttls_load_tool_checks_server_signature: ($skip_signature == 0),
     paced_load_tool_polls: ($poll_paced == 1),
     pap_load_tool_polls: ($poll_pap == 1),
     smoke: ($smoke == 1),
     rounds: $rounds,
     floor: $floor,
     runs: [ $runs[] as $r
             | ($runs | map(select(.scenario == $r.scenario and .server == "freeradius"
                                   and .round == $r.round)) | first) as $fr
             | floor_for($r) as $fl
             | $r + (if $r.server == "authd" and $fr != null then
                       {cpu_ratio: ratio($r.cpu_ms_per_auth; $fr.cpu_ms_per_auth),
                        fr_over_authd: ratio($fr.cpu_ms_per_auth; $r.cpu_ms_per_auth),
                        throughput_ratio: ratio($r.auths_per_s; $fr.auths_per_s)}
                     else {} end)
                  + (if $fl != null then
                       ($fl.server_ms_per_handshake // $fl.server_ms_per_datagram) as $fms
                       | {floor_ms: $fms, floor_ratio: ratio($r.cpu_ms_per_auth; $fms)}
                     else {} end) ],
     paced_vs_saturated: [ $runs[] as $r
             | select($r.error == null and ($r.scenario | contains("@")))
             | ($runs | map(select(.error == null and .server == $r.server
                                   and .scenario == ($r.scenario | split("@") | first)))) as $ss
             | ($ss | map(select(.round == $r.round)) | first // ($ss | first)) as $s
             | select($s != null)
             | ($r.scenario | split("@") | last | tonumber) as $rate
             | floor_for($r) as $f0
             | ($floor | map(select(.error == null and .tls == $r.floor_tls and .rate == $rate)) | first) as $f1
             | {server: $r.server, scenario: $r.scenario, round: $r.round,
                paced_cpu_ms_per_auth: $r.cpu_ms_per_auth, saturated_cpu_ms_per_auth: $s.cpu_ms_per_auth,
                ratio: ratio($r.cpu_ms_per_auth; $s.cpu_ms_per_auth),
                floor_paced_ms: $f1.server_ms_per_handshake,
                floor_ratio: ratio($f1.server_ms_per_handshake; $f0.server_ms_per_handshake),
                paced_server_cpu_pct: $r.server_cpu_pct, paced_p99_ms: $r.p99_ms} ],
     radsec_vs_udp: [ $runs[] as $r
             | select($r.error == null and ($r.scenario | startswith("radsec-")))
             | ($runs | map(select(.error == null and .server == $r.server
                                   and .round == $r.round
                                   and .scenario == ($r.scenario | ltrimstr("radsec-")))) | first) as $u
             | select($u != null)
             | {server: $r.server, scenario: $r.scenario, round: $r.round,
                udp_cpu_ms_per_auth: $u.cpu_ms_per_auth, radsec_cpu_ms_per_auth: $r.cpu_ms_per_auth,
                added_cpu_ms_per_auth: (if $u.cpu_ms_per_auth != null and $r.cpu_ms_per_auth != null
                                        then $r.cpu_ms_per_auth - $u.cpu_ms_per_auth else null end),
                cpu_ratio: ratio($r.cpu_ms_per_auth; $u.cpu_ms_per_auth),
                throughput_ratio: ratio($r.auths_per_s; $u.auths_per_s)} ],
     half_open: $half,
     scale: {users: $scale_users, clients: $scale_clients, started: $scale_started}}
    | .medians = (if $rounds > 1 then
        # In the order the rows first ran.
        [ .runs | to_entries | map(select(.value.error == null))
          | group_by([.value.scenario, .value.server]) | sort_by(.[0].key)[] | map(.value)
          | {scenario: .[0].scenario, server: .[0].server, rounds: length,
             cpu_ms_per_auth: (map(.cpu_ms_per_auth) | stats),
             floor_ratio: (map(.floor_ratio) | stats),
             fr_over_authd: (map(.fr_over_authd) | stats),
             server_cpu_pct: (map(.server_cpu_pct) | stats)} ]
      else [] end)' >"$REPORT"

