#!/usr/bin/env bash
# wsprobe benchmarks, issue 6: 1. engine, 2. one-shot CLI, 3. daemon scale,
# 4. daemon scaling curve (parts 3 and 4 live in bench/daemon.sh).
#
#   bench/run.sh                 # installs what it needs, builds release, measures,
#                                # prints the table and rewrites the results in BENCHMARKS.md
#   ROUNDS=1 bench/run.sh        # quicker, noisier
#   PARTS=34 bench/run.sh        # only the daemon parts (prints, never writes the file)
#
# Knobs (environment): PARTS (1234; parts 1 and 2 share their rounds, so
# either digit runs both), ROUNDS (5, parts 1-2), SEQ_N (2000),
# CONC_N (20000), CONC (64), WRK_SECONDS (8), HF_RUNS (60), NO_INSTALL=1 (skip
# apt-get), NO_WRITE=1 (leave BENCHMARKS.md alone); for parts 3-4 see
# bench/daemon.sh.
#
# Everything listens on 127.0.0.1 only. Every loop is bounded in count and in
# time, and every process started here is killed on exit. Nothing is asserted
# except that every check and probe succeeds: the first failure aborts the run
# with its reason.
set -Eeuo pipefail
trap 'printf "bench: line %s: %s failed (exit %s)\n" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR

ROUNDS=${ROUNDS:-5}
SEQ_N=${SEQ_N:-2000}
CONC_N=${CONC_N:-20000}
CONC=${CONC:-64}
WRK_SECONDS=${WRK_SECONDS:-8}
HF_RUNS=${HF_RUNS:-60}
PARTS=${PARTS:-1234}

# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=bench/daemon.sh
source "$(dirname "$0")/daemon.sh"

# ---------------------------------------------------------------- tools
install_tools() {
    install_missing wrk hyperfine prometheus-blackbox-exporter jq curl sqlite3
}

start_blackbox() {
    free_port bb_port
    # blackbox's tcp prober writes each `send` followed by "\n": ending the
    # request with "\r\n\r" makes the head end with exactly "\r\n\r\n".
    local request="GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r"
    cat >"$work/blackbox.yml" <<EOF
modules:
  ws_upgrade:
    prober: tcp
    timeout: 10s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - send: "$request"
        - expect: "^HTTP/1.1 101"
  wss_upgrade:
    prober: tcp
    timeout: 10s
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: $work/ca.pem
        server_name: $tls_name
      query_response:
        - send: "$request"
        - expect: "^HTTP/1.1 101"
EOF
    prometheus-blackbox-exporter --config.file="$work/blackbox.yml" \
        --web.listen-address="127.0.0.1:$bb_port" >"$work/blackbox.log" 2>&1 &
    pids+=($!)
    bb_pid=$!
    local i
    for i in $(seq 100); do
        curl -sf "http://127.0.0.1:$bb_port/-/healthy" >/dev/null 2>&1 && break
        sleep 0.1
    done
    local module target
    for module in ws wss; do
        target="127.0.0.1:$ws_port"
        [ "$module" = wss ] && target="127.0.0.1:$wss_port"
        curl -sf "http://127.0.0.1:$bb_port/probe?module=${module}_upgrade&target=$target" |
            grep -q '^probe_success 1' ||
            die "blackbox_exporter's $module probe fails: $(curl -s "http://127.0.0.1:$bb_port/probe?module=${module}_upgrade&target=$target&debug=true")"
    done
}

# ---------------------------------------------------------------- part 1
# One client run; appends its RESULT line, tagged with the round, to engine.txt.
client() {
    local round=$1 what=$2 url=$3 n=$4 conc=$5
    shift 5
    local cmd=("$work/bin/bench_engine")
    [ "$what" = floor ] && cmd=("$work/bin/bench_floor" loop)
    local line
    line=$(timeout 300 "${cmd[@]}" "$url" --n "$n" --concurrency "$conc" --max-seconds 240 "$@") ||
        die "$what $url (n=$n, concurrency $conc) failed; see above"
    echo "round=$round $line" >>"$work/engine.txt"
    echo "  $line" >&2
}

