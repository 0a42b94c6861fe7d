-- wrk script for latency at a fixed offered load: each connection asks for a random slug from
-- SLUGS (one per line) under PREFIX, then waits PACE_MS milliseconds before its next request.
-- Below saturation, p99 measures how long the server takes, not how long requests queue.
-- Prints one RESULT line like ../shared/bench/random_slug.lua.
--
-- wrk runs this file once per thread and starts each thread as soon as its copy has run, so
-- the first thread's requests meet the next copy's start-up on the same cores. Splitting a
-- million lines into a Lua table took long enough that those requests made the p99 of an
-- 8 s run, for the baseline as for qrlink. So the file is read whole, in one call, and each
-- request takes the line after a random offset: uniform over the slugs when, as
-- bench/redirect.sh writes them, all lines have the same length.
local file = assert(io.open(os.getenv("SLUGS"), "rb"))
local slugs = file:read("*a")
file:close()
local prefix = os.getenv("PREFIX") or "/"

local function random_slug()
  local before = slugs:find("\n", math.random(#slugs), true)
  if before == nil or before == #slugs then
    before = 0 -- wrap around to the first line
  end
  local after = slugs:find("\n", before + 1, true) or (#slugs + 1)
  return slugs:sub(before + 1, after - 1)
end
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
  return wrk.format("GET", prefix .. random_slug())
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d reqs=%d errs_connect=%d errs_read=%d errs_write=%d errs_status=%d errs_timeout=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
end
