#!/usr/bin/env bash
# CPU per redirect: qrlink and the bare hyper baseline under the same wrk load as
# bench/redirect.sh, each run's user and system CPU (from /proc/PID/stat) divided by the
# requests it served. Steadier than requests a second on a shared machine, and it splits user
# from kernel time. Reuses a data directory that bench/redirect.sh loaded (BENCH_DATA=DIR).
#
#   bench/cpu.sh DATA_DIR [ROUNDS=2] [DURATION=6s] [-- extra serve flags]
#   e.g. BENCH_DATA=/tmp/bench1m bench/redirect.sh 1000000 1 2s && bench/cpu.sh /tmp/bench1m 3
#
# Bounded: ROUNDS x 2 runs of DURATION, 64 connections, 2 wrk threads, loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bench/cpu.sh DATA_DIR [ROUNDS] [DURATION] [-- serve flags]}
rounds=${2:-2}
duration=${3:-6s}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
shared=${SHARED:-../shared}
[ -s "$data/slugs.txt" ] || { echo "no $data/slugs.txt: load it with BENCH_DATA=$data bench/redirect.sh" >&2; exit 1; }

cargo build --release --locked -p qrlink --bin qrlink
cargo build --release --locked --manifest-path "$shared/bench/hyper-baseline/Cargo.toml" --target-dir target/bench

pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT
target/release/qrlink --data-dir "$data" serve --listen 127.0.0.1:18080 "$@" 2>/dev/null &
qrlink_pid=$!
pids+=($qrlink_pid)
target/bench/release/hyper-baseline 18081 2>/dev/null &
baseline_pid=$!
pids+=($baseline_pid)
for _ in $(seq 1 1200); do
  curl -fs http://127.0.0.1:18080/_/health/ready >/dev/null && break
  sleep 0.05
done

. bench/user_agent.sh
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
run() { # name port pid
  local before after out
  before=$(ticks "$3")
  out=$(SLUGS="$data/slugs.txt" PREFIX=/ wrk -t2 -c64 -d"$duration" --latency "${ua_header[@]}" \
    -s "$shared/bench/random_slug.lua" "http://127.0.0.1:$2" | grep '^RESULT')
  after=$(ticks "$3")
  python3 - "$1" "$before" "$after" "$out" "$(getconf CLK_TCK)" <<'PY'
import re, sys
name, before, after, out, hz = sys.argv[1:]
(u0, s0), (u1, s1) = ([int(x) for x in t.split()] for t in (before, after))
fields = dict(re.findall(r"(\w+)=([\d.]+)", out))
per = 1e6 / int(hz) / int(fields["reqs"])
user, system = (u1 - u0) * per, (s1 - s0) * per
print(f"{name:9s} rps={float(fields['rps']):9.0f} p99_us={fields['p99_us']:>6s}  "
      f"cpu_us_per_request={user + system:.2f} (user {user:.2f}, system {system:.2f})")
PY
}
run warm-up 18081 "$baseline_pid" >/dev/null
run warm-up 18080 "$qrlink_pid" >/dev/null
for _ in $(seq 1 "$rounds"); do
  run baseline 18081 "$baseline_pid"
  run qrlink 18080 "$qrlink_pid"
done
