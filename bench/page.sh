#!/usr/bin/env bash
# wsprobe benchmark, issue 9 "bounded rendering": the status page at 5,000
# monitors (examples/bench_page.rs). In-process HTTP surface on 127.0.0.1 over
# a state store on /dev/shm (or the temp dir); every loop is bounded; prints
# each figure beside its target. Leaves BENCHMARKS.md alone.
#
#   bench/page.sh                         # release build, then ~15 s
#   MONITORS=10000 FAILING=500 bench/page.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example bench_page
exec target/release/examples/bench_page
