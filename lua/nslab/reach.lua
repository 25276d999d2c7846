--- nslab.reach: reachability measured by nslab itself. ICMP/ICMPv6 echo
-- requests go out of sockets nslab opens inside each node's namespace
-- (`nslab.core.icmp.ping`: ping sockets, or raw ones where the group is
-- not in `net.ipv4.ping_group_range`), all at once through one poll loop,
-- with no `ping` process per probe. A probe that fails says why: the ICMP
-- error that came back (net or host unreachable from a router,
-- fragmentation needed), the send error (no route), or, for silence,
-- what the kernel's tables show (no ARP/NDP answer from the next hop,
-- no route) as `ip route get` and `ip neigh` would.
-- @module nslab.reach
local core = require("nslab").core
local Route = require "nslab.route"

local M = {}

-- ICMP (RFC 792) and ICMPv6 (RFC 4443) errors, by family, type and code.
local V4 = {
  [3] = { [0] = "net unreachable", [1] = "host unreachable", [2] = "protocol unreachable",
    [3] = "port unreachable", [4] = "fragmentation needed", [6] = "destination net unknown",
    [7] = "destination host unknown", [9] = "net prohibited", [10] = "host prohibited",
    [13] = "communication administratively prohibited" },
  [11] = { [0] = "time to live exceeded", [1] = "fragment reassembly time exceeded" },
  [12] = { [0] = "parameter problem" },
}
local V6 = {
  [1] = { [0] = "no route to destination", [1] = "communication administratively prohibited",
    [3] = "address unreachable", [4] = "port unreachable", [5] = "source address failed policy",
    [6] = "reject route to destination" },
  [2] = { [0] = "packet too big" },
  [3] = { [0] = "hop limit exceeded", [1] = "fragment reassembly time exceeded" },
  [4] = { [0] = "parameter problem" },
}

local function is_v6(addr) return addr:find(":", 1, true) ~= nil end

-- The text of an ICMP error result r about a probe to addr.
local function icmp_text(r, addr)
  local tab = is_v6(addr) and V6 or V4
  local what = (tab[r.icmp_type] or {})[r.icmp_code] or
    string.format("ICMP type %d code %d", r.icmp_type or -1, r.icmp_code or -1)
  if r.mtu and r.mtu > 0 and (what == "fragmentation needed" or what == "packet too big") then
    what = what .. string.format(" (next-hop MTU %d)", r.mtu)
  end
  return string.format("%s says %s", r.from or "a router", what)
end

-- The next hop's neighbour state as words, for a probe that got silence.
local function silence_text(netns, name, addr, timeout)
  local ok, rt = pcall(Route.get, { netns = netns, dst = addr })
  if not ok then
    if type(rt) == "table" and rt.code then
      return string.format("%s has no route to %s (%s)", name, addr, rt.code)
    end
    return string.format("no reply within %g s", timeout)
  end
  local hop = rt.via or addr
  if rt.type ~= "unicast" and rt.type ~= "local" then
    return string.format("%s has a %s route to %s", name, rt.type, addr)
  end
  if rt.neigh == "incomplete" or rt.neigh == "failed" then
    return string.format("no %s answer from %s on %s:%s", is_v6(addr) and "neighbour (NDP)" or "ARP",
      hop, name, rt.dev or "?")
  end
  return string.format("no reply within %g s (%s sends it %s%s)", timeout, name,
    rt.via and ("via " .. rt.via .. " ") or "", rt.dev and ("dev " .. rt.dev) or "")
end

--- Why a probe failed, in words.
-- @tparam string netns the namespace the probe left from
-- @tparam string name the node's name (for the text)
-- @tparam string addr the address probed
-- @tparam table r the probe's result from `nslab.core.icmp.ping`
-- @tparam number timeout seconds the probe waited
-- @tparam[opt] boolean quick true: say "no reply within T s" for silence
-- instead of asking the kernel's route and neighbour tables
-- @treturn string e.g. "red has no route to 10.0.2.2", "10.0.1.1 says net
-- unreachable", "no ARP answer from 10.0.1.7 on red:eth0"
function M.why(netns, name, addr, r, timeout, quick)
  if r.origin == "icmp" then return icmp_text(r, addr) end
  if r.origin == "local" then
    if r.code == "ENETUNREACH" or r.code == "EHOSTUNREACH" then
      return string.format("%s has no route to %s", name, addr)
    elseif r.code == "ENOBUFS" then
      -- neigh_create refused: the table shared by every namespace is full
      return string.format("%s cannot send to %s: the kernel's neighbour table is full "
        .. "(net.%s.neigh.default.gc_thresh3; see README, \"Testing a network\")",
        name, addr, is_v6(addr) and "ipv6" or "ipv4")
    elseif r.code == "EMSGSIZE" then
      return string.format("message too long for the path from %s (%s)", name, r.code)
    end
    return string.format("%s cannot send to %s: %s (%s)", name, addr, core.strerror(r.errno), r.code)
  end
  if quick then return string.format("no reply within %g s", timeout) end
  return silence_text(netns, name, addr, timeout)
end

