#!/usr/bin/env bash
# wsprobe cluster benchmark, issue 11: CLUSTER_N monitors `@every 60s` split
# across 1, 2 and 4 `wsprobe run` instances on one throwaway local
# PostgreSQL, each beside an embedded (SQLite) instance doing one instance's
# share; then kill -9 of one instance and how long its monitors take to be
# checked again by the others. Prints a table; writes nothing in the repo.
#
#   bench/cluster.sh                                   # ≈ 20 min when built
#   CLUSTER_N=20000 CLUSTER_SECONDS=30 bench/cluster.sh  # a quick look
#
# Knobs (environment): CLUSTER_N (100000), CLUSTER_COUNTS ("1 2 4"),
# CLUSTER_SECONDS (60, the steady window), CLUSTER_WARMUP (75 s: the 60 s
# jitter spreading the first sweep, plus start-up), CLUSTER_CONCURRENCY
# (1000), NO_EMBEDDED=1 (skip the SQLite baselines), NO_INSTALL=1.
#
# Everything listens on 127.0.0.1 only; PostgreSQL gets its own data dir
# and a free port and is stopped on exit, failure included, as is every
# process started here.
set -Eeuo pipefail
trap 'printf "bench: line %s: %s failed (exit %s)\n" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR

CLUSTER_N=${CLUSTER_N:-100000}
CLUSTER_COUNTS=${CLUSTER_COUNTS:-"1 2 4"}
CLUSTER_SECONDS=${CLUSTER_SECONDS:-60}
CLUSTER_WARMUP=${CLUSTER_WARMUP:-75}
CLUSTER_CONCURRENCY=${CLUSTER_CONCURRENCY:-1000}
PERIOD_S=60
# The built-in lease (settings.cluster.lease): an instance silent this long is lost.
LEASE_S=10
TAKEOVER_TARGET_S=$((2 * PERIOD_S + LEASE_S))
# `check starting` (with lag_ms) is a debug line of the monitor loop.
LAG_FILTER="info,wsprobe::daemon::monitor_loop=debug"
HZ=$(getconf CLK_TCK)

# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
# shellcheck source=bench/daemon.sh
source "$(dirname "$0")/daemon.sh"
# shellcheck source=bench/pg.sh
source "$(dirname "$0")/pg.sh"

results="$work/cluster.txt"
: >"$results"

# measure_window SECONDS NAME=PID…: sleep through the window; sets win_t1,
# win_t2 and, per NAME, cores[NAME] (utime+stime ÷ wall; NAME postgres:
# every process of the server) and hwm_mib[NAME] (VmHWM at the end).
declare -A cores hwm_mib
measure_window() {
    local seconds=$1
    shift
    local -A before
    local spec
    for spec in "$@"; do before[${spec%%=*}]=$(proc_ticks "${spec%%=*}" "${spec#*=}"); done
    win_t1=$(now_s)
    sleep "$seconds"
    win_t2=$(now_s)
    local name pid after
    for spec in "$@"; do
        name=${spec%%=*}
        pid=${spec#*=}
        kill -0 "$pid" 2>/dev/null || die "$name died in the window (see $work/$name.log)"
        after=$(proc_ticks "$name" "$pid")
        cores[$name]=$(awk -v a="${before[$name]}" -v b="$after" -v hz="$HZ" -v t1="$win_t1" -v t2="$win_t2" \
            'BEGIN { printf "%.3f", (b - a) / hz / (t2 - t1) }')
        [ "$name" = postgres ] && continue
        hwm_mib[$name]=$(awk -v k="$(kib "$pid" VmHWM)" 'BEGIN { printf "%.1f", k / 1024 }')
    done
}

proc_ticks() { if [ "$1" = postgres ]; then pg_cpu_ticks; else cpu_ticks "$2"; fi; }

# Starts logged in [win_t1, win_t2) by LOG…, as key=value words (lag_n, lag_p50_ms…).
window_lag() {
    cat "$@" >"$work/merged.log"
    lag_stats "$work/merged.log" "$win_t1" "$win_t2"
}

load_average() { awk '{ print $1 "/" $2 "/" $3 }' /proc/loadavg; }

# One embedded instance (its own SQLite file) with SHARE monitors: the
# cost a cluster member's share would have alone. Appends an EMBEDDED line.
embedded_run() {
    local share=$1 label="embedded$1"
    say "embedded: $share monitors @every ${PERIOD_S}s on SQLite, ${CLUSTER_SECONDS} s steady"
    daemon_config "$work/$label.yaml" "$share" "$CLUSTER_CONCURRENCY" "@every ${PERIOD_S}s" "${PERIOD_S}s"
    daemon_start "$label" "$work/$label.yaml" "$LAG_FILTER"
    sleep "$CLUSTER_WARMUP"
    measure_window "$CLUSTER_SECONDS" "$label=$daemon_pid" "target=$target_pid"
    local load lag facts
    load=$(load_average)
    daemon_stop
    lag=$(window_lag "$daemon_log")
    facts=$(daemon_results "$daemon_db" "$daemon_t0" "$win_t1" "$win_t2")
    echo "EMBEDDED share=$share cores=${cores[$label]} hwm_mib=${hwm_mib[$label]} target_cores=${cores[target]} load=$load $(rate_words "$facts") $facts $lag" |
        tee -a "$results" | sed 's/^/  /' >&2
}

# checks_per_s from the steady_runs in FACTS (daemon_results) and the window.
rate_words() {
    awk -v facts="$1" -v t1="$win_t1" -v t2="$win_t2" 'BEGIN {
        split(facts, f, " "); for (i in f) { split(f[i], kv, "="); F[kv[1]] = kv[2] }
        printf "checks_per_s=%.1f", F["steady_runs"] / (t2 - t1) }'
}

