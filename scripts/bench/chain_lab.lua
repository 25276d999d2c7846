--- scripts/bench/chain_lab.lua N [PREFIX]
-- The "chain N" workload (see chain_ip.sh) with nslab's lab layer: a lab
-- named PREFIX, hosts PREFIX1..PREFIXN (node and netns names), lab:link
-- between node i and i+1 with the chain's /30s; one node:ping across the
-- first link; teardown is lab:close(), which must leave no mount, netns fd
-- or name behind (checked after the clock stops). Prints "build S",
-- "peak_rss_kb K" (VmHWM while holding the built lab), "ping ok",
-- "teardown S", "done_at T" and "released yes" for run.lua, or "na REASON"
-- while the lab layer is not built yet. Needs root (or the sandbox).
local nslab = require "nslab"
local C = dofile((arg[0]:match("^(.*)/") or ".") .. "/chain.lua")

local has_lab = pcall(require, "nslab.lab")
if not has_lab then
  C.say("na", "nslab.lab not built yet")
  return
end

local n, p = C.args("cl")
local now = nslab.core.monotime

local _, base = C.held(nslab, p)
local t0 = now()
local lab = nslab.lab(p)
local ok, err = pcall(function()
  C.build_lab(lab, n, p)
  C.say("build", now() - t0)
  C.say("peak_rss_kb", C.peak_rss_kb())
  if nslab.exec then
    if not lab:node(p .. "1"):ping(C.addr(1, 2):match("^[^/]+")) then
      error("ping across the first link failed", 0)
    end
  else -- node:ping needs nslab.exec
    C.ping_first(nslab, p .. "1")
  end
  C.say("ping", "ok")
end)
t0 = now()
lab:close()
local t1 = now()
if not ok then error(err, 0) end
C.say("teardown", t1 - t0)
C.say("done_at", t1)
C.check_released(nslab, p, base)
