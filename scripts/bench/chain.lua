--- scripts/bench/chain.lua: what the nslab chain scripts share, loaded with
-- dofile (scripts/bench is not on the module path): the chain's addressing
-- and names (the same as chain_ip.sh and chain_pyroute2.py), the check that
-- the primitives a script needs exist yet, and the lines the scripts print
-- for run.lua.
local M = {}

--- Address with prefixlen of end 1 or 2 of link k (1..N-1): the k-th /30
-- of 10.77.0.0/16, so N may go up to 16384.
-- @tparam integer k link number
-- @tparam integer e end: 1 in netns k, 2 in netns k+1
-- @treturn string such as "10.77.0.1/30"
function M.addr(k, e)
  local b = (k - 1) * 4
  return string.format("10.77.%d.%d/30", b >> 8, (b & 255) + e)
end

--- Name of link k's end in netns k, named as the lab layer names links:
-- eth0 in the first netns, eth1 in the others (whose eth0 is the link to
-- the previous netns; link k's end in netns k+1 is always eth0).
-- @tparam integer k link number
-- @treturn string ifname
function M.lname(k)
  return k == 1 and "eth0" or "eth1"
end

local SLAB = "/sys/kernel/slab/net_namespace/"

--- The number in the file at path, or nil.
-- @tparam string path
-- @treturn ?number
function M.read_number(path)
  local f = io.open(path)
  if not f then return nil end
  local n = f:read("n")
  f:close()
  return n
end

--- The kernel's count of network namespace objects (the net_namespace
-- slab cache: /sys/kernel/slab, else /proc/slabinfo), live and not yet
-- freed; nil when neither can be read.
-- @treturn ?number
function M.netns_objects()
  local n = M.read_number(SLAB .. "objects")
  if n then return n end
  local f = io.open("/proc/slabinfo")
  if not f then return nil end
  for line in f:lines() do
    local c = line:match("^net_namespace%s+(%d+)")
    if c then
      f:close()
      return tonumber(c)
    end
  end
  f:close()
end

--- Waits (up to `max` seconds) until the count has not changed for `quiet`
-- seconds: the netns cleanup of whatever ran before is over, or nearly.
-- @tparam number quiet seconds
-- @tparam number max seconds
function M.wait_quiet(quiet, max)
  local core = require("nslab").core
  local now, sleep = core.monotime, core.sleep
  local last, changed, start = M.netns_objects(), now(), now()
  while last and now() - changed < quiet and now() - start < max do
    sleep(0.01)
    local c = M.netns_objects()
    if c ~= last then last, changed = c, now() end
  end
end

