--- nslab.lab: a lab owns everything created through it and removes it,
-- in reverse order, when it closes: at the end of its scope
-- (`local lab <close> = nslab.lab "x"`), on an error anywhere in the script,
-- at normal exit (`__gc` when the host closes Lua), and on SIGINT, SIGTERM
-- or SIGHUP (the host turns them into the error "interrupted (SIGINT)", so
-- `<close>` unwinds). `lab:keep()` or `nslab --keep` leaves it running.
--
-- Every node is a network namespace named exactly like the node, so
-- `ip netns exec red ...` works while the lab runs; links are veth pairs
-- between namespaces, so deleting the namespaces removes every link too.
-- What the lab is about to create is first written to /run/nslab/NAME.lua
-- (see `nslab.record`), so `nslab --clean NAME` can remove the leftovers of
-- a lab whose process was killed (SIGKILL), and only those.
--
-- Each building step (`host`, `router`, `bridge`, `link`) is all or
-- nothing: if it fails halfway, what it made is removed and the original
-- error object is raised again with a `step` field naming the step
-- (`lab "x": link red:eth0 -- blue:eth0`), which the error prints first.
--
-- Privilege: CAP_NET_ADMIN and CAP_SYS_ADMIN (root, or `nslab --rootless`).
-- @module nslab.lab
-- "nslab" first: it registers nslab.core (`nslab --clean` loads this alone).
local nslab = require "nslab"
local core = nslab.core
local record = require "nslab.record"
local Node = require "nslab.node"
local view = require "nslab.view"
local opts_mod = require "nslab.opts"

-- errno names from the C library (src/core/err.c), never numbers here.
local E = core.errno

local M = {}

local Lab = {}
Lab.__index = Lab

-- Open labs, in creation order (weak: a lab dropped unclosed is collected
-- and its __gc cleans up).
local open_labs = setmetatable({}, { __mode = "k" })
-- Labs whose scope ended during an `nslab -i` script: held until the REPL
-- ends, when lua_close runs their __gc.
local deferred = {}
local seq = 0

local function q(s) return string.format("%q", s) end

