--- scripts/bench/exec_nslab.lua NETNS COUNT
-- Exec latency of nslab.exec: runs `true` COUNT times in NETNS, first with
-- the defaults (stdout and stderr captured), then with capture = false, and
-- prints "capture MEDIAN P90" and "nocapture MEDIAN P90" (seconds per call,
-- wall time around the call) for run.lua, or "na REASON" while nslab.exec
-- is not built yet. Needs root (or the sandbox).
local nslab = require "nslab"
local now = nslab.core.monotime

if not nslab.exec then
  print("na nslab.exec not built yet")
  return
end
local ns, count = arg[1], math.tointeger(tonumber(arg[2] or ""))
assert(ns and count and count > 0, "usage: exec_nslab.lua NETNS COUNT")

local function measure(opts)
  local t = {}
  for i = 1, count do
    local t0 = now()
    local r = nslab.exec(ns, { "true" }, opts)
    t[i] = now() - t0
    if not r.ok then
      error(("nslab.exec true in netns %s: status %s"):format(ns,
        tostring(r.status)), 0)
    end
  end
  table.sort(t)
  return t[count // 2 + 1], t[count * 9 // 10 + 1]
end

print(("capture %.9f %.9f"):format(measure(nil)))
print(("nocapture %.9f %.9f"):format(measure { capture = false }))
