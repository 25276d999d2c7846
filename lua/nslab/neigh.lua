--- nslab.neigh: the kernel's neighbour tables (ARP for IPv4, NDP for
-- IPv6) are one per family for the whole machine, shared by every
-- network namespace, and their limits (`net.ipv4.neigh.default.gc_thresh1`,
-- `2`, `3`, and `net.ipv6...` alike; 128/512/1024 by default) exist only in
-- the initial namespace. Past gc_thresh3 a new neighbour cannot be made:
-- sends fail with ENOBUFS and a large lab's pingall loses most pairs.
--
-- Before probing (`lab:pingall()`, `nslab.expect`), `fit(lab)` counts
-- what the lab's L2 segments can need (n·(n-1) on a bridge of n hosts, 2 on
-- a point-to-point link, per family). Running in the initial namespace
-- with the right to write them (root), it raises gc_thresh2/3 to fit,
-- writing the old values into the lab's record first (`sysctl KEY OLD`),
-- so `lab:close()` and `nslab --clean` put them back (unless another
-- running lab recorded them too). Elsewhere (rootless, containers, the
-- spec sandbox) the limits cannot be read or changed, and it warns once
-- per lab on stderr when the need passes the default.
-- @module nslab.neigh
local core = require("nslab").core
local Sysctl = require "nslab.sysctl"

local M = {}

local DEFAULT = 1024 -- gc_thresh3 when it cannot be read

--- The neighbour entries lab's L2 segments can need, per family.
-- @tparam lab lab
-- @treturn integer IPv4 entries
-- @treturn integer IPv6 entries (0 when no node has an IPv6 address)
function M.demand(lab)
  local n4, v6 = 0, false
  for _, node in ipairs(lab.nodes) do
    if node.kind == "bridge" then
      local n = #node._ifs
      n4 = n4 + n * (n - 1)
    else
      for _, itf in ipairs(node._ifs) do
        if itf.peer.kind ~= "bridge" then n4 = n4 + 1 end -- each end: its peer
      end
    end
    for _, a in ipairs(node._addrs) do if a.family == "inet6" then v6 = true end end
  end
  return n4, v6 and n4 or 0
end

local function key(fam, i) return string.format("net.%s.neigh.default.gc_thresh%d", fam, i) end

-- Raises gc_thresh2/3 of fam to fit need, recording the old values; false
-- when they cannot be read or written here.
local function raise(lab, fam, need)
  local ok, cur = pcall(Sysctl.get, nil, key(fam, 3))
  if not ok then return false end
  cur = tonumber(cur)
  if cur >= need then return true end
  local want = { [2] = need, [3] = need * 2 }
  for i = 2, 3 do
    local k = key(fam, i)
    local okg, now = pcall(Sysctl.get, nil, k)
    if not okg then return false end
    if tonumber(now) < want[i] then
      -- another lab may have raised it: its record has the value to restore
      local old = require("nslab.uplink").held(k, lab.name, true) or now
      local done = false
      lab:_step("neighbour table " .. k, function(push)
        core.defer_signals(function()
          lab._rec:add("sysctl", k, old)
          push { what = "sysctl " .. k, lines = { { "sysctl", k, old } }, drop = { "sysctl", k },
            fn = function() require("nslab.uplink").restore(k, old, lab.name) end }
          done = pcall(Sysctl.set, nil, k, tostring(want[i]))
        end)
      end)
      if not done then return false end
    end
  end
  return true
end

--- Makes the kernel's neighbour tables fit lab (see the module), or warns
-- once when they cannot be made to.
-- @tparam lab lab
-- @treturn boolean whether the lab fits (raised, or within the limit)
function M.fit(lab)
  local n4, n6 = M.demand(lab)
  local need = math.max(n4, n6)
  if need <= (lab._neigh_fit or 512) then return true end
  local ok = raise(lab, "ipv4", n4) and (n6 == 0 or raise(lab, "ipv6", n6))
  if ok then
    lab._neigh_fit = need
    return true
  end
  if need > DEFAULT and not lab._neigh_warned then
    lab._neigh_warned = true
    io.stderr:write(string.format("nslab: lab %s: its L2 segments can need %d neighbour (ARP/NDP) entries, " ..
      "more than the kernel's table holds (net.ipv4.neigh.default.gc_thresh3, %d by default, set only in the " ..
      "initial network namespace, by root): pairs past it fail with \"neighbour table is full\"\n",
      lab.name, need, DEFAULT))
  end
  return false
end

return M
