--- scripts/bench/shape.lua N RUNS [PREFIX]
-- Shaping a chain N's N-1 links: a tbf at 10mbit on both ends of every
-- link (2(N-1) qdiscs), three ways on the same chain, paired in each run:
-- nslab's tc.qdisc_add (one call per qdisc, rtnetlink), `tc -batch` (one
-- `tc -n NS -batch FILE` per netns) and one `tc -n NS qdisc add` per
-- qdisc. The scripts are written before the clock starts; between ways,
-- the qdiscs are deleted (untimed) and each way's result is checked (every
-- end has a 10mbit tbf). The order of the ways rotates with the run.
-- Prints "nslab S", "batch S", "tc S" (medians) and "qdiscs Q" for
-- scripts/bench/run.lua. Needs root (or the sandbox), iproute2's tc.
local nslab = require "nslab"
local C = dofile((arg[0]:match("^(.*)/") or ".") .. "/chain.lua")

local n = math.tointeger(tonumber(arg[1] or "")) or 1000
local runs = math.tointeger(tonumber(arg[2] or "")) or 1
local p = arg[3] or "bs"
local now = nslab.core.monotime
local tc = nslab.tc
local made = {}
local dir = os.tmpname()
local RATE, BURST, LATENCY = "10mbit", 5000, "50ms"

-- The ends: {netns, ifname} of both sides of every link.
local ends = {}
for k = 1, n - 1 do
  ends[#ends + 1] = { p .. k, C.lname(k) }
  ends[#ends + 1] = { p .. (k + 1), "eth0" }
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function scripts()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local line = "qdisc add dev %s root tbf rate %s burst %d latency %s\n"
  local per_ns, order, one = {}, {}, {}
  for _, e in ipairs(ends) do
    if not per_ns[e[1]] then
      per_ns[e[1]] = {}
      order[#order + 1] = e[1]
    end
    table.insert(per_ns[e[1]], line:format(e[2], RATE, BURST, LATENCY))
    one[#one + 1] = ("tc -n %s "):format(e[1]) ..
      line:format(e[2], RATE, BURST, LATENCY)
  end
  local batch = {}
  for _, ns in ipairs(order) do
    write(dir .. "/" .. ns, table.concat(per_ns[ns]))
    batch[#batch + 1] = ("tc -n %s -batch %s/%s\n"):format(ns, dir, ns)
  end
  write(dir .. "/batch.sh", "set -e\n" .. table.concat(batch))
  write(dir .. "/one.sh", "set -e\n" .. table.concat(one))
end

local ways = {
  nslab = function()
    for _, e in ipairs(ends) do
      tc.qdisc_add { netns = e[1], dev = e[2], kind = "tbf", rate = RATE,
                     burst = BURST, latency = LATENCY }
    end
  end,
  batch = function() assert(os.execute("sh " .. dir .. "/batch.sh")) end,
  tc = function() assert(os.execute("sh " .. dir .. "/one.sh")) end,
}

-- Every end has the tbf (checked), then none has (deleted).
local function check_and_clear(way)
  for _, e in ipairs(ends) do
    local q = tc.qdisc_list { netns = e[1], dev = e[2] }
    local tbf
    for _, x in ipairs(q) do if x.kind == "tbf" then tbf = x end end
    if not (tbf and tbf.rate == 10000000 and tbf.burst == BURST) then
      error(("%s: no 10mbit tbf on %s in %s"):format(way, e[2], e[1]), 0)
    end
    tc.qdisc_del { netns = e[1], dev = e[2] }
  end
end

local function median(t)
  table.sort(t)
  local m = #t // 2
  return #t % 2 == 1 and t[m + 1] or (t[m] + t[m + 1]) / 2
end

local function run()
  C.build_primitives(nslab, n, p, made)
  scripts()
  local names, times = { "nslab", "batch", "tc" }, { nslab = {}, batch = {}, tc = {} }
  for r = 1, runs do
    for i = 0, 2 do
      local way = names[(r + i - 1) % 3 + 1]
      local t0 = now()
      ways[way]()
      table.insert(times[way], now() - t0)
      check_and_clear(way)
    end
  end
  for _, way in ipairs(names) do C.say(way, median(times[way])) end
  C.say("qdiscs", #ends)
end

local ok, err = pcall(run)
os.execute("rm -rf " .. dir)
for i = #made, 1, -1 do pcall(nslab.netns.del, made[i]) end
if not ok then error(err, 0) end
