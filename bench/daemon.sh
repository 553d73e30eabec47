# shellcheck shell=bash disable=SC2154  # work, ws_port, target_pid: set by run.sh
# wsprobe benchmarks, issue 6 parts 3 and 4: the daemon (`wsprobe run`) at scale.
# Sourced by bench/run.sh, which provides $work, $ws_port, $target_pid, pids,
# say, die, cpu_ticks and verdict.
#
# Every daemon here runs a generated monitors.yaml against the local bench
# target (ws://, so the figures are the daemon's, not TLS's), with its own
# SQLite state file under $work. Results are read back from that file after a
# graceful stop (SIGTERM): one row per run with `at` (end of the run) and `ok`.
# Schedule lag comes from the daemon's own debug line `check starting`
# (lag_ms = actual start − planned start, planned start including the
# monitor's jitter offset), logged as JSON to a file; only part 3's main run
# logs it, so the scaling curve shows what that logging costs.

# Knobs: DAEMON_N (10000), DAEMON_SECONDS (60, the steady window), HOLD_N
# (2000), CURVE_SECONDS (30), CURVE_NS ("100 1000 10000").
DAEMON_N=${DAEMON_N:-10000}
DAEMON_SECONDS=${DAEMON_SECONDS:-60}
HOLD_N=${HOLD_N:-2000}
CURVE_SECONDS=${CURVE_SECONDS:-30}
CURVE_NS=${CURVE_NS:-"100 1000 10000"}
# Every monitor runs every 10 s; a stable per-monitor offset in [0, JITTER)
# spreads them, so the first full sweep ends about JITTER after start.
JITTER_S=10
WARMUP_S=$((JITTER_S + 3))

# daemon_config FILE N CONCURRENCY SCHEDULE JITTER [DEFAULTS_LINE…]
daemon_config() {
    daemon_config_unchecked "$@"
    "$work/bin/wsprobe" validate --config "$1" >/dev/null || die "generated config $1 is invalid"
}

# daemon_config without the validation (for a caller that handles a refusal).
daemon_config_unchecked() {
    local file=$1 n=$2 concurrency=$3 schedule=$4 jitter=$5
    shift 5
    {
        echo "settings:"
        echo "  concurrency: $concurrency"
        echo "  jitter: $jitter"
        echo "  shutdown_grace: 5s"
        echo "defaults:"
        echo "  schedule: \"$schedule\""
        # No retries: a failed attempt is a failed check, never hidden by a retry.
        echo "  retries: 0"
        echo "  timeout: 5s"
        local line
        for line in "$@"; do echo "  $line"; done
        echo "monitors:"
        awk -v n="$n" -v port="$ws_port" 'BEGIN {
            for (i = 0; i < n; i++) printf "  - { name: m%05d, url: \"ws://127.0.0.1:%d/m%d\" }\n", i, port, i }'
    } >"$file"
}

kib() { awk -v k="$2" '$1 == k ":" { print $2 }' "/proc/$1/status"; }
now_s() { date +%s.%N; }
iso_us() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.%6NZ; }
us() { awk -v t="$1" 'BEGIN { printf "%.0f", t * 1e6 }'; }

# Start a daemon on CONFIG with RUST_LOG=FILTER; sets daemon_pid, daemon_db,
# daemon_log and daemon_t0 (just before exec).
daemon_start() {
    local name=$1 config=$2 filter=$3
    daemon_db="$work/$name.db"
    daemon_log="$work/$name.log"
    rm -f "$daemon_db" "$daemon_db"-*
    daemon_t0=$(now_s)
    RUST_LOG=$filter "$work/bin/wsprobe" run --config "$config" --state "$daemon_db" \
        --log-format json 2>"$daemon_log" &
    daemon_pid=$!
    pids+=("$daemon_pid")
}

daemon_stop() { stop_gracefully "$daemon_pid" "$daemon_log"; }

# SIGTERM the daemon PID (logging to LOG) and wait ≤ 30 s for a clean exit.
stop_gracefully() {
    local pid=$1 log=$2
    kill -0 "$pid" 2>/dev/null || die "the daemon died early: $(tail -3 "$log")"
    kill -TERM "$pid"
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && die "the daemon did not stop within 30 s of SIGTERM"
    wait "$pid" || die "the daemon exited with status $?: $(tail -3 "$log")"
}

