--- scripts/bench/live.lua N RUNS PREFIX [FLOOR [LABFLOOR]]
-- Live labs (issue 18), on the chain-N workload of chain_lab.lua:
--   build   a lab built from a spec (lab:apply onto an empty lab), paired
--           run by run with FLOOR (../shared/bench/chainfloor.c built: the
--           same work hand-written in C, one libmnl batch per namespace)
--           and with LABFLOOR (scripts/bench/labfloor.c built: that work
--           plus the per-node sysctls every lab node must have, P2 and P8
--           of ../shared/pitfalls.md), which tells the kernel's cost of a
--           lab's duties from nslab's own;
--   diff    lab:diff of the lab's own spec (no changes);
--   change  lab:apply of a spec that differs by one link (one removed in
--           the middle, one added between the ends), checking that every
--           other link kept its ifindex.
-- Prints medians: "build S", "floor S" (or "floor na REASON"), "labfloor
-- S" (with LABFLOOR), "diff S",
-- "change S", "kept yes"; and the fastest of the runs, "build_min S" and
-- "floor_min S" (on a shared machine the kernel's share of the build
-- varies by half from run to run, and the quickest run is the one least
-- disturbed). Each timed build waits first for the kernel's cleanup of
-- the run before (C.wait_quiet). Needs root (the sandbox gives it).
local nslab = require "nslab"
local C = dofile((arg[0]:match("^(.*)/") or ".") .. "/chain.lua")

local now = nslab.core.monotime
local n, runs = math.tointeger(tonumber(arg[1] or "1000")), math.tointeger(tonumber(arg[2] or "3"))
local p, floor, labfloor = arg[3] or "lv", arg[4], arg[5]

local function median(t)
  table.sort(t)
  local k = #t
  if k == 0 then return nil end
  return k % 2 == 1 and t[(k + 1) // 2] or (t[k // 2] + t[k // 2 + 1]) / 2
end

local function spec_of()
  local s = { name = p, nodes = {}, links = {} }
  for i = 1, n do s.nodes[i] = { name = p .. i } end
  for k = 1, n - 1 do
    s.links[k] = { p .. k .. ":eth1", p .. (k + 1) .. ":eth0", addrs = { C.addr(k, 1), C.addr(k, 2) } }
  end
  return s
end

-- Every link end's ifindex but those of the links named in skip.
local function ifindexes(lab, skip)
  local t = {}
  for _, l in ipairs(lab._links) do
    local key = l.a.name .. ":" .. l.ifnames[1]
    if not skip[key] then
      t[key] = nslab.link.get(l.ifnames[1], { netns = l.a.netns }).ifindex
    end
  end
  return t
end

-- The build time printed by floor program prog (env: the variable that
-- lets it run in the sandbox), or nil.
local function floor_run(prog, env)
  C.wait_quiet(0.5, 10) -- (the kernel's cleanup of the run before)
  local f = io.popen(string.format("%s=1 %s %d 2>&1", env, prog, n))
  local out = f:read("a")
  f:close()
  return tonumber(out:match("build=([%d.]+)"))
end

local builds, floors, labfloors, diffs, changes, kept = {}, {}, {}, {}, {}, true
local floor_na = not floor and "no chainfloor built (../shared/bench/chainfloor.c)" or nil
for _ = 1, runs do
  if not floor_na then
    local t = floor_run(floor, "CHAIN_SANDBOX")
    if t then floors[#floors + 1] = t else floor_na = "chainfloor printed no RESULT" end
  end
  if labfloor then
    local t = floor_run(labfloor, "LABFLOOR_SANDBOX")
    if not t then error("labfloor printed no RESULT", 0) end
    labfloors[#labfloors + 1] = t
  end
  local lab = nslab.lab(p)
  local ok, err = pcall(function()
    local s = spec_of()
    C.wait_quiet(0.5, 10)
    local t0 = now()
    lab:apply(s)
    builds[#builds + 1] = now() - t0
    if not lab:node(p .. "1"):ping(C.addr(1, 2):match("^[^/]+")) then error("ping across the first link failed", 0) end
    local same = lab:spec()
    t0 = now()
    lab:diff(same, { quiet = true })
    diffs[#diffs + 1] = now() - t0
    local mid = n // 2
    local gone = { [p .. mid .. ":eth1"] = true }
    local before = ifindexes(lab, gone)
    local changed = lab:spec()
    table.remove(changed.links, mid)
    changed.links[#changed.links + 1] = { p .. "1:eth9", p .. n .. ":eth9", addrs = { "10.255.255.1/30",
      "10.255.255.2/30" } }
    t0 = now()
    local plan = lab:apply(changed)
    changes[#changes + 1] = now() - t0
    assert(#plan.changes == 2, "the plan has " .. #plan.changes .. " changes")
    gone[p .. "1:eth9"] = true
    for k, v in pairs(ifindexes(lab, gone)) do
      if before[k] ~= v then kept = false end
    end
  end)
  lab:close()
  if not ok then error(err, 0) end
end
C.say("build", median(builds))
C.say("build_min", math.min(table.unpack(builds)))
if floor_na then C.say("floor", "na " .. floor_na) else
  C.say("floor", median(floors))
  C.say("floor_min", math.min(table.unpack(floors)))
end
if labfloor then
  C.say("labfloor", median(labfloors))
  C.say("labfloor_min", math.min(table.unpack(labfloors)))
end
C.say("diff", median(diffs))
C.say("change", median(changes))
C.say("kept", kept and "yes" or "no")
