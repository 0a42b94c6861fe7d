# Sourced by the redirect benchmarks. Every request carries a phone browser's User-Agent, as a
# visit that follows a scanned code does: qrlink reads it to count preview bots apart
# (R-LNK-6), the baseline ignores it. BENCH_USER_AGENT= sends none. Sets ua_header, wrk's
# arguments for it.
user_agent=${BENCH_USER_AGENT-Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36}
ua_header=()
if [ -n "$user_agent" ]; then
  ua_header=(-H "User-Agent: $user_agent")
fi