--- Builds the chain with the primitives, one call per step: netns.add,
-- link.set lo up, link.veth with both ends in their netns and up, addr.add
-- on each end. Appends each netns name to made as soon as it exists, so a
-- failure can be undone.
-- @tparam table nslab the module
-- @tparam integer n nodes
-- @tparam string p netns name prefix
-- @tparam table made array receiving the netns names made
function M.build_primitives(nslab, n, p, made)
  for i = 1, n do
    local ns = p .. i
    nslab.netns.add(ns)
    made[#made + 1] = ns
    nslab.link.set("lo", { up = true }, { netns = ns })
    if i > 1 then
      local k, left = i - 1, p .. (i - 1)
      nslab.link.veth { name = M.lname(k), netns = left, peer = "eth0",
                        peer_netns = ns, up = true }
      nslab.addr.add(M.lname(k), M.addr(k, 1), { netns = left })
      nslab.addr.add("eth0", M.addr(k, 2), { netns = ns })
    end
  end
end

--- Builds the chain in a lab: hosts PREFIX1..PREFIXN, lab:link between
-- node i and i+1 with the chain's /30s.
-- @tparam table lab an open lab
-- @tparam integer n nodes
-- @tparam string p node name prefix
function M.build_lab(lab, n, p)
  for i = 1, n do lab:host(p .. i) end
  for k = 1, n - 1 do
    lab:link(p .. k, p .. (k + 1), { addrs = { M.addr(k, 1), M.addr(k, 2) } })
  end
end

--- The first of the dotted names ("link.veth") missing from the nslab
-- table, or nil when all exist (primitives land one by one).
-- @tparam table nslab the module
-- @tparam {string,...} names such as {"netns.add", "link.veth"}
-- @treturn string|nil
function M.missing(nslab, names)
  for _, name in ipairs(names) do
    local v = nslab
    for part in name:gmatch("[^.]+") do
      v = type(v) == "table" and v[part] or nil
    end
    if v == nil then return name end
  end
end

--- Pings the far end of link 1 once from netns ns (the chain's first
-- netns) with nslab.exec, or through `ip netns exec` while nslab.exec is not
-- built yet; raises when the ping fails.
-- @tparam table nslab the module
-- @tparam string ns netns name
function M.ping_first(nslab, ns)
  local target = M.addr(1, 2):match("^[^/]+")
  local ok
  if nslab.exec then
    ok = nslab.exec(ns, { "ping", "-c1", "-W2", "-q", target }).ok
  else
    ok = os.execute(("ip netns exec '%s' ping -c1 -W2 -q %s >/dev/null")
      :format(ns, target))
  end
  if not ok then error("ping across the first link failed", 0) end
end

--- What of the chain this process still holds: mounts at
-- /run/netns/PREFIX* (from /proc/self/mountinfo), open fds on a namespace
-- (nsfs files among /proc/PID/fd, less `base` such fds held before the
-- build: nslab keeps one on its own netns) and names left in /run/netns.
-- @tparam table nslab the module
-- @tparam string prefix the chain's netns name prefix
-- @tparam[opt] integer base netns fds held before the build
-- @treturn {string,...} one entry per thing held; empty when all released
-- @treturn integer the number of namespace fds open now
function M.held(nslab, prefix, base)
  local held, fds = {}, 0
  local dir = "/run/netns/" .. prefix
  for line in io.lines("/proc/self/mountinfo") do
    local mp = line:match("^%S+ %S+ %S+ %S+ (%S+)")
    if mp and mp:sub(1, #dir) == dir then held[#held + 1] = "mount " .. mp end
  end
  -- An fd opened through the mount reads as its path, then as "/" once
  -- the mount is detached: ask for the filesystem of the open file.
  local st = io.popen("stat -L -f -c %T /proc/" .. nslab.core.getpid() ..
    "/fd/* 2>/dev/null")
  for line in st:lines() do
    if line == "nsfs" then fds = fds + 1 end
  end
  st:close()
  if base and fds > base then
    held[#held + 1] = ("%d netns fd(s)"):format(fds - base)
  end
  for _, name in ipairs(nslab.netns.list()) do
    if name:sub(1, #prefix) == prefix then held[#held + 1] = "netns " .. name end
  end
  return held, fds
end

--- Prints "released yes" when M.held finds nothing, else raises naming
-- what is still held (teardown must return only once it is all gone).
function M.check_released(nslab, prefix, base)
  local held = M.held(nslab, prefix, base)
  if #held > 0 then
    error(("teardown returned while this process still held: %s%s")
      :format(table.concat(held, ", ", 1, math.min(#held, 5)),
        #held > 5 and (" and %d more"):format(#held - 5) or ""), 0)
  end
  M.say("released", "yes")
end

--- Peak resident set size of this process so far (VmHWM), in kB.
-- @treturn integer
function M.peak_rss_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s*(%d+)")
    if kb then return tonumber(kb) end
  end
end

--- Writes one "key value" line for run.lua and flushes it.
function M.say(key, value)
  io.write(key, " ", tostring(value), "\n")
  io.flush()
end

--- Parses the command line shared by the chain scripts: N [PREFIX].
-- @tparam string default_prefix netns name prefix when none is given
-- @treturn integer n, string prefix
function M.args(default_prefix)
  local n = math.tointeger(tonumber(arg[1] or ""))
  if not n or n < 2 then
    io.stderr:write("usage: ", arg[0], " N [PREFIX]   (N >= 2)\n")
    os.exit(2)
  end
  return n, arg[2] or default_prefix
end

return M
