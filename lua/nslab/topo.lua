--- nslab.topo: reusable topologies with automatic addressing, as plain
-- data first (nodes, links with addresses, routes), then built into any lab.
--
--     local topo = require "nslab.topo"
--     local t = topo.line(4)            -- data: t.nodes, t.links, t.routes
--     local n = t:build(lab)            -- n.h1 ... n.h4 are lab nodes
--     lab:pingall()                     -- everyone reaches everyone
--
-- * `line(n)`: h1 - h2 - ... - hn, a /30 per link (10.0.0.0/30, .4/30, ...),
--   routers with static routes (default route one way, the other way's
--   subnets summarised into a few prefixes, so n·log n routes in all).
-- * `ring(n)`: the same closed into a ring; each node goes the short way.
-- * `star(n)`: bridge s1 with hosts h1..hn in one subnet (10.0.0.0/24 for
--   up to 253 hosts, wider beyond).
-- * `tree(depth, fanout)`: Mininet's tree: bridges `depth` levels deep,
--   `fanout` children each, hosts at the leaves, one subnet.
--
-- A routed line or ring whose longest path is over 60 hops gets
-- `net.ipv4.ip_default_ttl` and `net.ipv6.conf.{default,all}.hop_limit`
-- = 255 in every node (`t.sysctls`): the default of 64 would drop packets
-- past about 63 routers. So `line(n)` is routed end to end up to n = 255.
--
-- Options (all): `prefix` (string put before every node name, default ""),
-- `base` (IPv4 pool, default "10.0.0.0/8"), `ipv6` (true, or a /48 pool
-- such as "fd00:1:2::/48": IPv6 addresses too; default "fd00::/48"), and
-- for line and ring `routes` (default true; false: plain hosts, no routes).
--
-- Two topologies in one lab need a different `prefix` and a different
-- `base` (e.g. `{prefix = "b-", base = "10.200.0.0/16"}`): with the same
-- pool they get the same addresses, and a ping to one answers from the
-- other. A routed path can be at most 255 hops (the IP TTL): a line longer
-- than 256 nodes builds, but its ends cannot reach each other. Building
-- 100 nodes or more with stderr on a terminal shows a progress line there
-- (nodes, links, rate).
-- @module nslab.topo
local M = {}

local Topo = {}
Topo.__index = Topo

-- ---- address arithmetic ----

-- Address text goes through the C parser and formatter (inet_pton and
-- inet_ntop: RFC 5952 IPv6 text); only the arithmetic is done here.
require "nslab" -- registers nslab.core
local inet = require("nslab.core").inet
local opts_mod = require "nslab.opts"

-- The address family, bytes and prefix length of s, or nil when s is not
-- an address (with or without "/prefixlen").
local function parse(s)
  local ok, t = pcall(inet.parse, s)
  if ok then return t end
end

local function str4(n)
  return inet.format(string.pack(">I4", n & 0xffffffff))
end

-- {first, size} of an IPv4 pool "10.0.0.0/8" (op: "topo.line", ...).
local function pool4(op, s)
  local t = parse(s)
  if not t or t.family ~= "inet" or not t.has_prefixlen or t.prefixlen > 30 then
    opts_mod.invalid(op, string.format("%q", s), "base must be an IPv4 prefix of length 0..30 such as \"10.0.0.0/8\"")
  end
  local size = 1 << (32 - t.prefixlen)
  return { first = string.unpack(">I4", t.bytes) & ~(size - 1), size = size }
end

-- The three leading groups of an IPv6 /48 pool "fd00:1:2::/48".
local function pool6(op, v)
  if v == nil or v == false then return nil end
  if v == true then v = "fd00::/48" end
  local t = parse(v)
  if not t or t.family ~= "inet6" or t.prefixlen ~= 48 then
    opts_mod.invalid(op, string.format("%q", v), "ipv6 must be true or a /48 such as \"fd00:1:2::/48\"")
  end
  return { string.unpack(">I2I2I2", t.bytes) }
