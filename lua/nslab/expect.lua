--- nslab.expect: checks about a lab's network, each raising a failure
-- that says what was expected, what was seen and for how long it was
-- tried:
--
--     expected blue reachable from red over IPv4 within 3 s; 0 of 6
--     probes answered; red has no route to 10.0.2.2
--
-- `reachable`, `unreachable`, `route_via`, `mtu_path`, `port_open` and
-- `eventually` (retry any check until it holds). The same are lab methods
-- (`lab:reachable(red, blue)`, where nodes may also be given by name), a
-- luassert extension (`nslab.luassert`) and what `nslab --test` counts.
--
-- A failure is a table with `op` ("expect.reachable"), `expected`,
-- `seen`, `elapsed` (seconds), `tries`, `why` (the kernel's reason, or
-- nil) and `msg`; it prints as `msg`. `expect.is_failure(e)` tells one.
--
-- Under `nslab --test`, a check run from the script (not inside another
-- check or `eventually`) reports PASS or FAIL to the runner and, when it
-- fails, returns false instead of raising, so the script goes on to its
-- next check.
-- @module nslab.expect
local core = require("nslab").core
local Node = require "nslab.node"
local Reach = require "nslab.reach"
local Route = require "nslab.route"
local opts_mod = require "nslab.opts"

local M = {}

local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(self) return self.msg end

local function fail(op, expected, seen, elapsed, tries, why)
  local msg = string.format("expected %s; %s", expected, seen)
  if why then msg = msg .. "; " .. why end
  error(setmetatable({ op = op, expected = expected, seen = seen, elapsed = elapsed, tries = tries,
    why = why, msg = msg }, Failure), 0)
end

--- Whether v is a failure raised by a check of this module.
-- @param v any value
-- @treturn boolean
function M.is_failure(v) return getmetatable(v) == Failure end

-- ---- the collector (nslab --test) ----

local depth = 0 -- checks running now: only the outermost reports
local said    -- what the outermost check running claims (see claim)

