-- One wrk script for every HTTP scenario of bench/run.py.
-- Run with as many threads as connections (-t N -c N): each thread then owns exactly one
-- connection and one Lua state, so per-connection state (intent id, version, lease id)
-- is exact. request() never mutates state (wrk calls it once more to probe for
-- pipelining); response() advances it.
--
-- wrk ... -- MODE FIXTURE_FILE API_KEY TAG [QUOTA]
--   MODE: create | get | patch | append | lease | list | fill (= create QUOTA per thread, then stop)
--   FIXTURE_FILE: one "intent_id version" per line; thread i uses line i mod count
--   TAG: differs per wrk run; lease scopes include it, so a lease left held by an
--        interrupted earlier run never blocks this one

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local mode, key, intent, version, lease, n, scope, quota, resync
local json = "application/json"

function init(args)
  mode, key = args[1], args[3]
  scope = "work-" .. (args[4] or "")
  quota = tonumber(args[5] or "")
  local rows = {}
  for line in io.lines(args[2]) do
    local id, v = line:match("^(%S+)%s+(%d+)")
    if id then table.insert(rows, {id, tonumber(v)}) end
  end
  if #rows > 0 then
    local row = rows[((tid - 1) % #rows) + 1]
    intent, version = row[1], row[2]
  end
  n = 0
  if mode ~= "patch" and mode ~= "lease" and mode ~= "fill" then
    response = nil -- wrk then skips header/body parsing
  end
end

local function hdr(extra)
  local h = {["X-API-Key"] = key, ["Content-Type"] = json}
  if extra then for k, v in pairs(extra) do h[k] = v end end
  return h
end

local base = "/api/v1/intents"

function request()
  if mode == "create" or mode == "fill" then
    return wrk.format("POST", base, hdr(),
      '{"title":"bench intent","description":"created by bench/run.py","state":{"k":1}}')
  elseif mode == "get" then
    return wrk.format("GET", base .. "/" .. intent, hdr())
  elseif mode == "list" then
    return wrk.format("GET", base .. "/" .. intent .. "/events?limit=1000", hdr())
  elseif mode == "patch" then
    if resync then -- a 409 means our version is stale: read the current one
      return wrk.format("GET", base .. "/" .. intent, hdr())
    end
    return wrk.format("POST", base .. "/" .. intent .. "/state", hdr({["If-Match"] = tostring(version)}),
      '{"patches":[{"op":"set","path":"counter","value":' .. n .. '}]}')
  elseif mode == "append" then
    n = n + 1
    return wrk.format("POST", base .. "/" .. intent .. "/events", hdr(),
      '{"event_type":"comment","actor":"bench","payload":{"n":' .. n .. '}}')
  elseif mode == "lease" then
    if lease then
      return wrk.format("DELETE", base .. "/" .. intent .. "/leases/" .. lease, hdr())
    end
    return wrk.format("POST", base .. "/" .. intent .. "/leases", hdr(),
      '{"scope":"' .. scope .. '","duration_seconds":60}')
  end
  error("unknown mode " .. tostring(mode))
end

function response(status, headers, body)
  n = n + 1
  if mode == "fill" then
    if n >= quota then wrk.thread:stop() end
    return
  end
  if mode == "patch" and status == 409 then resync = true end
  if status ~= 200 then return end
  if mode == "patch" then
    version = tonumber(body:match('"version"%s*:%s*(%d+)')) or version
    resync = false
  elseif mode == "lease" then
    if lease then
      lease = nil
    else
      lease = body:match('"id"%s*:%s*"([^"]+)"')
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local ps = {}
  for _, p in ipairs({50, 90, 99, 99.9}) do
    table.insert(ps, string.format('"%s":%d', tostring(p), latency:percentile(p)))
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d,"min":%d,"p":{%s}}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency.min, table.concat(ps, ",")))
end
