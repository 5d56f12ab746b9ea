-- One decision per request, on clearance or a peer, over the same directory and the same
-- random stream of (user, tool, days): wrk -s decide.lua URL -- TARGET RUN [TOKEN] [MARKER]
--
-- TARGET is clearance, cedar-agent or cerbos; RUN prefixes clearance's issue keys so that
-- runs never collide. With MARKER, each thread writes MARKER.<thread> listing the issue keys
-- of the decisions answered 2xx before the file MARKER appeared: the backup check asks the
-- backup for exactly those.

local USERS, TOOLS = 1000, 100
local RISKS = { "low", "medium", "high", "critical" }
local DAYS = { 7, 14, 30, 60, 90 }

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local target, run, marker
local sent, acked, began = 0, {}, false

function init(args)
  target, run, marker = args[1], args[2], args[4]
  math.randomseed(7919 * id + 17)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if target == "clearance" then
    wrk.headers["Authorization"] = "Bearer " .. args[3]
  end
end

local function pick()
  local u, t = math.random(0, USERS - 1), math.random(0, TOOLS - 1)
  return string.format("user%04d@bench.example", u), string.format("tool-%03d", t),
    RISKS[t % 4 + 1], DAYS[math.random(#DAYS)]
end

function request()
  sent = sent + 1
  local user, tool, risk, days = pick()
  local body
  if target == "clearance" then
    body = string.format('{"issue_key":"%sT%d-%d","requester":"%s","tool":"%s",'
      .. '"purpose":"Benchmark","duration_days":%d,"project":"AIR","request_type":"42"}',
      run, id, sent, user, tool, days)
  elseif target == "cedar-agent" then
    body = string.format('{"principal":"Clearance::User::\\"%s\\"",'
      .. '"action":"Clearance::Action::\\"request\\"","resource":"Clearance::Tool::\\"%s\\"",'
      .. '"context":{"duration_days":%d,"has_open_request":false,"has_open_grant":false,'
      .. '"active_grants_for_tool":0}}', user, tool, days)
  else
    body = string.format('{"requestId":"%s-%d","principal":{"id":"%s","roles":["employees"]},'
      .. '"resources":[{"actions":["request","auto_approve"],"resource":{"kind":"tool",'
      .. '"id":"%s","attr":{"risk":"%s","status":"approved","in_catalog":true,'
      .. '"duration_days":%d,"has_open_request":false,"has_open_grant":false,'
      .. '"active_grants_for_tool":0}}}]}', run, sent, user, tool, risk, days)
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if not marker or began then
    return
  end
  -- The marker is looked for before this answer is counted: if it is there now, it may
  -- have appeared before the answer arrived, so the answer does not count as before it.
  local seen = io.open(marker, "r")
  if seen then
    seen:close()
    began = true
    local out = io.open(marker .. "." .. id, "w")
    out:write(table.concat(acked, "\n"), "\n")
    out:close()
    return
  end
  if status >= 200 and status < 300 then
    table.insert(acked, string.match(body, '"issue_key":"([^"]+)"'))
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"errors":%d,'
    .. '"p50_us":%d,"p99_us":%d,"max_us":%d}\n', summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(99), latency.max))
end