# Start cluster member NAME on CONFIG against $pg_url; sets member_pid[NAME]
# and member_port[NAME].
declare -A member_pid member_port
member_start() {
    local name=$1 config=$2 port
    free_port port
    RUST_LOG=$LAG_FILTER "$work/bin/wsprobe" run --config "$config" --state "$pg_url" \
        --instance "$name" --listen "127.0.0.1:$port" --log-format json 2>"$work/$name.log" &
    pids+=($!)
    member_pid[$name]=$!
    member_port[$name]=$port
}

# Wait (≤ 120 s) until member NAME answers /readyz with 200.
member_ready() {
    local name=$1 i
    for i in $(seq 240); do
        curl -sf "http://127.0.0.1:${member_port[$name]}/readyz" >/dev/null 2>&1 && return
        kill -0 "${member_pid[$name]}" 2>/dev/null || die "$name died: $(tail -3 "$work/$name.log")"
        sleep 0.5
    done
    die "$name not ready within 120 s: $(tail -3 "$work/$name.log")"
}

# Kill -9 member VICTIM and wait until every monitor it owned has a result
# written after its death (by a survivor: the victim is gone), or until the
# target plus 30 s. Sets takeover_words.
takeover() {
    local victim=$1 lost="$work/lost.txt" after="$work/after.txt"
    curl -sf "http://127.0.0.1:${member_port[$victim]}/api/cluster" |
        jq -r --arg me "$victim" '.instances[] | select(.name == $me) | .owned_monitors[]' >"$lost"
    local lost_n death death_us deadline covered=0
    lost_n=$(wc -l <"$lost")
    [ "$lost_n" -gt 0 ] || die "$victim owns no monitor before its kill"
    say "kill -9 $victim (owns $lost_n monitors); waiting for the survivors to check them"
    death=$(now_s)
    kill -9 "${member_pid[$victim]}"
    wait "${member_pid[$victim]}" 2>/dev/null || true
    death_us=$(us "$death")
    deadline=$(awk -v d="$death" -v t="$TAKEOVER_TARGET_S" 'BEGIN { printf "%.0f", d + t + 30 }')
    while [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 5
        pg_query "SELECT monitor, MIN(at) FROM result WHERE at > $death_us GROUP BY monitor" >"$after"
        covered=$(awk -F'|' 'NR == FNR { lost[$1] = 1; next } ($1 in lost) { n++ } END { print n + 0 }' "$lost" "$after")
        [ "$covered" -ge "$lost_n" ] && break
    done
    # Per lost monitor: its first result after the death − the death, in s
    # (sorted by sort(1): tens of thousands of values).
    awk -F'|' -v d="$death_us" 'NR == FNR { lost[$1] = 1; next } ($1 in lost) { print ($2 - d) / 1e6 }' \
        "$lost" "$after" | sort -g >"$work/takeover_s"
    takeover_words=$(awk -v lost_n="$lost_n" '
        { v[++n] = $1 }
        END {
            if (n == 0) { printf "lost=%d taken=0", lost_n; exit }
            printf "lost=%d taken=%d takeover_first_s=%.1f takeover_p50_s=%.1f takeover_max_s=%.1f",
                lost_n, n, v[1], v[int(0.5 * (n - 1)) + 1], v[n] }' "$work/takeover_s")
    echo "  $takeover_words" >&2
}

# K members on database benchK, CLUSTER_N monitors between them. Appends a
# CLUSTER line and one MEMBER line per member.
cluster_run() {
    local k=$1 config="$work/cluster.yaml" name i
    say "cluster: $CLUSTER_N monitors @every ${PERIOD_S}s on $k instance(s), ${CLUSTER_SECONDS} s steady"
    pg_create_database "bench$k"
    pg_url=$(pg_url_of "bench$k")
    local names=()
    for i in $(seq "$k"); do
        name="c${k}i$i"
        names+=("$name")
        member_start "$name" "$config"
    done
    for name in "${names[@]}"; do member_ready "$name"; done
    sleep "$CLUSTER_WARMUP"
    local specs=("postgres=$pg_pid" "target=$target_pid") size1 wal1 size2 wal2
    for name in "${names[@]}"; do specs+=("$name=${member_pid[$name]}"); done
    size1=$(pg_query "SELECT pg_database_size('bench$k')")
    wal1=$(pg_query "SELECT pg_current_wal_lsn()")
    measure_window "$CLUSTER_SECONDS" "${specs[@]}"
    size2=$(pg_query "SELECT pg_database_size('bench$k')")
    wal2=$(pg_query "SELECT pg_wal_lsn_diff('$(pg_query "SELECT pg_current_wal_lsn()")', '$wal1')")
    local load steady
    load=$(load_average)
    steady=$(pg_query "SELECT COUNT(*) FROM result WHERE at >= $(us "$win_t1") AND at < $(us "$win_t2")")
    local logs=() lag
    for name in "${names[@]}"; do
        logs+=("$work/$name.log")
        lag=$(window_lag "$work/$name.log")
        echo "MEMBER k=$k name=$name cores=${cores[$name]} hwm_mib=${hwm_mib[$name]} $lag" |
            tee -a "$results" | sed 's/^/  /' >&2
    done
    lag=$(window_lag "${logs[@]}")
    takeover_words=""
    [ "$k" -ge 2 ] && takeover "${names[-1]}"
    for name in "${names[@]}"; do
        kill -0 "${member_pid[$name]}" 2>/dev/null || continue
        stop_gracefully "${member_pid[$name]}" "$work/$name.log"
    done
    local runs failed failures
    runs=$(pg_query "SELECT COUNT(*) FROM result")
    failed=$(pg_query "SELECT COUNT(*) FROM result WHERE NOT ok")
    failures=$(pg_query "SELECT COALESCE(string_agg(class || ':' || n, ','), 'none') FROM (SELECT class, COUNT(*) AS n FROM result WHERE NOT ok GROUP BY class) f")
    # The figures are read; the rows need not stay on the disk (≈ 1.5 KB a run).
    pg_drop_database "bench$k"
    awk -v k="$k" -v n="$CLUSTER_N" -v steady="$steady" -v t1="$win_t1" -v t2="$win_t2" \
        -v pg="${cores[postgres]}" -v tc="${cores[target]}" -v s1="$size1" -v s2="$size2" -v wal="$wal2" -v load="$load" \
        -v runs="$runs" -v failed="$failed" -v failures="$failures" -v lag="$lag" -v tk="$takeover_words" 'BEGIN {
            rate = steady / (t2 - t1)
            printf "CLUSTER k=%d n=%d checks_per_s=%.1f steady_runs=%d runs=%d failed=%d failures=%s pg_cores=%.3f pg_us_per_check=%.1f target_cores=%.3f db_bytes_per_run=%.0f wal_bytes_per_run=%.0f load=%s %s %s\n",
                k, n, rate, steady, runs, failed, failures, pg, (rate > 0 ? pg * 1e6 / rate : 0), tc,
                (steady > 0 ? (s2 - s1) / steady : 0), (steady > 0 ? wal / steady : 0), load, lag, tk }' |
        tee -a "$results" | sed 's/^/  /' >&2
}

# Lower CLUSTER_N, in steps of 1,000, to the most monitors whose file the
# loader takes, saying so: it refuses a YAML document past its parser's node
# budget (serde-saphyr's default, 250,000 nodes; a `{ name, url }` monitor
# is 5), so 100,000 monitors do not fit in one monitors.yaml. Sets
# requested_n and refusal (empty when CLUSTER_N fits).
fit_monitors() {
    local file="$work/fit.yaml" lo=0 hi=$((CLUSTER_N / 1000)) mid
    requested_n=$CLUSTER_N
    refusal=""
    daemon_config_unchecked "$file" "$CLUSTER_N" "$CLUSTER_CONCURRENCY" "@every ${PERIOD_S}s" "${PERIOD_S}s"
    refusal=$("$work/bin/wsprobe" validate --config "$file" 2>&1 >/dev/null | head -1) && return
    while [ $((hi - lo)) -gt 1 ]; do
        mid=$(((lo + hi) / 2))
        daemon_config_unchecked "$file" $((mid * 1000)) "$CLUSTER_CONCURRENCY" "@every ${PERIOD_S}s" "${PERIOD_S}s"
        if "$work/bin/wsprobe" validate --config "$file" >/dev/null 2>&1; then lo=$mid; else hi=$mid; fi
    done
    [ "$lo" -gt 0 ] || die "no monitors.yaml of 1,000 monitors or more is accepted: $refusal"
    CLUSTER_N=$((lo * 1000))
    say "wsprobe refuses a monitors.yaml of $requested_n monitors (${refusal#"$work"/}); measuring $CLUSTER_N, the most it takes"
}

# ---------------------------------------------------------------- report
# cfig K KEY / efig SHARE KEY / mfig K KEY (mean over K's members) / mmax.
cfig() { field "$results" "CLUSTER k=$1 " "$2"; }
efig() { field "$results" "EMBEDDED share=$1 " "$2"; }
member_stat() { # K KEY FN(mean|max)
    awk -v k="k=$1" -v key="$2" -v fn="$3" '
        $1 == "MEMBER" && $2 == k {
            for (i = 1; i <= NF; i++) { split($i, p, "="); if (p[1] == key) { v = p[2] + 0; s += v; n++; if (v > m) m = v } }
        }
        END { if (n == 0) print "nan"; else if (fn == "max") printf "%.3f", m; else printf "%.3f", s / n }' "$results"
}

# µs of CPU per check of K's average member (its starts in the window are its checks).
member_us_per_check() {
    local k=$1 cores starts
    cores=$(member_stat "$k" cores mean)
    starts=$(member_stat "$k" lag_n mean)
    awk -v c="$cores" -v s="$starts" -v w="$CLUSTER_SECONDS" 'BEGIN { printf "%.1f", (s > 0 ? c * 1e6 / (s / w) : 0) }'
}

embedded_us_per_check() {
    awk -v c="$(efig "$1" cores)" -v r="$(efig "$1" checks_per_s)" 'BEGIN { printf "%.1f", (r > 0 ? c * 1e6 / r : 0) }'
}

row() { # LABEL TARGET CELL… : one table row, a cell per instance count
    local label=$1 target=$2 line cell
    shift 2
    line="| $label |"
    for cell in "$@"; do line+=" $cell |"; done
    echo "$line $target |"
}

report() {
    local ks=($CLUSTER_COUNTS) k cells
    echo "### Cluster mode, $(date -u +%Y-%m-%d)"
    echo
    machine_lines
    echo "- $("$pg_bin/postgres" --version) (Debian), its own data dir, defaults (fsync on, synchronous_commit on) but listen/port/socket"
    [ -n "$refusal" ] && echo "- **$requested_n monitors were asked for, but \`wsprobe run\` refuses that monitors.yaml** (\`${refusal#"$work"/}\`): measured with $CLUSTER_N, the most it loads (steps of 1,000)"
    echo "- $CLUSTER_N monitors \`@every ${PERIOD_S}s\`, jitter ${PERIOD_S}s, concurrency $CLUSTER_CONCURRENCY, retries 0, against the local bench target (ws://); steady window ${CLUSTER_SECONDS} s starting ${CLUSTER_WARMUP} s after every instance answered /readyz; open-files limit $fd_limit"
    echo
    local header="| figure |" rule="|---|"
    for k in "${ks[@]}"; do header+=" $k instance(s) |"; rule+="---|"; done
    echo "$header target |"
    echo "$rule---|"
    cells=(); for k in "${ks[@]}"; do cells+=("$(cfig "$k" checks_per_s) ($(verdict "$(cfig "$k" checks_per_s)" ">=" "$(awk -v n="$CLUSTER_N" -v p="$PERIOD_S" 'BEGIN { print 0.99 * n / p }')"))"); done
    row "checks/s sustained (runs ended in the window, from the store)" "≥ 0.99 × N ÷ ${PERIOD_S} = $(awk -v n="$CLUSTER_N" -v p="$PERIOD_S" 'BEGIN { printf "%.0f", n / p }')" "${cells[@]}"
    cells=(); for k in "${ks[@]}"; do cells+=("$(cfig "$k" failed) of $(cfig "$k" runs) ($(cfig "$k" failures))"); done
    row "failed runs (whole run)" "0" "${cells[@]}"
    cells=(); for k in "${ks[@]}"; do cells+=("$(cfig "$k" lag_p50_ms) / $(cfig "$k" lag_p99_ms) ($(verdict "$(cfig "$k" lag_p99_ms)" "<=" 100)) / $(cfig "$k" lag_max_ms)"); done
    row "schedule lag p50 / p99 / max, ms (all instances' starts in the window)" "p99 ≤ 100 ms" "${cells[@]}"
    cells=(); for k in "${ks[@]}"; do cells+=("$(member_stat "$k" cores mean) / $(member_stat "$k" cores max)"); done
    row "CPU per instance, cores (mean / max)" "" "${cells[@]}"
    cells=(); for k in "${ks[@]}"; do cells+=("$(member_us_per_check "$k")"); done
    row "µs CPU per check, per instance" "" "${cells[@]}"
    if [ -z "${NO_EMBEDDED:-}" ]; then
        cells=(); for k in "${ks[@]}"; do cells+=("$(embedded_us_per_check $((CLUSTER_N / k))) ($(efig $((CLUSTER_N / k)) cores) core, lag p99 $(efig $((CLUSTER_N / k)) lag_p99_ms) ms)"); done
        row "the same for an embedded (SQLite) instance alone with the share N ÷ k" "" "${cells[@]}"
        local ratio
        cells=(); for k in "${ks[@]}"; do
            ratio=$(awk -v a="$(member_us_per_check "$k")" -v b="$(embedded_us_per_check $((CLUSTER_N / k)))" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
            cells+=("$ratio × ($(verdict "$ratio" "<=" 1.2))")
        done
        row "per-instance cost ÷ embedded, CPU per check" "≤ 1.2 ×" "${cells[@]}"
    fi
    local alone=""
    cells=(); for k in "${ks[@]}"; do
        [ -z "${NO_EMBEDDED:-}" ] && alone=" (embedded $(efig $((CLUSTER_N / k)) hwm_mib))"
        cells+=("$(member_stat "$k" hwm_mib mean) / $(member_stat "$k" hwm_mib max)$alone")
    done
    row "peak RSS per instance, MiB (mean / max)" "" "${cells[@]}"
    cells=(); for k in "${ks[@]}"; do cells+=("$(cfig "$k" pg_cores) ($(cfig "$k" pg_us_per_check) µs per check)"); done
    row "PostgreSQL CPU, cores (every process of the server)" "" "${cells[@]}"
    cells=(); for k in "${ks[@]}"; do cells+=("$(cfig "$k" db_bytes_per_run) / $(cfig "$k" wal_bytes_per_run)"); done
    row "bytes written per run: database growth / WAL" "" "${cells[@]}"
    cells=(); for k in "${ks[@]}"; do
        if [ "$k" -lt 2 ]; then cells+=("—"); continue; fi
        local met
        met=$(verdict "$(cfig "$k" takeover_max_s)" "<=" "$TAKEOVER_TARGET_S")
        # A lost monitor never checked again within the wait misses, whatever the others did.
        [ "$(cfig "$k" taken)" = "$(cfig "$k" lost)" ] || met="**MISSED**"
        cells+=("$(cfig "$k" takeover_max_s) s ($met); $(cfig "$k" taken) of $(cfig "$k" lost) lost monitors checked again, the first after $(cfig "$k" takeover_first_s) s, p50 $(cfig "$k" takeover_p50_s) s")
    done
    row "takeover after kill -9 of one instance: its last monitor's first result after the death − the death (store)" "≤ 2 periods + lease = ${TAKEOVER_TARGET_S} s" "${cells[@]}"
    cells=(); for k in "${ks[@]}"; do cells+=("$(cfig "$k" target_cores)"); done
    row "bench target CPU, cores (one current-thread process)" "(not the bottleneck: < 1)" "${cells[@]}"
    cells=(); for k in "${ks[@]}"; do cells+=("$(cfig "$k" load)"); done
    row "load average 1/5/15 min at the end of the window" "(2 cores)" "${cells[@]}"
    echo
    echo "Run time: $(($(date +%s) - started_at)) s including the build."
}

# ---------------------------------------------------------------- main
install_missing curl jq sqlite3 psql=postgresql-client
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || install_missing initdb=postgresql
build
start_target
pg_start
fit_monitors
daemon_config "$work/cluster.yaml" "$CLUSTER_N" "$CLUSTER_CONCURRENCY" "@every ${PERIOD_S}s" "${PERIOD_S}s"
for k in $CLUSTER_COUNTS; do
    [ -z "${NO_EMBEDDED:-}" ] && embedded_run $((CLUSTER_N / k))
    cluster_run "$k"
done
report
