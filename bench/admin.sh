#!/usr/bin/env bash
# Admin latency (R-PERF-4): how long the admin's pages take with LINKS links, beside the same
# pages over 1,000 links served by the same binary in the same run (the ratio shows how they
# scale). Pages: the link list (first page, a later keyset page, by latest change, a tag
# filter, searches that match often and rarely, and htmx's active-search fragment) and a
# link's page (QR preview, history, counts chart). Requests are sequential, one at a time, on
# loopback; each line gives the median and the 90th percentile in ms, and the table rows the
# page showed (a header row and one per link).
#
#   bench/admin.sh [LINKS=1000000] [REQUESTS=30]
#   BENCH_DATA=DIR keeps the large data set in DIR for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
links=${1:-1000000}
requests=${2:-30}

cargo build --release --locked -p qrlink --bin qrlink
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

load() { # dir count: links with titles and 100 tags, imported in bulk
  local dir=$1 count=$2
  if [ -s "$dir/count" ] && [ "$(cat "$dir/count")" = "$count" ]; then
    echo "reusing $count links in $dir"; return
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  python3 - "$count" "$dir/links.csv" <<'PY'
import random, sys
count, path = int(sys.argv[1]), sys.argv[2]
alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
rng = random.Random(7)
slugs = set()
while len(slugs) < count:
    slugs.add("".join(rng.choice(alphabet) for _ in range(7)))
with open(path, "w") as csv:
    csv.write("slug,target,title,tags,status,locked\n")
    for i, slug in enumerate(sorted(slugs)):
        csv.write(f"{slug},https://example.org/talks/{i}?utm_source=qr,Talk number {i},t{i % 100},active,false\n")
PY
  local start; start=$(date +%s)
  target/release/qrlink --data-dir "$dir" import "$dir/links.csv" > /dev/null
  rm "$dir/links.csv"
  echo "$count" > "$dir/count"
  echo "loaded $count links in $(( $(date +%s) - start )) s"
}

serve_and_sign_in() { # dir port -> sets $cookie
  local dir=$1 port=$2 base="http://127.0.0.1:$2"
  target/release/qrlink --data-dir "$dir" --base-url "$base" serve --listen "127.0.0.1:$port" 2> "$work/serve-$port.log" &
  pids+=($!)
  for _ in $(seq 1 1200); do curl -fs "$base/_/health/ready" > /dev/null && break; sleep 0.05; done
  local name="bench$$" link secret
  link=$(target/release/qrlink --data-dir "$dir" --base-url "$base" user add "$name" --role admin 2> /dev/null | tail -n 1)
  secret=${link##*/}
  cookie=$(curl -s -D - -o /dev/null -H 'Sec-Fetch-Site: same-origin' \
    --data "csrf=$secret&password=bench+password+long&repeat=bench+password+long" "$link" |
    grep -io '__Host-qrlink-session=[A-Za-z0-9]*')
  [ -n "$cookie" ] || { echo "could not sign in on $base"; exit 1; }
}

measure() { # port path [fragment] -> "median p90 rows" (ms, and links shown)
  local port=$1 path=$2 part=()
  [ -n "${3:-}" ] && part=(-H "HX-Request: true" -H "HX-Target: $3")
  rows=$(curl -s -H "Cookie: $cookie" "${part[@]}" "http://127.0.0.1:$port$path" | grep -c '<tr' || true)
  for _ in $(seq 1 "$requests"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Cookie: $cookie" "${part[@]}" "http://127.0.0.1:$port$path"
  done | python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin]
bad = [code for code, _ in rows if code != "200"]
assert not bad, f"non-200 answers: {bad[:3]}"
times = sorted(float(t) * 1000 for _, t in rows)
print(f"{statistics.median(times):.1f} {times[int(len(times) * 0.9) - 1]:.1f}")' | sed "s/\$/ $rows/"
}

large=${BENCH_DATA:-$work/large}
load "$work/small" 1000
load "$large" "$links"
serve_and_sign_in "$work/small" 18090; small_cookie=$cookie
serve_and_sign_in "$large" 18091; large_cookie=$cookie
slug_of() { python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["slug"])'; }
middle=$(target/release/qrlink --data-dir "$large" link list --limit 1 --after n --json | slug_of)
first_small=$(target/release/qrlink --data-dir "$work/small" link list --limit 1 --json | slug_of)
first_large=$(target/release/qrlink --data-dir "$large" link list --limit 1 --json | slug_of)

printf '%-40s %22s %22s %7s\n' "page: median / p90 ms (table rows)" "1,000 links" "$links links" "ratio"
while IFS='|' read -r label path part; do
  cookie=$small_cookie; s=$(measure 18090 "${path//@SLUG@/$first_small}" "$part")
  cookie=$large_cookie; l=$(measure 18091 "${path//@SLUG@/$first_large}" "$part")
  python3 - "$label" "$s" "$l" <<'PY'
import sys
label, (sm, sp, sr), (lm, lp, lr) = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
print(f"{label:40s} {float(sm):7.1f} / {float(sp):5.1f} ({sr:>3s})  {float(lm):7.1f} / {float(lp):5.1f} ({lr:>3s})  {float(lm) / float(sm):6.2f}")
PY
done <<ROWS
list, first page|/_/admin/links|
list, a later page (keyset)|/_/admin/links?after=${middle:-n}|
list by latest change|/_/admin/links?order=changed|
list, one tag (1% of links)|/_/admin/links?tag=t42|
search matching many ("talk")|/_/admin/links?q=talk|
search matching one ("talks/424?")|/_/admin/links?q=talks%2F424%3F|
active-search fragment (htmx)|/_/admin/links?q=talks%2F424%3F|link-rows
a link's page (QR, history, chart)|/_/admin/links/@SLUG@|
ROWS