# One wrk load of blackbox_exporter's /probe; appends a BLACKBOX line.
blackbox_load() {
    local round=$1 module=$2 target=$3
    cat >"$work/check.lua" <<'EOF'
-- Count /probe answers that are not probe_success 1: every probe must pass.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) responses = 0; failures = 0 end
function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 or not body:find("\nprobe_success 1\n", 1, true) then failures = failures + 1 end
end
function done(summary, latency, requests)
  local r, f = 0, 0
  for _, t in ipairs(threads) do r = r + t:get("responses"); f = f + t:get("failures") end
  io.write(string.format("WRK responses=%d failures=%d p50_ms=%.3f p99_ms=%.3f\n",
    r, f, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
EOF
    local hz before after t0 t1
    hz=$(getconf CLK_TCK)
    before=$(cpu_ticks "$bb_pid")
    t0=$(date +%s.%N)
    timeout $((WRK_SECONDS + 30)) wrk -t1 -c"$CONC" -d"${WRK_SECONDS}s" -s "$work/check.lua" \
        "http://127.0.0.1:$bb_port/probe?module=${module}_upgrade&target=$target" >"$work/wrk.out" 2>&1 ||
        die "wrk failed: $(cat "$work/wrk.out")"
    t1=$(date +%s.%N)
    after=$(cpu_ticks "$bb_pid")
    local wrkline
    wrkline=$(grep '^WRK ' "$work/wrk.out") || die "wrk printed no summary: $(cat "$work/wrk.out")"
    eval "${wrkline#WRK }"
    [ "$failures" -eq 0 ] || die "blackbox_exporter: $failures of $responses $module probes failed"
    local line
    line=$(awk -v r="$responses" -v c0="$before" -v c1="$after" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
        -v m="$module" -v conc="$CONC" -v p50="$p50_ms" -v p99="$p99_ms" 'BEGIN {
            cpu = (c1 - c0) / hz; wall = t1 - t0
            printf "RESULT impl=blackbox scheme=%s conc=%d n=%d wall_s=%.3f checks_per_s=%.0f p50_ms=%.3f p99_ms=%.3f cpu_s=%.3f cpu_us_per_check=%.1f checks_per_cpu_s=%.0f\n",
                m, conc, r, wall, r / wall, p50, p99, cpu, cpu * 1e6 / r, r / cpu }')
    echo "round=$round $line" >>"$work/engine.txt"
    echo "  $line" >&2
}

# ---------------------------------------------------------------- part 2
oneshot() {
    local round=$1
    local cmds=(
        "$work/bin/wsprobe check $ws_url"
        "$work/bin/bench_floor once $ws_url"
        "$work/bin/wsprobe check $wss_url ${wss_args[*]}"
        "$work/bin/bench_floor once $wss_url ${wss_args[*]}"
        "$work/bin/wsprobe check $wss_url ${wss_args[*]} --system-roots"
    )
    local names=(wsprobe_ws floor_ws wsprobe_wss floor_wss wsprobe_wss_system_roots)
    local args=(-N --style none --warmup 5 --runs "$HF_RUNS" --export-json "$work/hf.json")
    local i
    for i in "${!cmds[@]}"; do args+=(--command-name "${names[$i]}" "${cmds[$i]}"); done
    timeout 300 hyperfine "${args[@]}" >/dev/null || die "hyperfine: a one-shot check failed"
    if command -v websocat >/dev/null; then
        # Untested here (websocat is not installed on the machine the figures come from).
        timeout 300 hyperfine --style none --warmup 5 --runs "$HF_RUNS" --export-json "$work/hf_websocat.json" \
            --command-name websocat_ws "websocat -E $ws_url </dev/null" >/dev/null ||
            die "hyperfine: websocat failed"
        jq -r --arg r "$round" '.results[] | "round=\($r) ONESHOT name=\(.command) median_ms=\(.median * 1000) mean_ms=\(.mean * 1000) sd_ms=\(.stddev * 1000) cpu_ms=\((.user + .system) * 1000)"' \
            "$work/hf_websocat.json" >>"$work/oneshot.txt"
    fi
    jq -r --arg r "$round" '.results[] | "round=\($r) ONESHOT name=\(.command) median_ms=\(.median * 1000) mean_ms=\(.mean * 1000) sd_ms=\(.stddev * 1000) cpu_ms=\((.user + .system) * 1000)"' \
        "$work/hf.json" >>"$work/oneshot.txt"
    grep "^round=$round " "$work/oneshot.txt" | sed 's/^/  /' >&2
}

# ---------------------------------------------------------------- report
# Median over rounds of FIELD for lines matching every key=value in FILTER.
median() {
    local file=$1 field=$2 filter=$3
    awk -v field="$field" -v filter="$filter" '
        BEGIN { nf = split(filter, want, " ") }
        {
            delete kv
            for (i = 1; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
            for (j = 1; j <= nf; j++) { split(want[j], w, "="); if (kv[w[1]] != w[2]) next }
            v[++n] = kv[field] + 0
        }
        END {
            if (n == 0) { print "nan"; exit }
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }' "$file"
}

# Median over rounds of the per-round ratio FIELD(A) / FIELD(B): the two ran
# back to back in each round, so they saw the same noise.
paired_ratio() {
    local file=$1 field=$2 a=$3 b=$4
    awk -v field="$field" -v fa="$a" -v fb="$b" '
        function matches(filter,    n, want, j, w) {
            n = split(filter, want, " ")
            for (j = 1; j <= n; j++) { split(want[j], w, "="); if (kv[w[1]] != w[2]) return 0 }
            return 1
        }
        {
            delete kv
            for (i = 1; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
            if (matches(fa)) va[kv["round"]] = kv[field] + 0
            if (matches(fb)) vb[kv["round"]] = kv[field] + 0
        }
        END {
            for (r in va) if ((r in vb) && vb[r] > 0) v[++n] = va[r] / vb[r]
            if (n == 0) { print "nan"; exit }
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            printf "%.2f", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }' "$file"
}

machine() {
    machine_lines
    echo "- tokio-tungstenite $(awk '/^name = "tokio-tungstenite"/ { getline; gsub(/"/, "", $3); print $3 }' "$repo/Cargo.lock"), rustls $(awk '/^name = "rustls"$/ { getline; gsub(/"/, "", $3); print $3 }' "$repo/Cargo.lock") (ring)"
    echo "- $(prometheus-blackbox-exporter --version 2>&1 | head -1 | sed 's/, version//; s/ (branch.*revision: / (Debian /; s/)$/)/'), $( (wrk -v 2>&1 || true) | head -1 | awk '{print $1, $2}'), $(hyperfine --version)"
    if command -v websocat >/dev/null; then echo "- $(websocat --version)"; else echo "- websocat: not installed"; fi
    echo "- parts 1-2: $ROUNDS rounds (figures are medians over rounds); engine N: $SEQ_N sequential, $CONC_N at concurrency $CONC; wrk: ${WRK_SECONDS}s x $CONC connections per round; hyperfine: $HF_RUNS runs per round"
    echo "- parts 3-4: one run each; $(sqlite3 --version | awk '{print "sqlite3 CLI " $1}') reads the state files; open-files limit (ulimit -n) raised to $fd_limit"
}

table() {
    echo "### Results"
    echo
    machine
    echo
    [[ $PARTS == *[12]* ]] && engine_tables
    [[ $PARTS == *3* || $PARTS == *4* ]] && daemon_tables
    echo "Run time: $(( $(date +%s) - started_at )) s including the build" \
        "($(( measured_s / 60 )) min $(( measured_s % 60 )) s of measuring)."
}

engine_tables() {
    local e="$work/engine.txt" o="$work/oneshot.txt"
    echo "#### 1. Engine throughput and cost (full checks against the local echo target)"
    echo
    echo "| client | scheme | concurrency | N | checks/s | p50 ms | p99 ms | client CPU µs/check | checks per client CPU-s |"
    echo "|---|---|---|---|---|---|---|---|---|"
    local scheme conc who f
    for scheme in ws wss; do
        for conc in 1 "$CONC"; do
            for who in wsprobe floor; do
                f="impl=$who scheme=$scheme conc=$conc"
                printf '| %s | %s | %s | %s | %.0f | %.3f | %.3f | %.1f | %.0f |\n' \
                    "$([ $who = wsprobe ] && echo 'wsprobe engine' || echo 'floor (bare tokio-tungstenite)')" \
                    "$scheme" "$conc" "$(median "$e" n "$f")" "$(median "$e" checks_per_s "$f")" \
                    "$(median "$e" p50_ms "$f")" "$(median "$e" p99_ms "$f")" \
                    "$(median "$e" cpu_us_per_check "$f")" "$(median "$e" checks_per_cpu_s "$f")"
            done
        done
        f="impl=blackbox scheme=$scheme"
        printf '| blackbox_exporter tcp module via wrk /probe | %s | %s | %s | %.0f | %.3f | %.3f | %.1f (exporter) | %.0f (per exporter CPU-s) |\n' \
            "$scheme" "$CONC" "$(median "$e" n "$f")" "$(median "$e" checks_per_s "$f")" \
            "$(median "$e" p50_ms "$f")" "$(median "$e" p99_ms "$f")" \
            "$(median "$e" cpu_us_per_check "$f")" "$(median "$e" checks_per_cpu_s "$f")"
    done
    echo
    echo "blackbox_exporter peak RSS (VmHWM): $bb_hwm. Its probe is lighter than a full check: TCP (+TLS), the upgrade request and the 101 status line, then it drops the connection (no ping, no closing handshake)."
    echo
    echo "Targets, on checks per client CPU-second (median over rounds of the ratio within each round):"
    echo
    echo "| target | scheme | concurrency | measured | limit | verdict |"
    echo "|---|---|---|---|---|---|"
    local r
    for scheme in ws wss; do
        for conc in 1 "$CONC"; do
            r=$(paired_ratio "$e" checks_per_cpu_s "impl=wsprobe scheme=$scheme conc=$conc" \
                "impl=floor scheme=$scheme conc=$conc")
            echo "| wsprobe ÷ floor | $scheme | $conc | $r × | ≥ 0.8 × | $(verdict "$r" ">=" 0.8) |"
        done
        r=$(paired_ratio "$e" checks_per_cpu_s "impl=wsprobe scheme=$scheme conc=$CONC" \
            "impl=blackbox scheme=$scheme")
        echo "| wsprobe ÷ blackbox_exporter | $scheme | $CONC | $r × | ≥ 2.5 × | $(verdict "$r" ">=" 2.5) |"
    done
    echo
    echo "#### 2. One-shot CLI (hyperfine, process start to exit)"
    echo
    echo "| command | median ms | mean ± sd ms | user+sys ms |"
    echo "|---|---|---|---|"
    local name
    for name in wsprobe_ws floor_ws wsprobe_wss floor_wss wsprobe_wss_system_roots websocat_ws; do
        if ! grep -q "name=$name " "$o"; then
            [ "$name" = websocat_ws ] && echo "| websocat | not installed | | |"
            continue
        fi
        printf '| %s | %.2f | %.2f ± %.2f | %.2f |\n' "$(label "$name")" \
            "$(median "$o" median_ms "name=$name")" "$(median "$o" mean_ms "name=$name")" \
            "$(median "$o" sd_ms "name=$name")" "$(median "$o" cpu_ms "name=$name")"
    done
    echo
    local wss_med sys_med r
    wss_med=$(median "$o" median_ms "name=wsprobe_wss")
    sys_med=$(median "$o" median_ms "name=wsprobe_wss_system_roots")
    r=$(paired_ratio "$o" median_ms "name=wsprobe_ws" "name=floor_ws")
    echo "| target | measured | limit | verdict |"
    echo "|---|---|---|---|"
    echo "| \`wsprobe check ws://\` median ÷ floor one-check (per-round ratio, median) | $r × | ≤ 1.5 × | $(verdict "$r" "<=" 1.5) |"
    echo "| the same, on user+sys CPU instead of wall time (less sensitive to a busy machine) | $(paired_ratio "$o" cpu_ms "name=wsprobe_ws" "name=floor_ws") × | (for context) | |"
    printf '| `wsprobe check wss://` median | %.2f ms | ≤ 10 ms | %s |\n' "$wss_med" "$(verdict "$wss_med" "<=" 10)"
    printf '| cost of the system CA bundle (`--system-roots` − default) | %.2f ms | (not paid unless asked) | |\n' \
        "$(awk -v a="$sys_med" -v b="$wss_med" 'BEGIN { print a - b }')"
    echo
}

label() {
    case $1 in
        wsprobe_ws) echo "\`wsprobe check ws://127.0.0.1:PORT/\`" ;;
        floor_ws) echo "floor one-check, ws://" ;;
        wsprobe_wss) echo "\`wsprobe check wss://bench.localhost:PORT/ --ca-file ca.pem --resolve …\`" ;;
        floor_wss) echo "floor one-check, wss:// (same CA file)" ;;
        wsprobe_wss_system_roots) echo "the same wss:// check with \`--system-roots\` (loads the system bundle)" ;;
        websocat_ws) echo "\`websocat -E ws://…\`" ;;
    esac
}

