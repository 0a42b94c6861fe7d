#!/usr/bin/env bash
# Import and export benchmark (R-IO-1: a million rows in under a minute): writes a CSV of
# LINKS links (slug, target, title, two tags), then times `qrlink import` into an empty
# SQLite database and, when QRLINK_BENCH_DATABASE_URL names a PostgreSQL server, into a fresh
# database there; then `qrlink export` of both formats. Times include process start.
#
#   bench/import.sh [LINKS=1000000]
#   QRLINK_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
links=${1:-1000000}

cargo build --release --locked -p qrlink --bin qrlink
qrlink=$PWD/target/release/qrlink
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$links" > "$work/links.csv" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout
out.write("slug,target,title,tags\n")
for i in range(n):
    out.write(f"talk-{i:07d},https://conference.example.org/talks/{i}?from=qr,Talk number {i},pycon;talks\n")
PY
echo "$links links, $(du -h "$work/links.csv" | cut -f1) of CSV"

run() {
  local what=$1; shift
  local start; start=$(date +%s%N)
  "$@" > "$work/out" 2> "$work/err" || { cat "$work/err"; exit 1; }
  awk -v what="$what" -v ns=$(( $(date +%s%N) - start )) 'BEGIN { printf "%s: %.2f s\n", what, ns / 1e9 }'
}

db=(--data-dir "$work/sqlite")
run "sqlite import" "$qrlink" "${db[@]}" import "$work/links.csv"
run "sqlite export json" "$qrlink" "${db[@]}" export --format json -o "$work/export.json"
run "sqlite export csv" "$qrlink" "${db[@]}" export --format csv -o "$work/export.csv"
echo "json export: $(du -h "$work/export.json" | cut -f1)"

if [ -n "${QRLINK_BENCH_DATABASE_URL:-}" ]; then
  name="qrlink_bench_import_$$"
  psql "$QRLINK_BENCH_DATABASE_URL" -qc "CREATE DATABASE $name"
  url="${QRLINK_BENCH_DATABASE_URL%/*}/$name"
  run "postgres import" "$qrlink" --database-url "$url" import "$work/links.csv"
  run "postgres export json" "$qrlink" --database-url "$url" export --format json -o "$work/pg.json"
  psql "$QRLINK_BENCH_DATABASE_URL" -qc "DROP DATABASE $name WITH (FORCE)"
fi
