#!/usr/bin/env bash
# Redirect benchmark (R-PERF-1): qrlink against a bare hyper server that answers every request
# with a constant 302 (../shared/bench/hyper-baseline), on loopback, same load generator and
# settings, run alternately, flat out and then at a fixed offered load (bench/paced_slug.lua).
# Prints requests/s and p99 of each run, the median of each measure, and the median of the
# rounds' paired ratios,
# and for qrlink: start-up time to ready, the redirect table's heap bytes per link, resident
# memory after loading and after the load test (R-PERF-2, R-PERF-4), and how long listing
# and searching links takes at this size (`qrlink link list`, process start included).
#
#   bench/redirect.sh [LINKS=10000] [ROUNDS=6] [DURATION=5s]
#   QRLINK_SERVE_ARGS="--flush-interval-ms 60000" bench/redirect.sh …   (extra serve flags)
#   BENCH_USER_AGENT= bench/redirect.sh …   (requests without the phone's User-Agent)
#   QRLINK_BIN=path/to/qrlink bench/redirect.sh …   (another build, such as the previous
#     commit's, instead of building this tree: for before/after figures in one session)
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/redirect.sh …
#     (on PostgreSQL: a fresh database beside that one, dropped at the end)
#
# Bounded: ROUNDS x 4 runs of DURATION each, 64 connections, 2 wrk threads, loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
links=${1:-10000}
rounds=${2:-6}
duration=${3:-5s}
shared=${SHARED:-../shared}
qrlink_port=18080
baseline_port=18081

command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }

qrlink_bin=${QRLINK_BIN:-target/release/qrlink}
[ -n "${QRLINK_BIN:-}" ] || cargo build --release --locked -p qrlink --bin qrlink
cargo build --release --locked --manifest-path "$shared/bench/hyper-baseline/Cargo.toml" --target-dir target/bench

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# BENCH_DATA=DIR keeps the loaded links in DIR for the next run (SQLite only).
data=${BENCH_DATA:-$work/data}
db=(--data-dir "$data")
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  bench_db="qrlink_bench_redirect_$$"
  psql "$BENCH_DATABASE_URL" -qc "CREATE DATABASE $bench_db"
  db=(--database-url "${BENCH_DATABASE_URL%/*}/$bench_db")
  data=$work/data
  trap 'cleanup; psql "$BENCH_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $bench_db WITH (FORCE)"' EXIT
fi
if [ -s "$data/slugs.txt" ] && [ "$(wc -l < "$data/slugs.txt")" -eq "$links" ]; then
  echo "reusing $links links in $data"
else
  echo "loading $links links..."
  rm -rf "$data"
  mkdir -p "$data"
  start=$(date +%s)
  # Random 7-character slugs as qrlink generates them, imported in bulk (`qrlink import`).
  python3 - "$links" "$data" <<'PY'
import random, sys
count, data = int(sys.argv[1]), sys.argv[2]
alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
rng = random.Random(1)
slugs = set()
while len(slugs) < count:
    slugs.add("".join(rng.choice(alphabet) for _ in range(7)))
with open(f"{data}/links.csv", "w") as csv, open(f"{data}/slugs.tmp", "w") as out:
    csv.write("slug,target\n")
    for i, slug in enumerate(slugs):
        csv.write(f"{slug},https://example.org/talks/{i}?utm_source=qr\n")
        out.write(slug + "\n")
PY
  "$qrlink_bin" "${db[@]}" import "$data/links.csv" >/dev/null
  rm "$data/links.csv"
  mv "$data/slugs.tmp" "$data/slugs.txt"
  echo "loaded in $(( $(date +%s) - start )) s"
fi
cp "$data/slugs.txt" "$work/slugs.txt"

now_ms() { date +%s%3N; }
started=$(now_ms)
QRLINK_LOG=info "$qrlink_bin" "${db[@]}" serve --listen "127.0.0.1:$qrlink_port" ${QRLINK_SERVE_ARGS:-} 2> "$work/serve.log" &
qrlink_pid=$!
pids+=($qrlink_pid)
target/bench/release/hyper-baseline "$baseline_port" > /dev/null &
pids+=($!)
for _ in $(seq 1 1200); do
  curl -fs "http://127.0.0.1:$qrlink_port/_/health/ready" >/dev/null && break
  sleep 0.05
