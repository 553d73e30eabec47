#!/usr/bin/env bash
# wsprobe benchmark, issue 9: memory under hostile peers. Peak RSS of one
# `wsprobe check` against each hostile behaviour of the test fault server, and
# of a daemon (`wsprobe run`) with 64 monitors on those peers, printed beside
# the targets. Prints only; BENCHMARKS.md records the figures by hand.
#
# Knobs: DAEMON_SECONDS (30), MONITORS (64).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DAEMON_SECONDS=${DAEMON_SECONDS:-30}
MONITORS=${MONITORS:-64}
CHECK_TARGET_MB=64
DAEMON_TARGET_MB=64
PYTHON=/usr/bin/python3

die() { echo "hostile.sh: $*" >&2; exit 1; }
[ -x "$PYTHON" ] || die "needs $PYTHON (its resource module measures a child's peak RSS)"

cargo build --release --quiet --bin wsprobe --example hostile_target
wsprobe=target/release/wsprobe
work=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

target/release/examples/hostile_target >"$work/ports" &
pids+=($!)
for _ in $(seq 100); do
    [ "$(wc -l <"$work/ports")" -ge 5 ] && break
    sleep 0.1
done
[ "$(wc -l <"$work/ports")" -ge 5 ] || die "hostile_target did not start"
mapfile -t peers <"$work/ports"

# peak_rss CMD…: runs CMD, prints "KIB EXIT" (ru_maxrss of the child).
peak_rss() {
    "$PYTHON" - "$@" <<'PY'
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)
PY
}

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "ok" : "OVER TARGET") }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "One check (wsprobe check --timeout 5s), peak RSS, target <= $CHECK_TARGET_MB MB:"
printf '  %-12s %-16s %10s  %s\n' peer class "peak RSS" verdict
worst=0
for line in "${peers[@]}"; do
    name=${line%%=*} port=${line#*=}
    url="ws://127.0.0.1:$port/"
    class=$("$wsprobe" check --format json --timeout 5s "$url" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["class"])' || true)
    read -r kib _ < <(peak_rss "$wsprobe" check --timeout 5s "$url")
    [ "$kib" -gt "$worst" ] && worst=$kib
    printf '  %-12s %-16s %7s MB  %s\n' "$name" "$class" "$(mb "$kib")" "$(verdict "$(mb "$kib")" $CHECK_TARGET_MB)"
done

config="$work/monitors.yaml"
{
    echo "settings: { concurrency: $MONITORS, jitter: 1s, shutdown_grace: 5s, state: $work/state.db }"
    echo 'defaults: { schedule: "@every 1s", timeout: 5s, retries: 0, proxy: none }'
    echo "monitors:"
    for i in $(seq 0 $((MONITORS - 1))); do
        line=${peers[$((i % ${#peers[@]}))]}
        echo "  - { name: m$i-${line%%=*}, url: \"ws://127.0.0.1:${line#*=}/m$i\" }"
    done
} >"$config"
"$wsprobe" validate --config "$config" >/dev/null || die "generated config is invalid"
"$wsprobe" run --config "$config" >"$work/daemon.log" 2>&1 &
daemon=$!
pids+=("$daemon")
sleep "$DAEMON_SECONDS"
hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$daemon/status")
kill -TERM "$daemon"
wait "$daemon" || true
runs=$("$PYTHON" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(", ".join(f"{n} {k}" for k,n in c.execute("select class, count(*) from result group by class order by 2 desc")))' "$work/state.db")
echo
echo "Daemon: $MONITORS monitors on those peers, @every 1s, ${DAEMON_SECONDS}s; target <= $DAEMON_TARGET_MB MB:"
echo "  runs:     $runs"
echo "  peak RSS: $(mb "$hwm") MB  $(verdict "$(mb "$hwm")" $DAEMON_TARGET_MB)"
echo "  worst single check: $(mb "$worst") MB"