end

local function str6(g, subnet, host)
  return inet.format(string.pack(">I2I2I2I2I2I2I2I2", g[1], g[2], g[3], subnet, 0, 0, 0, host))
end

--- Splits the index range [lo, hi) into aligned power-of-two blocks:
-- the fewest CIDR prefixes covering exactly that range of subnets.
-- @tparam integer lo first index
-- @tparam integer hi one past the last
-- @treturn {{start, bits},...} block start index and log2 of its size
function M.blocks(lo, hi)
  local out = {}
  while lo < hi do
    local bits = 0
    while lo % (1 << (bits + 1)) == 0 and lo + (1 << (bits + 1)) <= hi do bits = bits + 1 end
    out[#out + 1] = { lo, bits }
    lo = lo + (1 << bits)
  end
  return out
end

-- ---- building the data ----

-- The options of topo.KIND (argument argn), checked by nslab.opts; an
-- error points at the line calling topo.KIND, which calls this.
local function check(kind, argn, opts, fields)
  local checked = opts_mod.check("topo." .. kind, argn, opts, fields, 4)
  return checked -- not a tail call: the level counts this frame
end

local function new(kind, opts)
  return setmetatable({ kind = kind, nodes = {}, links = {}, routes = {}, prefix = opts.prefix or "" }, Topo)
end

local function add_node(t, kind, name)
  name = t.prefix .. name
  t.nodes[#t.nodes + 1] = { name = name, kind = kind }
  return name
end

-- A size argument: an integer (argument error) of at least min (EINVAL).
local function count_check(what, argn, name, n, min)
  if math.type(n) ~= "integer" then
    opts_mod.argerror("topo." .. what, argn, string.format("%s must be an integer, not %s", name,
      math.type(n) == "float" and "a float" or type(n)), 3)
  end
  opts_mod.range("topo." .. what, nil, name, n, min)
end

local P2P = { prefix = "string", base = "string", ipv6 = "boolean|string", routes = "boolean" }

-- Over this many hops the default TTL and hop limit (64) are raised.
local LONG_PATH = 60
local LONG_SYSCTLS = { ["net.ipv4.ip_default_ttl"] = "255", ["net.ipv6.conf.default.hop_limit"] = "255",
  ["net.ipv6.conf.all.hop_limit"] = "255" }

-- Gives t the sysctls of a long routed path (hops: its longest path).
local function long_path(t, hops)
  if hops > LONG_PATH then
    t.sysctls = {}
    for k, v in pairs(LONG_SYSCTLS) do t.sysctls[k] = v end
  end
end

-- Point-to-point topologies: nodes 1..n, link k joins ends[k] (subnet k-1).
local function p2p(kind, n, nlinks, opts)
  local op = "topo." .. kind
  local t = new(kind, opts)
  local v4 = pool4(op, opts.base or "10.0.0.0/8")
  local v6 = pool6(op, opts.ipv6)
  if nlinks * 4 > v4.size then
    opts_mod.invalid(op, string.format("%q", opts.base or "10.0.0.0/8"),
      string.format("%d /30 subnets do not fit in base", nlinks))
  end
  if v6 and nlinks > 65536 then opts_mod.invalid(op, nil, "at most 65536 links with ipv6") end
  local routed = opts.routes ~= false
  for i = 1, n do add_node(t, routed and "router" or "host", "h" .. i) end
  t.addr = function(k, e) -- address (no prefixlen) of end e (1, 2) of subnet k
    return str4(v4.first + 4 * k + e), v6 and str6(v6, k, e)
  end
  for k = 0, nlinks - 1 do
    local a, b = k + 1, (k + 1) % n + 1
    local a4, a6 = t.addr(k, 1)
    local b4, b6 = t.addr(k, 2)
    t.links[#t.links + 1] = { a = t.nodes[a].name, b = t.nodes[b].name,
      addrs = { v6 and { a4 .. "/30", a6 .. "/64" } or a4 .. "/30",
        v6 and { b4 .. "/30", b6 .. "/64" } or b4 .. "/30" } }
  end
  t.subnet = function(k, bits) -- the prefixes of a block of 2^bits subnets from k
    return str4(v4.first + 4 * k) .. "/" .. (30 - bits),
      v6 and (str6(v6, k, 0):gsub("::0$", "::") .. "/" .. (64 - bits))
  end
  return t, routed, v6
end

-- Routes of node `name`: subnets [lo, hi) through gw (an {v4, v6} pair).
local function route_range(t, name, lo, hi, gw4, gw6)
  for _, blk in ipairs(M.blocks(lo, hi)) do
    local d4, d6 = t.subnet(blk[1], blk[2])
    local r = t.routes[name] or {}
    r[#r + 1] = { dst = d4, via = gw4 }
    if d6 then r[#r + 1] = { dst = d6, via = gw6 } end
    t.routes[name] = r
  end
end

local function default(t, name, gw4, gw6)
  local r = t.routes[name] or {}
  r[#r + 1] = { dst = "default", via = gw4 }
  if gw6 then r[#r + 1] = { dst = "default", via = gw6 } end
  t.routes[name] = r
end

--- A chain h1 - h2 - ... - hn, a /30 (and /64) per link, routed.
-- @tparam integer n number of nodes (>= 2)
-- @tparam[opt] table opts prefix, base, ipv6, routes (see the module)
-- @treturn topo data {kind, nodes = {{name, kind}}, links = {{a, b, addrs}},
-- routes = {[name] = {{dst, via}}}, sysctls = {[key] = value} or nil (set
-- in every node: see the module)} with method `build(lab)`
-- @raise argument error for an n that is not an integer, an unknown option
-- or one of the wrong type; EINVAL error object for an n below 2, a base or
-- ipv6 that is no such prefix, or a base too small for the links
function M.line(n, opts)
  count_check("line", 1, "n", n, 2)
  opts = check("line", 2, opts, P2P)
  local t, routed = p2p("line", n, n - 1, opts)
  if not routed then return t end
  long_path(t, n - 1)
  for i = 1, n do
    -- node i is end 2 of subnet i-2 (left) and end 1 of subnet i-1 (right)
    local name = t.nodes[i].name
    if i < n then default(t, name, t.addr(i - 1, 2)) else default(t, name, t.addr(i - 2, 1)) end
    if i > 2 and i < n then route_range(t, name, 0, i - 2, t.addr(i - 2, 1)) end
  end
  return t
end

--- A ring h1 - ... - hn - h1, a /30 (and /64) per link, routed the short way.
-- @tparam integer n number of nodes (>= 3)
-- @tparam[opt] table opts as `line`
-- @treturn topo
-- @raise as `line` (n at least 3)
function M.ring(n, opts)
  count_check("ring", 1, "n", n, 3)
  opts = check("ring", 2, opts, P2P)
  local t, routed = p2p("ring", n, n, opts)
  if not routed then return t end
  long_path(t, n // 2)
  for i = 1, n do
    -- right link: subnet i-1 (end 1); left link: subnet (i-2) mod n (end 2)
    local name, left = t.nodes[i].name, (i - 2) % n
    default(t, name, t.addr(i - 1, 2))
    -- subnets more than half way round go left: (i-1+d) mod n for d in
    -- ((n-1)//2, n-2], an index range [lo, hi) that may wrap past n once
    local lo, hi = i + (n - 1) // 2, i + n - 2
    local l4, l6 = t.addr(left, 1)
    if lo < math.min(hi, n) then route_range(t, name, lo, math.min(hi, n), l4, l6) end
    if math.max(lo, n) < hi then route_range(t, name, math.max(lo, n) - n, hi - n, l4, l6) end
  end
  return t
end

-- One-subnet topologies: hosts numbered from 1 in the pool.
local LAN = { prefix = "string", base = "string", ipv6 = "boolean|string" }

local function lan(t, opts, nhosts)
  local op = "topo." .. t.kind
  local v4 = pool4(op, opts.base or "10.0.0.0/8")
  local v6 = pool6(op, opts.ipv6)
  local bits = 8
  while (1 << bits) < nhosts + 2 do bits = bits + 1 end
  if (1 << bits) > v4.size then
    opts_mod.invalid(op, string.format("%q", opts.base or "10.0.0.0/8"),
      string.format("%d hosts do not fit in base", nhosts))
  end
  local plen = 32 - bits
  return function(k)
    local a = str4(v4.first + k) .. "/" .. plen
    if v6 then return { a, str6(v6, 0, k) .. "/64" } end
    return a
  end
end

--- A star: bridge s1 with hosts h1..hn on one subnet.
-- @tparam integer n number of hosts (>= 1)
-- @tparam[opt] table opts prefix, base, ipv6
-- @treturn topo
-- @raise as `line` (n at least 1; no `routes`)
function M.star(n, opts)
  count_check("star", 1, "n", n, 1)
  opts = check("star", 2, opts, LAN)
  local t = new("star", opts)
  local addr = lan(t, opts, n)
  local s = add_node(t, "bridge", "s1")
  for i = 1, n do
    local h = add_node(t, "host", "h" .. i)
    t.links[#t.links + 1] = { a = h, b = s, addrs = { addr(i) } }
  end
  return t
end

--- Mininet's tree: bridges depth levels deep with fanout children each,
-- fanout hosts under each bottom bridge, all on one subnet.
-- @tparam integer depth levels of bridges (>= 1)
-- @tparam integer fanout children per bridge (>= 1)
-- @tparam[opt] table opts prefix, base, ipv6
-- @treturn topo with fanout^depth hosts
-- @raise as `star` (depth and fanout at least 1)
function M.tree(depth, fanout, opts)
  count_check("tree", 1, "depth", depth, 1)
  count_check("tree", 2, "fanout", fanout, 1)
  opts = check("tree", 3, opts, LAN)
  local t = new("tree", opts)
  local addr = lan(t, opts, math.tointeger(fanout ^ depth))
  local ns, nh = 0, 0
  local function grow(level)
    ns = ns + 1
    local s = add_node(t, "bridge", "s" .. ns)
    for _ = 1, fanout do
      if level == depth then
        nh = nh + 1
        local h = add_node(t, "host", "h" .. nh)
        t.links[#t.links + 1] = { a = h, b = s, addrs = { addr(nh) } }
      else
        local child = grow(level + 1) -- adds its own links first
        t.links[#t.links + 1] = { a = child, b = s }
      end
    end
    return s
  end
  grow(1)
  return t
end

--- Builds a topology into a lab: nodes, links, then routes.
-- @tparam lab lab an open lab
-- @treturn table nodes by name (with the prefix)
-- @raise what the lab raises (the failing step named; the lab keeps what
-- was built before it, and removes it when it closes)
-- @usage local n = topo.star(3):build(lab)
function Topo:build(lab)
  lab:expect(#self.nodes, #self.links)
  local by = {}
  local nopts = self.sysctls and { sysctls = self.sysctls } or nil
  for _, n in ipairs(self.nodes) do by[n.name] = lab[n.kind](lab, n.name, nopts) end
  for _, l in ipairs(self.links) do
    local addrs = l.addrs
    lab:link(by[l.a], by[l.b], addrs and { addrs = { addrs[1], addrs[2] } } or nil)
  end
  for _, n in ipairs(self.nodes) do
    for _, r in ipairs(self.routes[n.name] or {}) do by[n.name]:route(r) end
  end
  return by
end

--- `topo.build(lab, t)` is `t:build(lab)`.
function M.build(lab, t) return Topo.build(t, lab) end

return M