write_benchmarks_md() {
    local md="$repo/BENCHMARKS.md" results="$work/results.md"
    if ! grep -q '<!-- results:begin -->' "$md" 2>/dev/null; then
        printf '# Benchmarks\n\nRerun: `bench/run.sh`.\n\n<!-- results:begin -->\n<!-- results:end -->\n' >"$md"
    fi
    awk -v results="$results" '
        /<!-- results:begin -->/ { print; while ((getline l < results) > 0) print l; skip = 1; next }
        /<!-- results:end -->/ { skip = 0 }
        !skip' "$md" >"$work/BENCHMARKS.md"
    cp "$work/BENCHMARKS.md" "$md"
    say "wrote $md"
}

# ---------------------------------------------------------------- main
install_tools
build
start_target
measure_start=$(date +%s)

if [[ $PARTS == *[12]* ]]; then
    start_blackbox
    : >"$work/engine.txt"
    : >"$work/oneshot.txt"
    for round in $(seq "$ROUNDS"); do
        say "round $round/$ROUNDS: engine (wsprobe and floor, interleaved)"
        for scheme in ws wss; do
            url=$ws_url
            extra=()
            [ "$scheme" = wss ] && url=$wss_url && extra=("${wss_args[@]}")
            for conc in 1 "$CONC"; do
                n=$SEQ_N
                [ "$conc" != 1 ] && n=$CONC_N
                client "$round" wsprobe "$url" "$n" "$conc" "${extra[@]}"
                client "$round" floor "$url" "$n" "$conc" "${extra[@]}"
            done
        done
        say "round $round/$ROUNDS: blackbox_exporter under wrk"
        blackbox_load "$round" ws "127.0.0.1:$ws_port"
        blackbox_load "$round" wss "127.0.0.1:$wss_port"
        say "round $round/$ROUNDS: one-shot CLI under hyperfine"
        oneshot "$round"
    done
    bb_hwm=$(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$bb_pid/status")
fi
: >"$work/daemon.txt"
[[ $PARTS == *3* ]] && part3
[[ $PARTS == *4* ]] && part4
measured_s=$(( $(date +%s) - measure_start ))

table | tee "$work/results.md"
[ "$PARTS" = 1234 ] && [ -z "${NO_WRITE:-}" ] && write_benchmarks_md
exit 0