# Facts from the state file of a stopped daemon, as key=value words:
# runs, failed, monitors_seen, first_sweep_s, steady_runs (runs that ended
# in [T1, T2)), failures (class:count,…).
daemon_results() {
    local db=$1 t0=$2 t1=$3 t2=$4
    sqlite3 -separator ' ' "$db" "
        SELECT 'runs=' || COUNT(*), 'failed=' || COALESCE(SUM(ok = 0), 0) FROM result;
        SELECT 'monitors_seen=' || COUNT(*),
               'first_sweep_s=' || printf('%.2f', (MAX(first) - $(us "$t0")) / 1e6)
        FROM (SELECT MIN(at) AS first FROM result GROUP BY monitor);
        SELECT 'steady_runs=' || COUNT(*) FROM result WHERE at >= $(us "$t1") AND at < $(us "$t2");
        SELECT 'failures=' || COALESCE(GROUP_CONCAT(class || ':' || n), 'none')
        FROM (SELECT class, COUNT(*) AS n FROM result WHERE ok = 0 GROUP BY class);" | tr '\n' ' '
}

# Lag percentiles (ms) of the `check starting` lines logged in [T1, T2), and
# the largest lag of the whole run (start-up included).
lag_stats() {
    local log=$1 from to
    from=$(iso_us "$2")
    to=$(iso_us "$3")
    awk -v from="$from" -v to="$to" '
        /"check starting"/ {
            if (!match($0, /"lag_ms":[-0-9.eE+]+/)) next
            lag = substr($0, RSTART + 9, RLENGTH - 9) + 0
            if (lag > all_max) all_max = lag
            if (!match($0, /"timestamp":"[^"]+"/)) next
            ts = substr($0, RSTART + 13, RLENGTH - 14)
            if (ts >= from && ts < to) print lag
        }
        END { printf "%.3f\n", all_max > "/dev/stderr" }' "$log" 2>"$work/lag_all_max" |
        sort -g >"$work/lags"
    awk -v all_max="$(cat "$work/lag_all_max")" '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "lag_n=0"; exit }
            p50 = v[int(0.50 * (NR - 1)) + 1]; p99 = v[int(0.99 * (NR - 1)) + 1]
            printf "lag_n=%d lag_p50_ms=%.3f lag_p99_ms=%.3f lag_max_ms=%.3f lag_max_all_ms=%.3f\n",
                NR, p50, p99, v[NR], all_max
        }' "$work/lags"
}

# One steady-state measurement of N monitors every 10 s; appends a DAEMON line.
# Waits WARMUP_S (the first sweep), then measures over STEADY seconds.
daemon_scale() {
    local label=$1 n=$2 steady=$3 filter=$4
    local config="$work/$label.yaml"
    daemon_config "$config" "$n" 1000 "@every 10s" "${JITTER_S}s"
    daemon_start "$label" "$config" "$filter"
    sleep "$WARMUP_S"
    kill -0 "$daemon_pid" 2>/dev/null || die "the daemon died: $(tail -3 "$daemon_log")"
    local c1 c2 tc1 tc2 t1 t2 hwm rss threads
    c1=$(cpu_ticks "$daemon_pid")
    tc1=$(cpu_ticks "$target_pid")
    t1=$(now_s)
    # Sample the sockets the daemon holds twice a second: one per check in
    # flight (peaks explain RSS peaks: each check in flight holds its buffers).
    local end in_flight=0 s
    end=$(awk -v t="$t1" -v d="$steady" 'BEGIN { printf "%.3f", t + d }')
    while awk -v n="$(now_s)" -v e="$end" 'BEGIN { exit !(n < e - 0.5) }'; do
        s=$(sockets "$daemon_pid")
        [ "$s" -gt "$in_flight" ] && in_flight=$s
        sleep 0.5
    done
    sleep "$(awk -v n="$(now_s)" -v e="$end" 'BEGIN { d = e - n; printf "%.3f", (d > 0 ? d : 0) }')"
    c2=$(cpu_ticks "$daemon_pid")
    tc2=$(cpu_ticks "$target_pid")
    t2=$(now_s)
    hwm=$(kib "$daemon_pid" VmHWM)
    rss=$(kib "$daemon_pid" VmRSS)
    threads=$(kib "$daemon_pid" Threads)
    daemon_stop
    local facts lag=""
    facts=$(daemon_results "$daemon_db" "$daemon_t0" "$t1" "$t2")
    [[ $filter == *debug* ]] && lag=$(lag_stats "$daemon_log" "$t1" "$t2")
    local line
    line=$(awk -v l="$label" -v n="$n" -v c1="$c1" -v c2="$c2" -v tc1="$tc1" -v tc2="$tc2" \
        -v t1="$t1" -v t2="$t2" -v hz="$(getconf CLK_TCK)" -v hwm="$hwm" -v rss="$rss" \
        -v th="$threads" -v fl="$in_flight" -v facts="$facts" -v lag="$lag" 'BEGIN {
            wall = t2 - t1
            split(facts, f, " "); for (i in f) { split(f[i], kv, "="); F[kv[1]] = kv[2] }
            cores = (c2 - c1) / hz / wall; rate = F["steady_runs"] / wall
            printf "DAEMON label=%s n=%d wall_s=%.1f checks_per_s=%.1f cpu_cores=%.3f cpu_us_per_check=%.1f target_cpu_cores=%.3f hwm_mib=%.1f rss_mib=%.1f threads=%d max_sockets=%d %s %s\n",
                l, n, wall, rate, cores, (rate > 0 ? cores * 1e6 / rate : 0), (tc2 - tc1) / hz / wall,
                hwm / 1024, rss / 1024, th, fl, facts, lag }')
    echo "$line" >>"$work/daemon.txt"
    echo "  $line" >&2
}

