-- wrk script for latency at a fixed offered load: each connection asks for a random slug from
-- SLUGS (one per line) under PREFIX, then waits PACE_MS milliseconds before its next request.
-- Below saturation, p99 measures how long the server takes, not how long requests queue.
-- Prints one RESULT line like ../shared/bench/random_slug.lua.
local slugs = {}
for line in io.lines(os.getenv("SLUGS")) do
  if #line > 0 then slugs[#slugs + 1] = line end
end
local prefix = os.getenv("PREFIX") or "/"
local pace = tonumber(os.getenv("PACE_MS") or "1")
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end

function delay()
  return pace
end

request = function()
  return wrk.format("GET", prefix .. slugs[math.random(#slugs)])
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d reqs=%d errs_connect=%d errs_read=%d errs_write=%d errs_status=%d errs_timeout=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
end