-- Waits (2 s at most) until no IPv6 address of the nodes is tentative
-- and each has its local route.
-- An address added without DAD stays tentative until the kernel's addrconf
-- work runs, which waits for the rtnl lock: right after another lab's
-- teardown that can take a while, and a tentative address neither answers
-- neighbour solicitations nor sends (P2).
-- Once an address leaves that state, the kernel adds its local route
-- (table local) from the same work a moment later; until then the node
-- does not answer for it either: both are waited for.
local function settle(nodes)
  local Addr = require "nslab.addr"
  local deadline = core.monotime() + 2
  for _, node in ipairs(nodes) do
    while core.monotime() < deadline do
      local busy, want = false, {}
      for _, a in ipairs(Addr.list { netns = node.netns, family = "inet6" }) do
        if a.tentative then
          busy = true
        elseif a.scope ~= "host" then
          want[a.address] = true
        end
      end
      if not busy and next(want) then
        for _, r in ipairs(Route.list { netns = node.netns, family = "inet6", table = "local" }) do
          want[tostring(r.dst):match("^[^/]+")] = nil
        end
        busy = next(want) ~= nil
      end
      if not busy then break end
      core.sleep(0.01)
    end
  end
end

-- Waits (2 s at most) until every veth of the lab that is up and has its
-- carrier is operationally up too. The kernel acts on a new carrier
-- (qdisc attached, bridge port enabled, operstate UP) from its linkwatch
-- work, at most once a second: right after lab:link or lab:link_state,
-- frames sent through such a link or bridge port are dropped, and the
-- first probes of a freshly built lab would fail ("no ARP answer").
local function links_ready(lab)
  local Link = require "nslab.link"
  local deadline = core.monotime() + 2
  for _, node in ipairs(lab.nodes) do
    while core.monotime() < deadline do
      local busy = false
      for _, l in ipairs(Link.list { netns = node.netns }) do
        if l.kind == "veth" and l.up and l.carrier and l.operstate ~= "UP" then busy = true end
      end
      if not busy then break end
      core.sleep(0.01)
    end
  end
end

-- The node of lab holding address addr (as given to lab:link, lab:addr),
-- or nil: a probe to a bare address must wait for that node's address to
-- leave its tentative state too, or the first neighbour solicitation
-- goes unanswered and the next comes a second later (RFC 4861 RetransTimer).
local function owner(lab, addr)
  if not (lab and lab.nodes) then return nil end
  local ok, a = pcall(core.inet.parse, addr)
  if not (ok and a) then return nil end
  for _, n in ipairs(lab.nodes) do
    for _, x in ipairs(n._addrs or {}) do
      if x.address == a.address then return n end
    end
  end
end

local PROBE_OPTS = { timeout = 1, count = 1, interval = 1 }

--- Probes many (source node, address) pairs at once with ICMP echo.
-- Each job `{src = node, addr = "10.0.0.2", dst = node (optional)}` gets
-- `ok`, `rtt` (seconds, average of the replies), `sent`, `received` and,
-- when it failed, `why`. Probes first wait (2 s at most) until the links
-- of the sources' labs are operationally up, and IPv6 probes until the
-- IPv6 addresses of src and dst are no longer tentative.
-- @tparam {table,...} jobs
-- @tparam[opt] table opts `timeout` (seconds to wait after the last echo,
-- default 1), `count` (echoes per job, default 1), `interval` (seconds
-- between them, default 1), `stop` (end a job at its first reply, default
-- true), `size` (payload bytes, default 56), `df` (don't fragment: IPv4 DF
-- set, no local fragmentation), `why` (at most this many failures are
-- explained from the kernel's tables, default 200: each asks it twice;
-- the rest say "no reply within T s")
-- @treturn {table,...} jobs
-- @raise as `nslab.core.icmp.ping` (EACCES/EPERM when neither a ping
-- socket nor a raw socket may be opened in a node)
function M.run(jobs, opts)
  opts = opts or {}
  local probes, v6, seen, labs = {}, {}, {}, {}
  for i, j in ipairs(jobs) do
    local lab = j.src.lab
    if lab and lab._open and not labs[lab] then
      labs[lab] = true
      links_ready(lab)
    end
    probes[i] = { netns = j.src.netns, dst = j.addr, size = j.size or opts.size, df = j.df or opts.df }
    if is_v6(j.addr) then
      for _, n in ipairs { j.src, j.dst or owner(lab, j.addr) } do
        if type(n) == "table" and n.netns and not seen[n] then
          seen[n] = true
          v6[#v6 + 1] = n
        end
      end
    end
  end
  settle(v6)
  local o = {}
  for k, v in pairs(PROBE_OPTS) do o[k] = opts[k] or v end
  if opts.stop ~= nil then o.stop = opts.stop end
  local res = core.icmp.ping(probes, o)
  local budget = opts.why or 200
  for i, j in ipairs(jobs) do
    local r = res[i]
    j.ok, j.rtt, j.sent, j.received, j.result = r.ok, r.rtt, r.sent, r.received, r
    if not r.ok then
      if not r.code then budget = budget - 1 end
      j.why = M.why(j.src.netns, j.src.name, j.addr, r, o.timeout, budget < 0)
    end
  end
  return jobs
end

return M
