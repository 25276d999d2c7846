--- scripts/bench/profile_ops.lua N [lab]
-- Where the chain's build time goes, per nslab call: wraps the primitives
-- (netns.add, link.set, link.veth, addr.add, sysctl.set, netns.exists),
-- builds chain N with the primitives (or, given "lab", the lab layer) and
-- prints each call's count, total seconds and share of the build, the rest
-- being Lua and lab bookkeeping; then tears down and prints that too.
-- Run inside the sandbox: tools/sandbox.sh ./nslab scripts/bench/profile_ops.lua 1000
local nslab = require "nslab"
local C = dofile((arg[0]:match("^(.*)/") or ".") .. "/chain.lua")
local now = nslab.core.monotime

local n = C.args("po")
local use_lab = arg[2] == "lab"
local p = "po"
local spent, calls = {}, {}

local function wrap(mod, name)
  local f, label = nslab[mod][name], mod .. "." .. name
  nslab[mod][name] = function(...)
    local t = now()
    local r = table.pack(f(...))
    spent[label] = (spent[label] or 0) + now() - t
    calls[label] = (calls[label] or 0) + 1
    return table.unpack(r, 1, r.n)
  end
end
for _, f in ipairs { { "netns", "add" }, { "netns", "del" },
  { "netns", "exists" }, { "link", "set" }, { "link", "veth" },
  { "addr", "add" }, { "sysctl", "set" } } do
  wrap(f[1], f[2])
end

local function report(what, total)
  print(("%s: %.3f s (%.3f ms per node)"):format(what, total, total / n * 1e3))
  local sum, labels = 0, {}
  for label in pairs(spent) do labels[#labels + 1] = label end
  table.sort(labels, function(a, b) return spent[a] > spent[b] end)
  for _, label in ipairs(labels) do
    print(("  %-14s %6d calls %8.3f s %5.1f%%  %7.1f us/call"):format(label,
      calls[label], spent[label], spent[label] / total * 100,
      spent[label] / calls[label] * 1e6))
    sum = sum + spent[label]
  end
  print(("  %-14s %21.3f s %5.1f%%"):format("rest (Lua)", total - sum,
    (total - sum) / total * 100))
  spent, calls = {}, {}
end

local t0 = now()
local teardown
if use_lab then
  local lab = nslab.lab(p)
  C.build_lab(lab, n, p)
  teardown = function() lab:close() end
else
  local made = {}
  C.build_primitives(nslab, n, p, made)
  teardown = function()
    for i = #made, 1, -1 do nslab.netns.del(made[i]) end
  end
end
report(use_lab and "lab build" or "primitives build", now() - t0)
t0 = now()
teardown()
report("teardown", now() - t0)