done
echo "start-up to ready: $(( $(now_ms) - started )) ms"
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$qrlink_pid/status"; }
table_bytes=$(grep -o 'table_bytes=[0-9]*' "$work/serve.log" | cut -d= -f2)
echo "redirect table: $table_bytes heap bytes, $(( table_bytes / links )) per link; RSS after load $(( $(rss_kib) / 1024 )) MiB"
for query in "" "--search talks/4242" "--search no-such-text"; do
  t=$(now_ms)
  "$qrlink_bin" "${db[@]}" link list --limit 50 $query > /dev/null
  echo "link list --limit 50 $query: $(( $(now_ms) - t )) ms"
done
curl -fs "http://127.0.0.1:$qrlink_port/_/health/ready" >/dev/null
sample=$(head -n 1 "$work/slugs.txt")
curl -s -o /dev/null -w "sample: /$sample -> %{http_code} %{redirect_url}\n" "http://127.0.0.1:$qrlink_port/$sample"

. bench/user_agent.sh
run() { # name port
  SLUGS="$work/slugs.txt" PREFIX=/ wrk -t2 -c64 -d"$duration" --latency "${ua_header[@]}" -s "$shared/bench/random_slug.lua" \
    "http://127.0.0.1:$2" | grep '^RESULT' | sed "s/^RESULT/$1/"
}
# The same at a fixed offered load: each connection waits 1 ms between requests, at most 64k
# requests a second, well below either server's peak here. Latency at saturation is mostly
# time spent queueing behind the load generator's own threads on the same cores.
paced() { # name port
  SLUGS="$work/slugs.txt" PREFIX=/ PACE_MS=1 wrk -t2 -c64 -d"$duration" --latency "${ua_header[@]}" -s bench/paced_slug.lua \
    "http://127.0.0.1:$2" | grep '^RESULT' | sed "s/^RESULT/$1/"
}

# Warm both up once, unmeasured.
SLUGS="$work/slugs.txt" PREFIX=/ wrk -t2 -c64 -d2s -s "$shared/bench/random_slug.lua" "http://127.0.0.1:$baseline_port" >/dev/null
SLUGS="$work/slugs.txt" PREFIX=/ wrk -t2 -c64 -d2s -s "$shared/bench/random_slug.lua" "http://127.0.0.1:$qrlink_port" >/dev/null

: > "$work/results"
# Each round runs the two servers back to back, and every other round qrlink goes first, so
# that a machine getting busier or quieter during a run favours neither.
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then
    run baseline "$baseline_port" | tee -a "$work/results"
    run qrlink "$qrlink_port" | tee -a "$work/results"
    paced baseline-paced "$baseline_port" | tee -a "$work/results"
    paced qrlink-paced "$qrlink_port" | tee -a "$work/results"
  else
    run qrlink "$qrlink_port" | tee -a "$work/results"
    run baseline "$baseline_port" | tee -a "$work/results"
    paced qrlink-paced "$qrlink_port" | tee -a "$work/results"
    paced baseline-paced "$baseline_port" | tee -a "$work/results"
  fi
done

echo "RSS after the load test: $(( $(rss_kib) / 1024 )) MiB"

python3 - "$work/results" "$links" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name = line.split()[0]
    fields = dict(re.findall(r"(\w+)=([\d.]+)", line))
    rows.setdefault(name, []).append(fields)
def median(name, key):
    return statistics.median(float(r[key]) for r in rows[name])
for name in ("baseline", "qrlink", "baseline-paced", "qrlink-paced"):
    errors = sum(int(r[k]) for r in rows[name] for k in r if k.startswith("errs_"))
    print(f"{name:14s} median rps={median(name, 'rps'):10.1f}  p50={median(name, 'p50_us'):5.0f} us  p99={median(name, 'p99_us'):6.0f} us  errors={errors}")
# Each round's own ratio, its two runs back to back; the figures are the medians of those
# paired ratios, which a slow drift in the machine's speed moves less than a ratio of medians.
def rounds(name, base, key):
    return [float(q[key]) / float(b[key]) for q, b in zip(rows[name], rows[base])]
ratio = statistics.median(rounds("qrlink", "baseline", "rps"))
p99 = statistics.median(rounds("qrlink", "baseline", "p99_us"))
paced = statistics.median(rounds("qrlink-paced", "baseline-paced", "p99_us"))
print(f"links={sys.argv[2]}  throughput ratio qrlink/baseline = {ratio:.3f} (goal >= 0.85)  p99 ratio = {p99:.2f} at saturation, {paced:.2f} at a fixed load (goal <= 2)")
def listed(values):
    return " ".join(f"{v:.2f}" for v in values)
print(f"per round: throughput {listed(rounds('qrlink', 'baseline', 'rps'))};  p99 saturated {listed(rounds('qrlink', 'baseline', 'p99_us'))};  p99 fixed load {listed(rounds('qrlink-paced', 'baseline-paced', 'p99_us'))}")
PY
