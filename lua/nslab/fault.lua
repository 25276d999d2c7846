--- nslab.fault: the labs' fault-injection seam for the specs
-- (spec/signals_spec.lua), not an API.
--
-- With NSLAB_TEST_SIGNAL_AT="POINT[:SIG[:N]]" in the environment, a lab
-- sends itself SIG (INT, TERM or HUP; default INT) N times (default 1) the
-- first time it passes POINT, so a spec can hit a window that is a few
-- instructions wide at will. Points: "netns-added" (lab:host/router/bridge,
-- right after the netns is made), "veth-added" (lab:link, right after the
-- veth pair is made), "uplink-added" (lab:uplink, right after its veth is
-- made and recorded), "teardown" (close, between ending the processes and
-- deleting the namespaces), "record-tmp" (a record written anew, before
-- its .tmp file is renamed over it), "apply-undo" (lab:apply undoing its
-- changes after a failure, after each undone). Each signal is sent by `nslab.core.kill_self`
-- and is delivered (the handler has run) before `at` returns.
-- @module nslab.fault

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core

local M = {}

local spec = os.getenv("NSLAB_TEST_SIGNAL_AT")

--- Sends the signals asked for when point is the one named in the
-- environment, the first time only; otherwise does nothing.
-- @tparam string point "netns-added", "veth-added", "uplink-added", "teardown", "record-tmp" or "apply-undo"
function M.at(point)
  if spec == nil then return end
  local at, sig, n = spec:match("^([%w%-]+):?(%u*):?(%d*)$")
  if at ~= point then return end
  spec = nil
  sig = sig ~= "" and sig or "INT"
  for _ = 1, tonumber(n) or 1 do core.kill_self("SIG" .. sig) end
end

-- Points armed in this process (`arm`), for specs that run in it.
local armed = {}

--- Arms point in this process: the next `fail(point)` raises an EIO error
-- object ("injected fault at POINT") instead of returning. For specs
-- (spec/live_spec.lua: `lab:apply` fails at each kind of step).
-- @tparam string point as `fail` is called with ("apply:link+")
-- @tparam[opt=true] boolean on false disarms it
function M.arm(point, on) armed[point] = on ~= false or nil end

--- Raises the injected fault when point is armed (once), else does nothing.
-- @tparam string point
-- @raise EIO error object (op "fault") when armed
function M.fail(point)
  if not armed[point] then return end
  armed[point] = nil
  error(core.error { op = "fault", object = point, errno = core.errno.EIO, extack = "injected fault at " .. point }, 0)
end

return M