# Sockets the daemon holds (every check is one TCP connection).
# (An fd closed while find lists them is an error for find: ignored.)
sockets() { { find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null || true; } | wc -l; }

# HOLD_N monitors, once each (every 10 min), all within 2 s: RSS while each
# holds its connection for 30 s, against the same daemon whose checks do not
# hold. Appends a HOLD line.
daemon_hold() {
    local at=10 config
    local -A rss_at sockets_at
    local mode
    for mode in nohold hold; do
        config="$work/$mode.yaml"
        if [ "$mode" = hold ]; then
            daemon_config "$config" "$HOLD_N" $((HOLD_N + 64)) "@every 10m" 2s "hold: 30s"
        else
            daemon_config "$config" "$HOLD_N" $((HOLD_N + 64)) "@every 10m" 2s
        fi
        daemon_start "$mode" "$config" info
        sleep "$at"
        rss_at[$mode]=$(kib "$daemon_pid" VmRSS)
        sockets_at[$mode]=$(sockets "$daemon_pid")
        if [ "$mode" = hold ]; then
            # Let every hold finish, so each run's result says it held cleanly.
            sleep $((30 + 2 + 3 - at))
        fi
        daemon_stop
        local facts
        facts=$(daemon_results "$daemon_db" "$daemon_t0" 0 0)
        echo "  $mode: VmRSS at ${at}s $((rss_at[$mode] / 1024)) MiB, ${sockets_at[$mode]} sockets; $facts" >&2
        [ "$mode" = hold ] && hold_facts=$facts
    done
    local line
    line=$(awk -v n="$HOLD_N" -v r0="${rss_at[nohold]}" -v r1="${rss_at[hold]}" \
        -v s0="${sockets_at[nohold]}" -v s1="${sockets_at[hold]}" -v facts="$hold_facts" 'BEGIN {
            held = s1 - s0
            printf "HOLD n=%d held=%d rss_nohold_mib=%.1f rss_hold_mib=%.1f kib_per_connection=%.1f %s\n",
                n, held, r0 / 1024, r1 / 1024, (held > 0 ? (r1 - r0) / held : 0), facts }')
    echo "$line" >>"$work/daemon.txt"
    echo "  $line" >&2
}

part3() {
    say "part 3: $DAEMON_N monitors every 10 s, ${DAEMON_SECONDS} s steady (lag logged at debug)"
    daemon_scale scale "$DAEMON_N" "$DAEMON_SECONDS" "info,wsprobe::daemon::monitor_loop=debug"
    say "part 3: $HOLD_N monitors holding their connection for 30 s"
    daemon_hold
}

part4() {
    local n
    for n in $CURVE_NS; do
        say "part 4: $n monitors every 10 s, ${CURVE_SECONDS} s steady (info logs)"
        daemon_scale "curve$n" "$n" "$CURVE_SECONDS" info
    done
}

# field FILE LINE_FILTER KEY: KEY's value on the first line matching the filter.
field() {
    awk -v filter="$2" -v key="$3" '
        index($0, filter) {
            for (i = 1; i <= NF; i++) { split($i, p, "="); if (p[1] == key) { print p[2]; exit } }
        }' "$1"
}

# fig TAG KEY: KEY's value on the daemon results line containing TAG.
fig() { field "$work/daemon.txt" "$1" "$2"; }

