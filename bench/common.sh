# Pieces every benchmark script shares: the work dir and the processes to
# stop on exit, the release build, the local target, free ports, CPU ticks.
# Sourced (by run.sh and cluster.sh) after `set -Eeuo pipefail`; sets
# repo, work, pids and started_at.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/wsprobe-bench.XXXXXX")
pids=()
# Commands run on exit before the processes are killed (e.g. stopping a
# database server), each as one string for eval.
exit_hooks=()
started_at=$(date +%s)

cleanup() {
    local hook pid
    for hook in "${exit_hooks[@]}"; do
        eval "$hook" || true
    done
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Thousands of monitors and held connections need more descriptors than the
# usual soft limit of 1024 (the daemon and the target each hold one per open
# connection): raise it to the hard limit, or to 65536 as root.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fd_limit=$(ulimit -n)

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# apt-get install the packages whose command is missing; each argument is
# COMMAND or COMMAND=PACKAGE.
install_missing() {
    local missing=() want
    for want in "$@"; do
        command -v "${want%%=*}" >/dev/null || missing+=("${want#*=}")
    done
    [ ${#missing[@]} -eq 0 ] && return
    [ -n "${NO_INSTALL:-}" ] && die "missing: ${missing[*]} (NO_INSTALL is set)"
    say "installing ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() {
    say "building release binaries"
    local target_dir=${CARGO_TARGET_DIR:-$repo/target}
    mkdir -p "$work/bin"
    # The CLI alone first, with the features it ships with; then the examples
    # (their dev-dependencies turn on tungstenite's handshake for the floor).
    (cd "$repo" && cargo build --release --quiet --bin wsprobe)
    cp "$target_dir/release/wsprobe" "$work/bin/"
    (cd "$repo" && cargo build --release --quiet \
        --example bench_target --example bench_engine --example bench_floor)
    cp "$target_dir/release/examples/"{bench_target,bench_engine,bench_floor} "$work/bin/"
}

# free_port VAR: set VAR to a free port on 127.0.0.1 (nothing answers a
# connect to it), never one handed out before, since callers may ask for
# several before any is bound. (A variable, not $(…): a subshell would
# forget what it handed out.)
handed_ports=" "
free_port() {
    local candidate
    for candidate in $(seq 19115 19315); do
        [[ $handed_ports == *" $candidate "* ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            handed_ports+="$candidate "
            printf -v "$1" '%s' "$candidate"
            return
        fi
    done
    die "no free port in 19115-19315"
}

start_target() {
    "$work/bin/bench_target" "$work" --max-seconds 3600 >"$work/ports" 2>"$work/target.err" &
    pids+=($!)
    target_pid=$!
    local i
    for i in $(seq 100); do
        [ -s "$work/ports" ] && break
        sleep 0.1
    done
    [ -s "$work/ports" ] || die "bench_target did not start: $(cat "$work/target.err")"
    # ws_port=… wss_port=… tls_name=…
    eval "$(cat "$work/ports")"
    ws_url="ws://127.0.0.1:$ws_port/"
    wss_url="wss://$tls_name:$wss_port/"
    wss_args=(--ca-file "$work/ca.pem" --resolve "$tls_name:$wss_port:127.0.0.1")
}

# utime + stime of process PID, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

verdict() { # value op limit -> "met" / "MISSED"
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        ok = (op == ">=") ? (v >= l) : (v <= l); print ok ? "met" : "**MISSED**" }'
}

# The first lines of a results section: when, on what, which build.
machine_lines() {
    local mem cpu
    mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
    echo "- date: $(date -u +'%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs ($cpu), $mem RAM, Linux $(uname -r)"
    echo "- wsprobe $("$work/bin/wsprobe" --version | awk '{print $2}') at $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet || echo '+dirty'), $(rustc -V | awk '{print $1, $2}'), release profile"
}