local function shell_quote(s)
  if s:match("^[%w%._%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function raise(op, object, errno, why)
  error(core.error { op = op, object = object, errno = errno, extack = why }, 0)
end

-- Names a failing step on the error (object: field `step`; string: prefix).
local function with_step(e, step)
  if type(e) == "table" then
    if e.step == nil then e.step = step end
    return e
  end
  return step .. ": " .. tostring(e)
end

-- pcall that retries once when a signal's "interrupted" error landed in
-- the middle: teardown must finish even if Ctrl-C is pressed twice.
local function pcall_steady(fn)
  local ok, e = pcall(fn)
  if not ok and type(e) == "string" and e:find("interrupted (", 1, true) then
    ok, e = pcall(fn)
  end
  return ok, e
end

-- Fault-injection seam for the specs (spec/signals_spec.lua), not an API:
-- with NSLAB_TEST_SIGNAL_AT="POINT[:SIG[:N]]" in the environment, the lab
-- sends itself SIG (INT, TERM or HUP; default INT) N times (default 1)
-- the first time it passes POINT, so a spec can hit a window that is a few
-- instructions wide at will. Points: "netns-added" (lab:host/router/bridge,
-- right after the netns is made), "veth-added" (lab:link, right after the
-- veth pair is made), "teardown" (close, between ending the processes and
-- deleting the namespaces). Each signal is sent by core.kill_self and is
-- delivered (the handler has run) before this returns.
local TEST_SIGNAL_AT = os.getenv("NSLAB_TEST_SIGNAL_AT")
local function test_signal(point)
  if TEST_SIGNAL_AT == nil then return end
  local at, sig, n = TEST_SIGNAL_AT:match("^([%w%-]+):?(%u*):?(%d*)$")
  if at ~= point then return end
  TEST_SIGNAL_AT = nil
  sig = sig ~= "" and sig or "INT"
  for _ = 1, tonumber(n) or 1 do
    core.kill_self("SIG" .. sig)
  end
end

-- Lab and node names: 1..200 bytes, no '/', NUL or control characters.
local function check_name(op, name) record.check_name(op, name, 3) end

-- In rootless mode (`nslab --rootless`, or its automatic fallback) labs
-- live in nslab's own user and network namespaces, which end with it:
-- nothing can be kept. Says so; returns true when keeping is possible.
local function can_keep(name)
  if not rawget(_G, "NSLAB_ROOTLESS") then return true end
  io.stderr:write(string.format("nslab: lab %q cannot be kept in rootless mode: its namespaces end with " ..
    "nslab's own user namespace; it is removed at close as usual\n", name))
  return false
end

local check_opts, set_of = opts_mod.check, opts_mod.set

--- Creates a lab; nothing is built until `host`, `router`, `bridge`, `link`.
-- @tparam string name lab name (1..200 bytes, no '/', NUL or control
-- characters); one open lab per name
-- @tparam[opt] table opts `keep` (boolean: leave it running at close, as
-- `lab:keep()`; refused with a message in rootless mode), `progress` (boolean: force the progress line on or off;
-- default: on when stderr is a terminal and the lab has 100 or more nodes)
-- @treturn lab
-- @raise EINVAL for a bad name; EEXIST error object when a lab of that
-- name runs (in this process or another), or when a dead lab of that name
-- left namespaces behind (the message names `nslab --clean NAME`);
-- EBADMSG when its record cannot be used; EACCES when /run/nslab cannot
-- be written
-- @usage local lab <close> = nslab.lab "article"
function M.new(name, opts)
  check_name("nslab.lab", name)
  opts = check_opts("nslab.lab", opts, set_of("keep", "progress"))
  -- Before the record is written: without privilege, say which capability.
  nslab.core.need_caps("nslab.lab", q(name))
  local old, bad = record.load(name)
  if bad then raise("nslab.lab", q(name), E.EBADMSG, record.unreadable_text(name, bad)) end
  if old then
    if record.alive(old.pid, old.start) then
      raise("nslab.lab", q(name), E.EEXIST, record.is_self(old.pid)
        and string.format("lab %q is already running in this process (close it first)", name)
        or string.format("lab %q is already running (pid %d)", name, old.pid))
    end
    -- Only what is still the namespace it made: a name made again since
    -- is someone else's (it shows up when used, in lab:host).
    local c, left = record.contents(old), {}
    for _, n in ipairs(c.netns) do
      if record.same_id(record.netns_id(n), c.ids[n]) then left[#left + 1] = n end
    end
    if #left > 0 then
      raise("nslab.lab", q(name), E.EEXIST, string.format(
        "lab %q left %d netns behind (%s) when pid %d died: remove them with `nslab --clean %s`",
        name, #left, table.concat(left, ", "), old.pid, shell_quote(name)))
    end
    record.remove(name) -- stale: nothing of it is left
  end
  local rec = record.create(name)
  seq = seq + 1
  local self = {
    name = name,
    nodes = {},
    _by = {},
    _links = {},
    _undo = {},
    _procs = {},
    _rec = rec,
    _keep = opts.keep == true and can_keep(name),
    _seq = seq,
    _open = true,
    _t0 = core.monotime(),
    _progress = opts.progress,
    _nlinks = 0,
  }
  if self._progress == nil then self._progress = core.isatty(2) end
  setmetatable(self, Lab) -- after the record's file: finalized before it
  open_labs[self] = true
  return self
end

--- The open labs of this process, in creation order.
-- @treturn {lab,...}
function M.active()
  local list = {}
  for lab in pairs(open_labs) do
    if lab._open then list[#list + 1] = lab end
  end
  table.sort(list, function(a, b) return a._seq < b._seq end)
  return list
end

-- Ends every process living in the namespaces names (daemons, commands'
-- children, anything that entered them): SIGTERM, then after grace
-- seconds SIGKILL, then waits (at most 5 s) until none is left. Returns
-- how many were signalled first.
local function empty_netns(names, grace)
  local pids = nslab.netns.pids
  if #names == 0 or #pids(names) == 0 then return 0 end
  local n = nslab.netns.kill(names, grace > 0 and "SIGTERM" or "SIGKILL")
  for _, step in ipairs { { "SIGKILL", grace }, { nil, 5 } } do
    local deadline = core.monotime() + step[2]
    while #pids(names) > 0 and core.monotime() < deadline do core.sleep(0.01) end
    if #pids(names) == 0 then break end
    if step[1] then nslab.netns.kill(names, step[1]) end
  end
  return n
end

--- Removes what dead labs left behind: `nslab --clean [NAME]`; the same
-- function as `nslab.clean.clean` (see `nslab.clean`), kept here as public API.
-- @function clean
M.clean = function(...) return require("nslab.clean").clean(...) end

-- ---- building ----

-- Raises `lab:host "y": lab "x" is closed (EINVAL)` on a closed lab;
-- object: what the call names (a quoted node name), or nil.
function Lab:_check_open(op, object)
  if getmetatable(self) ~= Lab then
    error(string.format("bad self to '%s' (a lab expected; use lab:%s)", op, op:match("[%w_]+$")), 3)
  end
  if not self._open then
    error(core.error { op = op, object = object, errno = E.EINVAL,
      msg = string.format("lab %q is closed", self.name) }, 0)
  end
end

-- Runs body(push) as one step: push({fn=, what=, netns=, covered=}) puts
-- an undo entry on the lab's undo stack at once (the body makes each thing
-- and pushes its entry under core.defer_signals, so no signal comes in
-- between). On error the step's entries run newest first, signals held
-- back; an entry that fails to undo stays on the stack (and its netns in
-- the record) for close to retry; then the error is raised again, naming
-- the step.
function Lab:_step(what, body)
  local mark = #self._undo
  local ok, e = pcall(body, function(u) self._undo[#self._undo + 1] = u end)
  if ok then return end
  core.defer_signals(function()
    for i = #self._undo, mark + 1, -1 do
      local u = self._undo[i]
      if pcall_steady(u.fn) then
        table.remove(self._undo, i)
        if u.netns then self._rec:drop("netns", u.netns) end
      end
    end
  end)
  error(with_step(e, string.format("lab %q: %s", self.name, what)), 0)
end

-- Refuses a node name taken in this lab or in /run/netns, saying by whom.
function Lab:_claim(op, name)
  if self._by[name] then
    raise(op, q(name), E.EEXIST, string.format("lab %q already has a node %q", self.name, name))
  end
  if not nslab.netns.exists(name) then return end
  local rec = record.owner_of(name)
  local why
  if rec and record.alive(rec.pid, rec.start) then
    why = string.format("netns %q belongs to lab %q, running %s", name, rec.lab,
      record.is_self(rec.pid) and "in this process" or "as pid " .. rec.pid)
  elseif rec then
    why = string.format("netns %q is left over from lab %q (pid %d is gone): remove it with `nslab --clean %s`",
      name, rec.lab, rec.pid, shell_quote(rec.lab))
  else
    why = string.format("netns %q exists and was not made by nslab: refusing to use or remove it", name)
  end
  raise(op, q(name), E.EEXIST, why)
end

local function sorted_pairs(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local i = 0
  return function()
    i = i + 1
    return keys[i], t[keys[i]]
  end
end

-- Every group mapped in nslab's user namespace may ping (P8): "0 2147483647"
-- as root; rootless (README, "Without root") only gid 0 is mapped and the
-- kernel refuses unmapped groups (EINVAL), so "0 0" there.
local function ping_groups()
  local lo, hi
  local f = io.open("/proc/self/gid_map")
  for l in f and f:lines() or function() end do
    local first, _, count = l:match("(%d+)%s+(%d+)%s+(%d+)")
    if first then
      first, count = math.tointeger(first), math.tointeger(count)
      lo, hi = math.min(lo or first, first), math.max(hi or 0, first + count - 1)
    end
  end
  if f then f:close() end
  return string.format("%d %d", lo or 0, math.min(hi or 2147483647, 2147483647))
end
local PING_GROUPS = ping_groups()

-- The namespace of a node, lo up, ping_group_range open, sysctls.
function Lab:_node(kind, name, opts, extra)
  local op = "lab:" .. kind
  self:_check_open(op, type(name) == "string" and q(name) or nil)
  check_name(op, name)
  self:_claim(op, name)
  local node = Node.new(self, name, kind)
  self:_step(string.format("%s %q", kind, name), function(push)
    -- Intent, netns (with its identity) and undo entry together: a signal
    -- waits until all three exist, or none (the record keeps no intent
    -- without its undo).
    core.defer_signals(function()
      self._rec:netns_add(name) -- intent, identity, or drop on failure
      test_signal("netns-added")
      push { what = string.format("netns %q", name), netns = name, fn = function() self._rec:netns_del(name) end }
    end)
    -- P1: a new netns has lo down; up gives 127.0.0.1/8 and ::1.
    nslab.link.set("lo", { up = true }, { netns = name })
    if kind ~= "bridge" then
      -- P8: "1 0" would stop ping for commands run with user=.
      nslab.sysctl.set(name, "net.ipv4.ping_group_range", PING_GROUPS)
      -- P2: interfaces made later skip DAD, link-local addresses included.
      nslab.sysctl.set(name, "net.ipv6.conf.default.accept_dad", "0")
    end
    if extra then extra(node) end
    for key, value in sorted_pairs(opts.sysctls or {}) do
      nslab.sysctl.set(name, key, tostring(value))
    end
  end)
  self.nodes[#self.nodes + 1] = node
  self._by[name] = node
  self:_tick()
  return node
end

--- Adds a host: a netns named exactly `name`, lo up with 127.0.0.1 and ::1
-- answering, `net.ipv4.ping_group_range` = "0 2147483647" (every mapped group:
-- "0 0" rootless) so commands run with `user=` can still ping, and `net.ipv6.conf.default.accept_dad` = 0 so
-- IPv6 addresses of its links (link-local ones too) answer at once: a lab
-- knows its addresses are unique.
-- @tparam string name node and netns name (must not exist yet)
-- @tparam[opt] table opts `sysctls` (table key -> value, set in the node)
-- @treturn node
-- @raise EEXIST error object when the name is taken (by this lab, a running
-- lab, a dead lab's leftovers: then naming `nslab --clean`, or anything
-- else: never touched); kernel errors with `step` set
-- @usage local red = lab:host "red"
function Lab:host(name, opts)
  opts = check_opts("lab:host", opts, set_of("sysctls"))
  return self:_node("host", name, opts)
end

--- Adds a router: a host with IPv4 and IPv6 forwarding explicitly on
-- (a new netns starts with both off whatever the host has).
-- @tparam string name
-- @tparam[opt] table opts as for `host`
-- @treturn node
-- @raise as `host`
-- @usage local r = lab:router "r1"
function Lab:router(name, opts)
  opts = check_opts("lab:router", opts, set_of("sysctls"))
  return self:_node("router", name, opts, function()
    nslab.sysctl.set(name, "net.ipv4.ip_forward", "1")
    nslab.sysctl.set(name, "net.ipv6.conf.all.forwarding", "1")
  end)
end

-- A fixed MAC for the bridge of node name: locally administered unicast
-- (02:...), the other 5 bytes from a hash (FNV-1a) of the name, so the
-- same lab gets the same MACs each run. A bridge made without an address
-- takes the lowest of its ports' MACs, changing as ports join, and the
-- neighbours' ARP caches go stale; one set at creation stays.
local function bridge_mac(name)
  local h = 0xcbf29ce484222325
  for i = 1, #name do h = ((h ~ name:byte(i)) * 0x100000001b3) & 0xffffffffffffffff end
  local b = { 0x02 }
  for i = 1, 5 do b[i + 1] = (h >> (8 * (i - 1))) & 0xff end
  return string.format("%02x:%02x:%02x:%02x:%02x:%02x", table.unpack(b))
end

--- Adds a bridge: a Linux bridge device (default "br0") acting as a switch,
-- alone in its own netns named `name` (labs never touch the host). Links to
-- it become its ports (eth0, eth1, ... in that netns). STP stays off, so
-- ports forward at once. The bridge gets a fixed MAC at creation (02:
-- and 5 bytes from a hash of `name`), so it does not change as ports join.
-- @tparam string name
-- @tparam[opt] table opts `ifname` (bridge device name, default "br0"),
-- `sysctls`
-- @treturn node
-- @raise as `host`
-- @usage local s1 = lab:bridge "s1"
function Lab:bridge(name, opts)
  opts = check_opts("lab:bridge", opts, set_of("ifname", "sysctls"))
  local br = opts.ifname or "br0"
  return self:_node("bridge", name, opts, function(node)
    nslab.link.add { name = br, kind = "bridge", netns = name, address = bridge_mac(name) }
    nslab.link.set(br, { up = true }, { netns = name })
    node.bridge = br
    node._seg = {} -- address -> node name, for every host on this segment
  end)
end

--- The node called name, or nil.
-- @tparam string name
-- @treturn node|nil
function Lab:node(name) return self._by[name] end

local function resolve(self, v, op, i)
  local node = v
  if type(v) == "string" then node = self._by[v] end
  if getmetatable(node) ~= Node or node.lab ~= self then
    error(string.format("bad argument #%d to '%s' (a node of lab %q expected, got %s)",
      i, op, self.name, type(v) == "string" and q(v) or tostring(v)), 3)
  end
  return node
end

local function list_of(v)
  if v == nil or v == false then return {} end
  if type(v) == "table" then return v end
  return { v }
end

-- An address without its prefix length, spelled one way (IPv6 in lower
-- case, "::" expanded, no leading zeros), to compare addresses by.
local function addr_key(addr)
  local a = tostring(addr):match("^[^/]*")
  if not a:find(":", 1, true) then return a end
  a = a:lower()
  local function groups(part)
    local t = {}
    for g in part:gmatch("[^:]+") do t[#t + 1] = (g:gsub("^0+(%x)", "%1")) end
    return t
  end
  local head, tail = a:match("^(.-)::(.*)$")
  if not head then return table.concat(groups(a), ":") end
  local h, t = groups(head), groups(tail)
  for _ = 1, 8 - #h - #t do h[#h + 1] = "0" end
  for _, g in ipairs(t) do h[#h + 1] = g end
  return table.concat(h, ":")
end

-- Refuses, before anything is built, an address without prefix length
-- (the kernel would take /32 or /128: a link no neighbour is on) and an
-- address already on another node of the segment the link joins (both
-- ends of a plain link; every host on a bridge, bridges linked together
-- counting as one segment).
local function check_addrs(ends)
  local seg, where = {}, nil
  for _, e in ipairs(ends) do
    if e.node._seg then seg, where = e.node._seg, e.node end
  end
  if ends[1].node._seg and ends[2].node._seg and ends[1].node._seg ~= ends[2].node._seg then
    for k, owner in pairs(ends[1].node._seg) do
      local other = ends[2].node._seg[k]
      if other and other ~= owner then
        raise("lab:link", q(k), E.EINVAL, string.format(
          "%s would be on both %q and %q, whose segments this link joins: addresses must differ on a segment",
          k, owner, other))
      end
    end
  end
  local mine = {}
  for _, e in ipairs(ends) do
    for _, ad in ipairs(e.addrs) do
      if type(ad) == "string" and not ad:find("/", 1, true) and (ad:find(":", 1, true) or ad:match("^[%d.]+$")) then
        raise("lab:link", q(ad), E.EINVAL, string.format("%s has no prefix length: write %s/%d",
          ad, ad, ad:find(":", 1, true) and 64 or 24))
      end
      local k = addr_key(ad)
      local owner = mine[k] or seg[k]
      if owner and owner ~= e.node.name then
        local seg_name = where and string.format("on the segment of bridge %q", where.name)
          or "the two ends of this link"
        raise("lab:link", q(ad), E.EINVAL, string.format(
          "%s would be on both %q and %q, %s: addresses must differ on a segment", k, owner, e.node.name, seg_name))
      end
      mine[k] = e.node.name
    end
  end
  return mine
end

-- After a link is made: its hosts' addresses join the bridge's segment;
-- two bridges linked become one segment.
local function join_segment(self, ends, mine)
  local a, b = ends[1].node, ends[2].node
  local seg = a._seg or b._seg
  if not seg then return end
  if a._seg and b._seg and a._seg ~= b._seg then
    local old = b._seg
    for k, v in pairs(old) do seg[k] = v end
    for _, n in ipairs(self.nodes) do
      if n._seg == old then n._seg = seg end
    end
  end
  for k, v in pairs(mine) do seg[k] = v end
end

--- Joins two nodes with a veth pair, both ends up. Interface names default
-- to the next free `eth0`, `eth1`, ... in each node; an end in a bridge
-- becomes one of its ports. IPv6 addresses are added without DAD (nodad),
-- so they are usable when link returns.
-- @tparam node|string a a node of this lab (or its name)
-- @tparam node|string b another
-- @tparam[opt] table opts `ifnames` {a_ifname, b_ifname} (each max 15 bytes),
-- `addrs` {a_addrs, b_addrs} (each "10.0.0.1/24" or a list of them, IPv4
-- and IPv6, prefix length required; not on a bridge end), `mtu` (bytes),
-- `mac` {a_mac, b_mac}
-- @treturn table link {a = node, b = node, ifnames = {..}, addrs = {{..}, {..}}}
-- @raise EEXIST error object when an ifname is taken in its node; EINVAL for
-- an address on a bridge end, an address without prefix length ("write
-- 10.0.0.1/24"), or an address already on another node of the segment
-- (naming both nodes); kernel errors (with `step`), after removing
-- the half-made link
-- @usage lab:link(red, blue, {addrs = {"10.0.0.1/24", "10.0.0.2/24"}})
function Lab:link(a, b, opts)
  self:_check_open("lab:link")
  a, b = resolve(self, a, "lab:link", 1), resolve(self, b, "lab:link", 2)
  opts = check_opts("lab:link", opts, set_of("ifnames", "addrs", "mtu", "mac"))
  if a == b then
    raise("lab:link", q(a.name), E.EINVAL, "a node cannot be linked to itself")
  end
  for _, k in ipairs { "ifnames", "addrs", "mac" } do
    if opts[k] ~= nil and type(opts[k]) ~= "table" then
      error(string.format("bad argument to 'lab:link' (field '%s' must be a pair {for a, for b}, got %s)",
        k, type(opts[k])), 2)
    end
  end
  local ifn, addrs, mac = opts.ifnames or {}, opts.addrs or {}, opts.mac or {}
  if opts.mtu and opts.mtu < 1280 then
    for i = 1, 2 do
      for _, ad in ipairs(list_of(addrs[i])) do
        if tostring(ad):find(":", 1, true) then
          raise("lab:link", q(ad), E.EINVAL,
            string.format("mtu %d is below 1280, the least IPv6 works with (RFC 8200)", opts.mtu))
        end
      end
    end
  end
  local ends = { { node = a, ifname = ifn[1] }, { node = b, ifname = ifn[2] } }
  for i, e in ipairs(ends) do
    if e.ifname == nil then
      e.ifname = e.node:_next_ifname()
    elseif e.node._ifset[e.ifname] then
      raise("lab:link", q(e.ifname), E.EEXIST, string.format("node %q already has %q", e.node.name, e.ifname))
    end
    e.addrs = list_of(addrs[i])
    if e.node.kind == "bridge" and #e.addrs > 0 then
      raise("lab:link", q(e.ifname), E.EINVAL,
        string.format("%q is a bridge port in %q: address the hosts, not the port", e.ifname, e.node.name))
    end
  end
  local mine = check_addrs(ends)
  local ea, eb = ends[1], ends[2]
  self:_step(string.format("link %s:%s -- %s:%s", a.name, ea.ifname, b.name, eb.ifname), function(push)
    -- The veth and its undo entry together (signals wait), so an
    -- interrupted link is rolled back whole and can be made again.
    core.defer_signals(function()
      nslab.link.veth { name = ea.ifname, peer = eb.ifname, netns = a.netns, peer_netns = b.netns,
        mtu = opts.mtu, address = mac[1], peer_address = mac[2], up = true }
      test_signal("veth-added")
      -- Goes with its namespaces at close; removed alone only by a rollback.
      push { what = "veth " .. ea.ifname, covered = true,
        fn = function() nslab.link.del(ea.ifname, { netns = a.netns }) end }
    end)
    for _, e in ipairs(ends) do
      if e.node.kind == "bridge" then
        nslab.link.set(e.ifname, { master = e.node.bridge }, { netns = e.node.netns })
      end
      for _, addr in ipairs(e.addrs) do
        -- P2: no DAD wait, so IPv6 answers (and binds) right away.
        nslab.addr.add(e.ifname, addr, { netns = e.node.netns, nodad = addr:find(":", 1, true) and true or nil })
      end
    end
  end)
  join_segment(self, ends, mine)
  a:_attach(ea.ifname, b, eb.ifname, ea.addrs)
  b:_attach(eb.ifname, a, ea.ifname, eb.addrs)
  local link = { a = a, b = b, ifnames = { ea.ifname, eb.ifname }, addrs = { ea.addrs, eb.addrs } }
  self._links[#self._links + 1] = link
  self._nlinks = self._nlinks + 1
  self:_tick()
  return link
end

-- Records a spawned process so close (or `nslab --clean`) kills it.
function Lab:_own(proc)
  local start = record.proc_start(proc.pid)
  self._rec:add("proc", proc.pid, start or -1)
  self._procs[#self._procs + 1] = proc
end

-- ---- progress (issue 8): a line on a terminal for 100+ nodes ----

--- Announces how many nodes and links a build will make (topologies do),
-- for the progress line.
-- @tparam integer nodes
-- @tparam integer links
function Lab:expect(nodes, links)
  self._expect = { nodes = nodes, links = links }
end

function Lab:_tick()
  if not self._progress then return end
  local n = #self.nodes
  if n < 100 and not (self._expect and self._expect.nodes >= 100) then return end
  local now = core.monotime()
  if self._shown and now - self._shown < 0.1 then return end
  self._shown = now
  local total = self._expect and string.format("/%d", self._expect.nodes) or ""
  local ltotal = self._expect and string.format("/%d", self._expect.links) or ""
  io.stderr:write(string.format("\r\27[Klab %s: %d%s nodes, %d%s links (%.0f/s)",
    self.name, n, total, self._nlinks, ltotal, (n + self._nlinks) / math.max(now - self._t0, 1e-6)))
end

-- Ends the progress line before anything else is printed.
function Lab:_quiet()
  if self._shown then
    io.stderr:write("\r\27[K")
    self._shown = nil
  end
  self._expect = nil
end

-- ---- looking at it ----

--- Pings from every node with an address to every other such node
-- (bridges have none), printing as Mininet does:
-- `*** Ping: testing ping reachability`, `h1 -> h2 X`, `*** Results: 50% dropped (1/2 received)`.
-- @tparam[opt] table opts `quiet` (print nothing), `timeout` (seconds per
-- ping, default 1), `family` ("inet" or "inet6": which address to ping)
-- @treturn table matrix: matrix[src_name][dst_name] = true|false
-- @treturn integer received
-- @treturn integer sent
-- @usage local m = lab:pingall(); assert(m.h1.h2)
function Lab:pingall(opts)
  self:_check_open("lab:pingall")
  opts = check_opts("lab:pingall", opts, set_of("quiet", "timeout", "family"))
  self:_quiet()
  local say = opts.quiet and function() end or function(s) io.stdout:write(s) end
  local ends = {}
  for _, n in ipairs(self.nodes) do
    if n.kind ~= "bridge" and n:first_addr(opts.family) then ends[#ends + 1] = n end
  end
  local jobs = {}
  for _, src in ipairs(ends) do
    for _, dst in ipairs(ends) do
      if dst ~= src then jobs[#jobs + 1] = { src = src, dst = dst } end
    end
  end
  say("*** Ping: testing ping reachability\n")
  -- All pairs at once (at most 32 pings running), so each unreachable
  -- pair does not cost its whole timeout in turn.
  Node.ping_many(jobs, { timeout = opts.timeout, family = opts.family }, 32)
  local matrix, sent, got, k = {}, 0, 0, 1
  for _, src in ipairs(ends) do
    local row, out = {}, {}
    for _, dst in ipairs(ends) do
      if dst ~= src then
        local ok = jobs[k].ok
        k = k + 1
        row[dst.name] = ok
        sent = sent + 1
        if ok then got = got + 1 end
        out[#out + 1] = ok and dst.name or "X"
      end
    end
    matrix[src.name] = row
    say(src.name .. " -> " .. table.concat(out, " ") .. "\n")
  end
  say(string.format("*** Results: %d%% dropped (%d/%d received)\n",
    sent > 0 and math.floor((sent - got) * 100 / sent + 0.5) or 0, got, sent))
  return matrix, got, sent
end

--- Prints the nodes, their interfaces (peer, state, MTU) and addresses as a
-- table, like `containerlab inspect`, read from the kernel (rtnetlink).
-- Returns nothing, so the REPL does not print the table twice.
-- @tparam[opt] table opts `quiet = true`: return the text, print nothing
-- @treturn[opt] string the table, with `quiet` only
function Lab:show(opts)
  self:_check_open("lab:show")
  opts = check_opts("lab:show", opts, set_of("quiet"))
  self:_quiet()
  local text = view.show(self)
  if opts.quiet then return text end
  io.stdout:write(text)
end

--- The topology as Graphviz DOT (`dot -Tsvg`): hosts as boxes, routers as
-- diamonds, bridges as ellipses, edges labelled with interface names.
-- @treturn string
function Lab:dot() return view.dot(self) end

--- Leaves the lab running when it closes; prints how to remove it later.
-- In rootless mode nothing outlives nslab: says so, and the lab is removed
-- at close as usual.
-- @treturn lab self
function Lab:keep()
  self._keep = self._keep or can_keep(self.name)
  return self
end

-- ---- closing ----

-- What a teardown cut short leaves: the netns of undo entries 1..upto
-- and of those that failed (in creation order), and the processes still
-- running.
local function leftovers(self, upto, failed)
  local left = { netns = {}, procs = {} }
  for i = 1, upto do
    local u = self._undo[i]
    if u.netns then left.netns[#left.netns + 1] = u.netns end
  end
  for _, n in ipairs(failed) do left.netns[#left.netns + 1] = n end
  for _, p in ipairs(self._procs) do
    local ok, running = pcall(p.running, p)
    local start = record.proc_start(p.pid)
    if ok and running and start then left.procs[#left.procs + 1] = { pid = p.pid, start = start } end
  end
  return left
end

-- The teardown proper, run with signals held back (see Lab:_teardown).
local function teardown(self)
  if not self._open then return {} end
  self._open = false
  open_labs[self] = nil
  if deferred[self] then deferred[self] = nil end
  self:_quiet()
  if self._keep or rawget(_G, "NSLAB_KEEP") then
    -- Spawned commands run on too (recorded: --clean kills them).
    for _, p in ipairs(self._procs) do
      if p:running() then p:detach() end
    end
    print(string.format("lab %q kept: %d node(s) left running; remove them with `nslab --clean %s`",
      self.name, #self.nodes, shell_quote(self.name)))
    return {}
  end
  local problems, failed, upto = {}, {}, #self._undo
  -- Whatever cuts this short (lua5.4's own Ctrl-C, a bug), the record is
  -- rewritten to what is left below, never removed: `nslab --clean` ends it.
  local ok, err = pcall(function()
    for i = #self._procs, 1, -1 do
      local p = self._procs[i]
      pcall_steady(function()
        if p:running() then
          p:kill()
          p:wait(1)
          if p:running() then p:kill(9) p:wait() end
        end
      end)
    end
    -- Then whatever else lives in the namespaces (daemons, children that
    -- left their group, `ip netns exec` shells): they would keep them alive.
    local names = {}
    for i, node in ipairs(self.nodes) do names[i] = node.netns end
    -- Only the namespaces this lab made: a name deleted and re-created by
    -- someone else since holds their processes, not ours.
    names = self._rec:owned_netns(names)
    local emptied, why = pcall_steady(function()
      empty_netns(names, 0.2)
      local n = #nslab.netns.pids(names)
      if n > 0 then error(string.format("%d process(es) still live in its netns", n), 0) end
    end)
    if not emptied then problems[#problems + 1] = tostring(why) end
    test_signal("teardown")
    for i = #self._undo, 1, -1 do
      local u = self._undo[i]
      if not u.covered then
        local done, e = pcall_steady(u.fn)
        if not done then
          problems[#problems + 1] = tostring(e)
          if u.netns then table.insert(failed, 1, u.netns) end
        end
      end
      upto = i - 1
    end
  end)
  if not ok then problems[#problems + 1] = "teardown cut short: " .. tostring(err) end
  if #problems == 0 then self._rec:remove() else self._rec:rewrite(leftovers(self, upto, failed)) end
  return problems
end

-- Tears down; returns the list of problems (empty when all went). Signals
-- wait until it is done (each one meanwhile prints "cleaning up, please
-- wait"), then the last is raised as "interrupted (SIGxxx)".
function Lab:_teardown()
  if not self._open then return {} end
  return core.defer_signals("cleaning up, please wait", teardown, self)
end

local function problems_text(self, problems)
  return string.format("lab %q: could not remove: %s (see `nslab --clean %s`)",
    self.name, table.concat(problems, "; "), shell_quote(self.name))
end

--- Removes everything the lab made (its spawned processes killed first,
-- then every process living in its namespaces: SIGTERM, 0.2 s grace,
-- SIGKILL, waiting until they are gone; then the namespaces newest
-- first, links going with them) and its record; does nothing once
-- closed, or when kept (spawned processes then run on, recorded for
-- `nslab --clean`). Called by `<close>` and `__gc` too. Under `nslab -i`,
-- a `<close>` scope ending normally during the script leaves the lab open
-- for the REPL; it closes when the REPL ends (an error closes it at once).
-- @raise a string listing what could not be removed (it stays recorded)
function Lab:close()
  local problems = self:_teardown()
  if #problems > 0 then error(problems_text(self, problems), 2) end
end

Lab.__close = function(self, err)
  if err == nil and self._open and rawget(_G, "NSLAB_INTERACTIVE") then
    deferred[self] = true -- `nslab -i script`: live at the prompt
    return
  end
  local problems = self:_teardown()
  if #problems == 0 then return end
  if err == nil then error(problems_text(self, problems), 0) end
  io.stderr:write("nslab: ", problems_text(self, problems), "\n")
end

Lab.__gc = function(self)
  if not self._open then return end
  local ok, problems = pcall(self._teardown, self)
  if not ok then problems = { tostring(problems) } end
  if #problems > 0 then io.stderr:write("nslab: ", problems_text(self, problems), "\n") end
end

Lab.__tostring = function(self)
  return string.format("lab %s (%s, %s%s)", self.name, view.count(#self.nodes, "node"),
    view.count(self._nlinks, "link"),
    self._open and "" or ", closed")
end

M.Lab = Lab

--- `require("nslab.lab")(name, opts)` is `new(name, opts)`.
return setmetatable(M, { __call = function(_, ...) return M.new(...) end })
