--- scripts/bench/chain_nslab.lua N [PREFIX]
-- The "chain N" workload (see chain_ip.sh) with nslab's primitives, one call
-- per step: netns.add, link.set lo up, link.veth with both ends created in
-- their netns and up, addr.add on each end; one ping across the first link
-- (nslab.exec); teardown is netns.del per netns, which returns once nslab's
-- fds and the bind mount are gone (checked after the clock stops). Prints
-- "build S", "ping ok", "teardown S", "done_at T" (CLOCK_MONOTONIC when
-- teardown returned), "released yes" and
-- "peak_rss_kb K" (VmHWM while holding the built chain) for run.lua, or
-- "na REASON" while a primitive is not built yet. Needs root (or the
-- sandbox).
local nslab = require "nslab"
local C = dofile((arg[0]:match("^(.*)/") or ".") .. "/chain.lua")

local need = { "netns.add", "netns.del", "link.veth", "link.set", "addr.add" }
local missing = C.missing(nslab, need)
if missing then
  C.say("na", "nslab." .. missing .. " not built yet")
  return
end

local n, p = C.args("cn")
local now = nslab.core.monotime
local made = {}

local function teardown()
  for i = #made, 1, -1 do
    nslab.netns.del(made[i])
    made[i] = nil
  end
end

local function run()
  local _, base = C.held(nslab, p)
  local t0 = now()
  C.build_primitives(nslab, n, p, made)
  C.say("build", now() - t0)
  C.say("peak_rss_kb", C.peak_rss_kb())

  C.ping_first(nslab, p .. "1")
  C.say("ping", "ok")

  t0 = now()
  teardown()
  local t1 = now()
  C.say("teardown", t1 - t0)
  C.say("done_at", t1)
  C.check_released(nslab, p, base)
end

local ok, err = pcall(run)
if not ok then
  pcall(teardown)
  error(err, 0)
end
