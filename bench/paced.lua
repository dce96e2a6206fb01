-- wrk at a fixed offered rate (bench/wrk.py): every request is due at start + i / WRK_RATE,
-- whichever connection sends it; a connection waits (wrk's `delay`) until the next request is
-- due. One whose due time has passed by more than an interval, because every connection was
-- still waiting for an answer, is counted `late` (sent as soon as a connection is free).
--
-- WRK_PATHS: a file of paths, one a line, GET in turn.
-- WRK_WRITES: a file of "household_code TAB registration TAB survey" lines: each household is
-- POSTed to /api/v1/households and, once answered, its survey PUT to its assessment in
-- WRK_ROUND; the ids answered are written to WRK_IDS.
-- done() prints one line "BENCH-JSON {...}": counts, latency percentiles (from wrk's own
-- histogram: from sending to the answer) and the CPU time of this process (/proc/self/stat).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local interval = 1000 / tonumber(os.getenv("WRK_RATE"))
local started, slots = nil, 0
late = 0 -- global: done() reads it from each thread

function delay()
  local now = now_ms()
  if started == nil then started = now end
  local wait = started + slots * interval - now
  slots = slots + 1
  if wait < -interval then late = late + 1 end
  if wait < 1 then return 0 end
  return math.floor(wait)
end

-- A request's own headers replace wrk's (-H), so a body's are those and its Content-Type.
local json = nil
local function json_headers()
  if json == nil then
    json = { ["Content-Type"] = "application/json" }
    for name, value in pairs(wrk.headers) do json[name] = value end
  end
  return json
end
local paths, next_path = {}, 0
local writes, next_write, surveys, ready = {}, 0, {}, {}
local round, ids = os.getenv("WRK_ROUND"), nil

if os.getenv("WRK_PATHS") then
  for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
end
if os.getenv("WRK_WRITES") then
  for line in io.lines(os.getenv("WRK_WRITES")) do
    local code, household, survey = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    writes[#writes + 1] = household
    surveys[code] = survey
  end
  ids = io.open(os.getenv("WRK_IDS"), "a")
end

function request()
  if #paths > 0 then
    next_path = next_path % #paths + 1
    return wrk.format("GET", paths[next_path])
  end
  if #ready > 0 then return table.remove(ready, 1) end -- a survey whose household is registered
  next_write = next_write % #writes + 1 -- the file holds more than the run sends
  return wrk.format("POST", "/api/v1/households", json_headers(), writes[next_write])
end

function response(status, headers, body)
  if ids == nil or status ~= 201 then return end
  local code = body:match('"household_code":%s*"([^"]+)"')
  local survey = code and surveys[code]
  if survey == nil then return end -- a survey's answer
  local id = body:match('"id":%s*"([0-9a-f-]+)"')
  surveys[code] = nil
  ids:write(id, "\n")
  ids:flush()
  local path = "/api/v1/households/" .. id .. "/assessments/" .. round
  ready[#ready + 1] = wrk.format("PUT", path, json_headers(), survey)
end

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

function done(summary, latency, requests)
  local late_total = 0
  for _, thread in ipairs(threads) do late_total = late_total + (thread:get("late") or 0) end
  local stat = io.open("/proc/self/stat"):read("*a")
  local fields = {}
  for field in stat:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = field end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "late": %d, "p50_us": %.1f, "p95_us": %.1f, "p99_us": %.1f, ' ..
    '"max_us": %.1f, "cpu_ticks": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    late_total, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, tonumber(fields[12]) + tonumber(fields[13])))
end