daemon_tables() {
    local d="$work/daemon.txt" s="label=scale "
    if grep -q "label=scale " "$d"; then
        echo "#### 3. Daemon scale (\`wsprobe run\`, release, against the local target)"
        echo
        echo "$(fig "$s" n) monitors, \`@every 10s\`, jitter ${JITTER_S}s, concurrency 1000, retries 0;" \
            "steady window of $(fig "$s" wall_s) s starting ${WARMUP_S} s after start; one run."
        echo
        echo "| figure | measured | target | verdict |"
        echo "|---|---|---|---|"
        local due
        due=$(awk -v n="$(fig "$s" n)" 'BEGIN { print n / 10 }')
        echo "| checks/s sustained (runs ended in the window ÷ window) | $(fig "$s" checks_per_s) | ≥ 0.99 × $due (N ÷ 10 s; fewer means skipped fires) | $(verdict "$(fig "$s" checks_per_s)" ">=" "$(awk -v d="$due" 'BEGIN { print 0.99 * d }')") |"
        echo "| failed checks (whole run: $(fig "$s" runs) runs) | $(fig "$s" failed) ($(fig "$s" failures)) | 0 | $(verdict "$(fig "$s" failed)" "<=" 0) |"
        echo "| schedule lag p50 (actual − planned start, $(fig "$s" lag_n) starts) | $(fig "$s" lag_p50_ms) ms | | |"
        echo "| schedule lag p99 | $(fig "$s" lag_p99_ms) ms | ≤ 50 ms | $(verdict "$(fig "$s" lag_p99_ms)" "<=" 50) |"
        echo "| schedule lag max (window / whole run incl. start-up) | $(fig "$s" lag_max_ms) / $(fig "$s" lag_max_all_ms) ms | | |"
        echo "| daemon CPU (utime+stime ÷ wall, all threads) | $(fig "$s" cpu_cores) core ($(fig "$s" cpu_us_per_check) µs per check) | ≤ 0.6 core | $(verdict "$(fig "$s" cpu_cores)" "<=" 0.6) |"
        echo "| peak RSS (VmHWM) | $(fig "$s" hwm_mib) MiB ($(awk -v m="$(fig "$s" hwm_mib)" 'BEGIN { printf "%.1f", m * 1.048576 }') MB) | ≤ 100 MB | $(verdict "$(awk -v m="$(fig "$s" hwm_mib)" 'BEGIN { print m * 1.048576 }')" "<=" 100) |"
        echo "| first full sweep (process start → every monitor has a result) | $(fig "$s" first_sweep_s) s | (≈ jitter) | |"
        echo "| most sockets open at once (sampled twice a second ≈ checks in flight) | $(fig "$s" max_sockets) | | |"
        echo "| daemon threads at the end | $(fig "$s" threads) | | |"
        echo "| bench target CPU in the window (current-thread runtime) | $(fig "$s" target_cpu_cores) core | (not the bottleneck) | |"
        echo
        echo "Held connections: $(fig "HOLD " n) monitors with \`hold: 30s\` started within 2 s; VmRSS 10 s after" \
            "start, $(fig "HOLD " held) connections open: $(fig "HOLD " rss_hold_mib) MiB, against $(fig "HOLD " rss_nohold_mib) MiB for" \
            "the same monitors without \`hold\`. Failed: $(fig "HOLD " failed) of $(fig "HOLD " runs)."
        echo
        echo "| figure | measured | target | verdict |"
        echo "|---|---|---|---|"
        echo "| RSS per held connection ((hold − no hold) ÷ connections) | $(fig "HOLD " kib_per_connection) KiB ($(awk -v k="$(fig "HOLD " kib_per_connection)" 'BEGIN { printf "%.1f", k * 1.024 }') KB) | ≤ 16 KB | $(verdict "$(awk -v k="$(fig "HOLD " kib_per_connection)" 'BEGIN { print k * 1.024 }')" "<=" 16) |"
        echo
    fi
    if grep -q "label=curve" "$d"; then
        echo "#### 4. Scaling curve (every monitor every 10 s; info logs, so no per-check log line)"
        echo
        echo "| monitors | checks/s | daemon CPU, cores | µs CPU per check | peak RSS MiB | RSS MiB at the end | KiB RSS per monitor | threads | most sockets open | failed |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        local n
        for n in $CURVE_NS; do
            printf '| %s | %s | %s | %s | %s | %s | %.1f | %s | %s | %s |\n' "$n" "$(fig "label=curve$n " checks_per_s)" \
                "$(fig "label=curve$n " cpu_cores)" "$(fig "label=curve$n " cpu_us_per_check)" "$(fig "label=curve$n " hwm_mib)" "$(fig "label=curve$n " rss_mib)" \
                "$(awk -v r="$(fig "label=curve$n " rss_mib)" -v n="$n" 'BEGIN { print r * 1024 / n }')" "$(fig "label=curve$n " threads)" \
                "$(fig "label=curve$n " max_sockets)" "$(fig "label=curve$n " failed)"
        done
        echo
    fi
}
