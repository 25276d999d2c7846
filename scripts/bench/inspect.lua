--- scripts/bench/inspect.lua N RUNS [PREFIX]
-- Looking at a built lab "chain N" (scripts/bench/chain.lua): the median
-- over RUNS of `lab:state()` and `lab:json()` in the lab's process, and of
-- `nslab --inspect PREFIX --json` run as a second process while the lab
-- runs (its whole run: start, reading the record, one dump of links,
-- addresses, routes and qdiscs per node, JSON out). Checks each answer
-- lists N nodes and N-1 links. Prints "state S", "json S", "inspect S",
-- "bytes B" for scripts/bench/run.lua. Needs root (or the sandbox).
local nslab = require "nslab"
local C = dofile((arg[0]:match("^(.*)/") or ".") .. "/chain.lua")
local json = require "nslab.json"

local n = math.tointeger(tonumber(arg[1] or "")) or 1000
local runs = math.tointeger(tonumber(arg[2] or "")) or 3
local p = arg[3] or "bi"
local now = nslab.core.monotime
local NSLAB = arg[-1] or "./nslab"

local function median(t)
  table.sort(t)
  local m = #t // 2
  return #t % 2 == 1 and t[m + 1] or (t[m] + t[m + 1]) / 2
end

local lab <close> = nslab.lab(p)
C.build_lab(lab, n, p)
local times = { state = {}, json = {}, inspect = {} }
local bytes
for _ = 1, runs do
  local t0 = now()
  local st = lab:state()
  times.state[#times.state + 1] = now() - t0
  assert(#st.nodes == n and #st.links == n - 1, "lab:state() is not the whole chain")
  t0 = now()
  lab:json()
  times.json[#times.json + 1] = now() - t0
  t0 = now()
  local f = assert(io.popen(string.format("%s --inspect %s --json", NSLAB, p)))
  local text = f:read("a")
  local ok = f:close()
  times.inspect[#times.inspect + 1] = now() - t0
  assert(ok, "nslab --inspect failed")
  local back = json.decode(text)
  assert(#back.nodes == n and #back.links == n - 1, "nslab --inspect is not the whole chain")
  bytes = #text
end
for _, k in ipairs { "state", "json", "inspect" } do C.say(k, median(times[k])) end
C.say("bytes", bytes)
