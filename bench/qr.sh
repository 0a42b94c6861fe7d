#!/usr/bin/env bash
# QR benchmark (R-PERF-3): qrlink-qr and segno on the same 10,000 URLs, in one run, on one
# core each, printing microseconds per code, sizes for the sample URL, and ratios. Both use
# level M (segno's default is L) with boosting, so both make the same version.
#
#   bench/qr.sh [COUNT=10000]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

venv=target/bench/segno-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q segno
fi
cargo build --release --locked -p qrlink-qr --example qr_timing

python3 -c "
print('https://example.org/qr/talk-0001')
for i in range(1, $count):
    print(f'https://example.org/qr/talk-{i:04d}')
" > "$work/urls.txt"

taskset -c 0 target/release/examples/qr_timing "$work/urls.txt" | tee "$work/qrlink.txt"

taskset -c 0 "$venv/bin/python" - "$work/urls.txt" <<'PY' | tee "$work/segno.txt"
import io, sys, time, segno
urls = open(sys.argv[1]).read().split()
def run(name, f):
    first = len(f(urls[0]))
    start = time.perf_counter()
    for u in urls:
        f(u)
    print(f"RESULT {name} {(time.perf_counter() - start) * 1e6 / len(urls):.1f} {first}")
def svg(u):
    out = io.BytesIO(); segno.make(u, error="m", micro=False).save(out, kind="svg"); return out.getvalue()
def png(u):
    out = io.BytesIO(); segno.make(u, error="m", micro=False).save(out, kind="png", scale=10); return out.getvalue()
def encode(u):
    return b"x" * segno.make(u, error="m", micro=False).symbol_size()[0]
run("encode", encode)
run("svg", svg)
run("png", png)
PY

python3 - "$work/qrlink.txt" "$work/segno.txt" <<'PY'
import sys
def load(path):
    return {l.split()[1]: (float(l.split()[2]), int(l.split()[3])) for l in open(path) if l.startswith("RESULT")}
ours, segno = load(sys.argv[1]), load(sys.argv[2])
goals = {"encode": 80, "svg": 100, "png": 150, "verify": 1000, "styled1000": 15000}
for name, (us, size) in ours.items():
    line = f"{name:7s} qrlink {us:8.1f} us/code"
    if name in goals:
        line += f"  (goal < {goals[name]} us)"
    if name in segno:
        s_us, s_size = segno[name]
        line += f"  segno {s_us:8.1f} us  speed-up x{s_us / us:6.1f}"
        if name in ("svg", "png"):
            line += f"  sample size {size} B vs segno {s_size} B"
    print(line)
PY