--- Sets the function told of every outermost check (the runner's).
-- @tparam function|nil fn `fn(ok, what, err, elapsed)`: what the check
-- claims ("blue reachable from red over IPv4 within 3 s"), the failure;
-- nil: none
function M.collect(fn) M._collector = fn end

-- A check says what it claims, for the runner's PASS line.
local function claim(text)
  if depth == 1 or said == nil then said = text end
  return text
end

--- Runs a check: fn raises on failure. Outside the runner it returns
-- fn's results or raises; under the runner the outermost check reports
-- PASS/FAIL and returns false on failure.
-- @tparam string name what the check claims (for the runner's line)
-- @tparam function fn
-- @param ... fn's arguments
-- @return fn's results (false under the runner when it failed)
function M.check(name, fn, ...)
  local collector = depth == 0 and M._collector
  depth = depth + 1
  if depth == 1 then said = nil end
  local t0 = core.monotime()
  local r = table.pack(pcall(fn, ...))
  depth = depth - 1
  if collector then
    collector(r[1], said or name, not r[1] and r[2] or nil, core.monotime() - t0)
    if not r[1] then
      if not M.is_failure(r[2]) and not (type(r[2]) == "string" and r[2]:find("^FAILED")) then
        error(r[2], 0) -- a mistake in the script, or an interrupt: stop
      end
      return false
    end
  elseif not r[1] then
    error(r[2], 0)
  end
  return table.unpack(r, 2, r.n)
end

-- ---- arguments ----

local function q(s) return string.format("%q", s) end

local function node_of(op, lab, v, argn)
  if getmetatable(v) == Node then return v end
  if type(v) == "string" and lab and lab:node(v) then return lab:node(v) end
  opts_mod.argerror(op, argn, "node expected, got " .. (type(v) == "string" and q(v) or type(v)), 4)
end

local FAMILY_WORD = { inet = "IPv4", inet6 = "IPv6" }

local function parse(text)
  local ok, a = pcall(core.inet.parse, tostring(text))
  return ok and a or nil
end

-- The address a check aims at and its words: a node's first address of
-- the family, or an address.
local function target(op, lab, v, family, argn)
  local node = getmetatable(v) == Node and v or (type(v) == "string" and lab and lab:node(v))
  if node then
    local addr = node:first_addr(family)
    if not addr then
      opts_mod.invalid(op, q(node.name), string.format("%s %q has no %saddress", node.kind, node.name,
        family and (FAMILY_WORD[family] .. " ") or ""))
    end
    return addr, node.name, parse(addr).family, node
  end
  local a = type(v) == "string" and parse(v)
  if not a then
    opts_mod.argerror(op, argn, "node, node name or address expected, got " ..
      (type(v) == "string" and q(v) or type(v)), 4)
  end
  if family and a.family ~= family then
    opts_mod.invalid(op, q(v), string.format("family %s does not match address %s", family, a.address))
  end
  return a.address, a.address, a.family
end

local function src_of(op, lab, v)
  local n = node_of(op, lab, v, 1)
  if n.kind == "bridge" then
    opts_mod.invalid(op, q(n.name), string.format("bridge %q has no address to send from", n.name))
  end
  return n
end

local function secs(t) return string.format("%g s", t) end

local function check_time(op, opts, field, default)
  local v = opts[field]
  if v == nil then return default end
  if v <= 0 then opts_mod.invalid(op, nil, string.format("%s %s is out of range (> 0 seconds)", field, v)) end
  return v
end

-- ---- reachable / unreachable ----

local REACH_OPTS = { family = "string", timeout = "number", interval = "number" }

local function probe(op, lab, a, b, opts, default_timeout)
  opts = opts_mod.check(op, 3, opts, REACH_OPTS, 4)
  if opts.family then opts_mod.choice(op, nil, "family", opts.family, { "inet", "inet6" }) end
  local src = src_of(op, lab, a)
  local addr, bname, family, bnode = target(op, lab or src.lab, b, opts.family, 2)
  if src.lab then require("nslab.neigh").fit(src.lab) end
  local timeout = check_time(op, opts, "timeout", default_timeout)
  local interval = math.min(check_time(op, opts, "interval", 0.5), timeout)
  local count = math.max(1, math.floor(timeout / interval + 1e-9))
  local t0 = core.monotime()
  local j = Reach.run({ { src = src, addr = addr, dst = bnode } }, { count = count, interval = interval,
    timeout = math.max(timeout - (count - 1) * interval, 0.05) })[1]
  return j, src, bname, FAMILY_WORD[family], timeout, core.monotime() - t0
end

local function answered(j) return string.format("%d of %d probes answered", j.received, j.sent) end

--- Checks that b answers ICMP echo from a: echo requests every
-- `interval` until one is answered or `timeout` has passed.
-- @tparam node|string a the node sending (a node, or its name for a lab method)
-- @tparam node|string b a node (its first address of the family), a node name, or an address
-- @tparam[opt] table opts `family` ("inet"|"inet6"), `timeout` (seconds,
-- default 3), `interval` (seconds between echoes, default 0.5)
-- @treturn number the round-trip time of the first answer, seconds
-- @tparam[opt] lab lab where nodes given by name are looked up (the lab
-- methods pass it; by default the lab of a)
-- @raise a failure (`expected blue reachable from red over IPv4 within 3 s;
-- 0 of 6 probes answered; red has no route to 10.0.2.2`); argument error
-- for a bad a, b or option; EINVAL error object for a bridge as a, a
-- node without an address of the family, a bad family or time
-- @usage expect.reachable(red, blue, {family = "inet6"})
function M.reachable(a, b, opts, lab)
  local op = "expect.reachable"
  return M.check(op, function()
    local j, src, bname, fam, timeout, took = probe(op, lab, a, b, opts, 3)
    local what = claim(string.format("%s reachable from %s over %s within %s", bname, src.name, fam,
      secs(timeout)))
    if not j.ok then
      fail(op, what,
        answered(j), took, j.sent, j.why)
    end
    return j.result.rtt_min
  end)
end

--- Checks that b does not answer ICMP echo from a within the timeout.
-- @tparam node|string a
-- @tparam node|string b as `reachable`
-- @tparam[opt] table opts as `reachable` (timeout default 1 s)
-- @treturn string why b is unreachable ("red has no route to 10.0.2.2")
-- @tparam[opt] lab lab where nodes given by name are looked up (the lab
-- methods pass it; by default the lab of a)
-- @raise a failure when an echo is answered (`expected 10.0.2.2 unreachable
-- from left over IPv4 for 1 s; 1 of 2 probes answered (rtt 0.052 ms)`);
-- argument errors and EINVAL as `reachable`
function M.unreachable(a, b, opts, lab)
  local op = "expect.unreachable"
  return M.check(op, function()
    local j, src, bname, fam, timeout, took = probe(op, lab, a, b, opts, 1)
    local what = claim(string.format("%s unreachable from %s over %s for %s", bname, src.name, fam,
      secs(timeout)))
    if j.ok then
      fail(op, what,
        string.format("%s (rtt %.3f ms)", answered(j), j.result.rtt_min * 1000), took, j.sent)
    end
    return j.why
  end)
end

-- ---- route_via ----

--- Checks which way a sends traffic to dst, as `ip route get` says
-- (RTM_GETROUTE): through hop, a node (one of its addresses is the
-- gateway, or it is dst itself on a link), an address (the gateway) or an
-- ifname of a (the device).
-- @tparam node|string a
-- @tparam node|string dst a node (its first address), node name, or address
-- @tparam node|string hop
-- @tparam[opt] table opts `family` ("inet"|"inet6": which address of a node dst)
-- @treturn table the route (`nslab.route.get`)
-- @tparam[opt] lab lab where nodes given by name are looked up (the lab
-- methods pass it; by default the lab of a)
-- @raise a failure (`expected route from red to 10.0.2.2 via r2; the kernel
-- sends it via 10.0.1.3 dev eth1`); argument errors and EINVAL as `reachable`
function M.route_via(a, dst, hop, opts, lab)
  local op = "expect.route_via"
  return M.check(op, function()
    opts = opts_mod.check(op, 4, opts, { family = "string" }, 4)
    local src = src_of(op, lab, a)
    local addr, dname = target(op, lab or src.lab, dst, opts.family, 2)
    lab = lab or src.lab
    local hop_node = getmetatable(hop) == Node and hop or (type(hop) == "string" and lab and lab:node(hop))
    local hop_addr = not hop_node and type(hop) == "string" and parse(hop)
    if not hop_node and not hop_addr and type(hop) ~= "string" then
      opts_mod.argerror(op, 3, "node, address or ifname expected, got " .. type(hop), 3)
    end
    local hop_name = hop_node and hop_node.name or hop
    local t0 = core.monotime()
    local ok, rt = pcall(Route.get, { netns = src.netns, dst = addr })
    local expected = claim(string.format("route from %s to %s via %s", src.name, dname, hop_name))
    if not ok then
      if type(rt) == "table" and rt.code then
        fail(op, expected, string.format("%s has no route to %s (%s)", src.name, addr, rt.code),
          core.monotime() - t0, 1)
      end
      error(rt, 0)
    end
    local gw = rt.via or addr
    local holds
    if hop_node then
      for _, x in ipairs(hop_node._addrs) do
        if x.address == gw then holds = true end
      end
    elseif hop_addr then
      holds = hop_addr.address == gw
    else
      holds = rt.dev == hop
    end
    if not holds then
      fail(op, expected, string.format("the kernel sends it %s%s", rt.via and ("via " .. rt.via .. " ") or
        "directly ", rt.dev and ("dev " .. rt.dev) or ("(" .. tostring(rt.type) .. ")")), core.monotime() - t0, 1)
    end
    return rt
  end)
end

-- ---- mtu_path ----

local HEADERS = { inet = 28, inet6 = 48 } -- IP + ICMP echo header bytes

--- Checks that packets of `bytes` (the whole IP packet, as an MTU
-- counts it) cross from a to b unfragmented: ICMP echo with DF set
-- (IP_PMTUDISC_DO, as `ping -M do -s bytes-28`). When they do not, every
-- size up to bytes is probed at once to say the largest that passes.
-- @tparam node|string a
-- @tparam node|string b as `reachable`
-- @tparam integer bytes packet size (IPv4: 28..65535, IPv6: 48..65535)
-- @tparam[opt] table opts `family`, `timeout` (seconds, default 2)
-- @treturn integer bytes
-- @tparam[opt] lab lab where nodes given by name are looked up (the lab
-- methods pass it; by default the lab of a)
-- @raise a failure (`expected 1500-byte packets to cross from red to blue
-- unfragmented over IPv4 within 2 s; the largest that passes is 1400
-- bytes; 10.0.1.1 says fragmentation needed (next-hop MTU 1400)`);
-- argument errors and EINVAL as `reachable`, EINVAL for bytes out of range
function M.mtu_path(a, b, bytes, opts, lab)
  local op = "expect.mtu_path"
  return M.check(op, function()
    if math.type(bytes) ~= "integer" then opts_mod.argerror(op, 3, "integer expected, got " .. type(bytes), 3) end
    opts = opts_mod.check(op, 4, opts, { family = "string", timeout = "number" }, 4)
    local src = src_of(op, lab, a)
    local addr, bname, family = target(op, lab or src.lab, b, opts.family, 2)
    local hdr = HEADERS[family]
    opts_mod.range(op, nil, "bytes", bytes, hdr, 65535)
    local timeout = check_time(op, opts, "timeout", 2)
    local what = claim(string.format("%d-byte packets to cross from %s to %s unfragmented over %s within %s",
      bytes, src.name, bname, FAMILY_WORD[family], secs(timeout)))
    local t0 = core.monotime()
    local j = Reach.run({ { src = src, addr = addr, size = bytes - hdr, df = true } },
      { timeout = timeout })[1]
    if j.ok then return bytes end
    -- every size at once: the largest answered is the path's
    local jobs = {}
    for size = hdr, bytes - 1 do jobs[#jobs + 1] = { src = src, addr = addr, size = size - hdr, df = true } end
    Reach.run(jobs, { timeout = math.min(timeout, 1), why = 0 })
    local best
    for _, x in ipairs(jobs) do if x.ok then best = x.size + hdr end end
    local seen = best and string.format("the largest that passes is %d bytes", best) or "no size passes"
    fail(op, what, seen, core.monotime() - t0, 1 + #jobs, j.why)
  end)
end

-- ---- port_open ----

--- Checks that b accepts connections on port from a: a TCP connect from
-- a socket in a's namespace, or for UDP a datagram that draws no ICMP
-- port unreachable (`nslab.core.sock.probe`).
-- @tparam node|string a
-- @tparam node|string b as `reachable`
-- @tparam integer port 1..65535
-- @tparam[opt] table opts `proto` ("tcp" default, "udp"), `family`,
-- `timeout` (seconds, default 1)
-- @tparam[opt] lab lab where nodes given by name are looked up (the lab
-- methods pass it; by default the lab of a)
-- @raise a failure (`expected tcp port 80 open on blue from red within 1
-- s; connection refused (ECONNREFUSED)`); argument errors and EINVAL as
-- `reachable`
function M.port_open(a, b, port, opts, lab)
  local op = "expect.port_open"
  return M.check(op, function()
    if math.type(port) ~= "integer" then opts_mod.argerror(op, 3, "integer expected, got " .. type(port), 3) end
    opts = opts_mod.check(op, 4, opts, { proto = "string", family = "string", timeout = "number" }, 4)
    opts_mod.range(op, nil, "port", port, 1, 65535)
    if opts.proto then opts_mod.choice(op, nil, "proto", opts.proto, { "tcp", "udp" }) end
    local src = src_of(op, lab, a)
    local addr, bname = target(op, lab or src.lab, b, opts.family, 2)
    local timeout = check_time(op, opts, "timeout", 1)
    local proto = opts.proto or "tcp"
    local what = claim(string.format("%s port %d open on %s from %s within %s", proto, port, bname, src.name,
      secs(timeout)))
    local r = core.sock.probe { netns = src.netns, dst = addr, port = port, proto = proto, timeout = timeout }
    if not r.open then
      local seen = r.code == "ETIMEDOUT" and "no answer" or
        string.format("%s (%s)", core.strerror(r.errno):lower(), r.code)
      fail(op, what, seen, r.elapsed, 1)
    end
    return true
  end)
end

-- ---- eventually ----

--- Retries fn until it holds (returns without raising, and not false)
-- or `timeout` has passed.
-- @tparam function fn a check (raising on failure) or a predicate
-- @tparam[opt] table opts `timeout` (seconds, default 10), `interval`
-- (seconds between tries, default 0.2)
-- @return fn's results
-- @raise a failure (`expected within 5 s: <the last failure>; tried 12
-- times over 5.0 s`) keeping the last failure as `last`
-- @usage expect.eventually(function() expect.reachable(red, blue, {timeout = 0.5}) end, {timeout = 10})
function M.eventually(fn, opts)
  local op = "expect.eventually"
  if type(fn) ~= "function" then opts_mod.argerror(op, 1, "function expected, got " .. type(fn)) end
  opts = opts_mod.check(op, 2, opts, { timeout = "number", interval = "number" })
  local timeout = check_time(op, opts, "timeout", 10)
  local interval = check_time(op, opts, "interval", 0.2)
  return M.check(op, function()
    local t0, tries = core.monotime(), 0
    while true do
      tries = tries + 1
      local r = table.pack(pcall(fn))
      if r[1] and r[2] ~= false then return table.unpack(r, 2, r.n) end
      if not r[1] and not M.is_failure(r[2]) and not (type(r[2]) == "string" and r[2]:find("^FAILED")) then
        error(r[2], 0) -- not a check failing: a bug or an interrupt
      end
      local last = r[1] and "the check returned false" or r[2]
      local now = core.monotime()
      if now - t0 >= timeout then
        local f = setmetatable({ op = op, expected = "within " .. secs(timeout), seen = tostring(last),
          elapsed = now - t0, tries = tries, last = last }, Failure)
        f.msg = string.format("expected within %s: %s; tried %d times over %.1f s", secs(timeout), tostring(last),
          tries, now - t0)
        error(f, 0)
      end
      core.sleep(math.min(interval, timeout - (now - t0)))
    end
  end)
end

-- ---- lab methods ----

--- Adds `reachable`, `unreachable`, `route_via`, `mtu_path`, `port_open`
-- and `eventually` to the lab class; nodes may be given by name there.
-- @tparam table Lab the lab class
function M.install(Lab)
  for _, name in ipairs { "reachable", "unreachable", "route_via", "mtu_path", "port_open" } do
    local f, nargs = M[name], (name == "reachable" or name == "unreachable") and 3 or 4
    Lab[name] = function(self, ...)
      self:_check_open("lab:" .. name)
      local args = table.pack(...)
      args[nargs + 1] = self
      return f(table.unpack(args, 1, nargs + 1))
    end
  end
  Lab.eventually = function(_, fn, opts) return M.eventually(fn, opts) end
end

return M
