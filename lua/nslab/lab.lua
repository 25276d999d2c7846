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
-- What it is about to create is first written to /run/nslab/NAME.rec
-- (`nslab.record`), so `nslab --clean NAME` removes a killed lab's leftovers.
--
-- Each building step (`host`, `router`, `bridge`, `link`) is all or
-- nothing: if it fails halfway, what it made is removed and the original
-- error object is raised again with a `step` field naming the step
-- (`lab "x": link red:eth0 -- blue:eth0`), which the error prints first.
--
-- Privilege: CAP_NET_ADMIN and CAP_SYS_ADMIN (root, or `nslab --rootless`).
--
-- Helpers: `nslab.view` (pingall, show, dot, progress), `nslab.teardown`
-- (close), `nslab.segment` (link addresses), `nslab.record`, `nslab.claim`
-- (names), `nslab.linkctl` (impair, link_state, flap, schedule).
-- @module nslab.lab

local nslab = require "nslab" -- first: it registers nslab.core
local core = nslab.core
local Addr = require "nslab.addr"
local Link = require "nslab.link"
local record = require "nslab.record"
local claim = require "nslab.claim"
local Node = require "nslab.node"
local view = require "nslab.view"
local teardown = require "nslab.teardown"
local segment = require "nslab.segment"
local fault = require "nslab.fault"
local opts_mod = require "nslab.opts"
local linkctl = require "nslab.linkctl"
local shape = require "nslab.shape"

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

local raise = opts_mod.raise

-- Names a failing step on the error (object: field `step`; string: prefix).
local function with_step(e, step)
  if type(e) == "table" then
    if e.step == nil then e.step = step end
    return e
  end
  return step .. ": " .. tostring(e)
end

-- Lab and node names: 1..200 bytes, no '/', NUL or control characters.
local function check_name(op, name) record.check_name(op, name, 3) end

local check_opts = opts_mod.check

-- The option tables, field -> type (nslab.opts: a wrong type or an unknown
-- field is an argument error; a bad value an EINVAL error object).
local NEW_OPTS = { keep = "boolean", progress = "boolean" }
local NODE_OPTS = { sysctls = "table", hostname = "string", dirs = "table", ipc = "boolean", time = "table",
  pid = "boolean", cgroup = "table" }
local BRIDGE_OPTS = { ifname = "string", sysctls = "table" }
-- A router's: a node's, and its routing daemons (nslab.daemon).
local ROUTER_OPTS = { bird = "string|function", frr = "table" }
for k, v in pairs(NODE_OPTS) do BRIDGE_OPTS[k], ROUTER_OPTS[k] = v, v end
local LINK_OPTS = { ifnames = "table", addrs = "table", mtu = "integer", mac = "table" }
for k, v in pairs(linkctl.LINK_SHAPE) do LINK_OPTS[k] = v end

--- Creates a lab; nothing is built until `host`, `router`, `bridge`, `link`.
-- @tparam string name lab name (1..200 bytes, no '/', NUL or control
-- characters); one open lab per name
-- @tparam[opt] table opts `keep` (boolean: leave it running at close, as
-- `lab:keep()`; refused with a message in rootless mode), `progress` (boolean: force the progress line on or off;
-- default: on when stderr is a terminal and the lab has 100 or more nodes)
-- @treturn lab
-- @raise argument error for a name that is not a string, opts that is not
-- a table, an unknown field or a field of the wrong type; EINVAL error
-- object for a bad name; EEXIST error object when a lab of that
-- name runs (in this process or another), or when a dead lab of that name
-- left namespaces behind (the message names `nslab --clean NAME`);
-- EBADMSG when its record cannot be used; EACCES when /run/nslab cannot
-- be written
-- @usage local lab <close> = nslab.lab "article"
function M.new(name, opts)
  check_name("nslab.lab", name)
  opts = check_opts("nslab.lab", 2, opts, NEW_OPTS)
  -- Before the record is written: without privilege, say which capability.
  nslab.core.need_caps("nslab.lab", q(name))
  claim.lab(name)
  -- The record and the lab that removes it come together: a signal waits
  -- (then the lab, unreachable, is closed by its __gc when nslab exits).
  return core.defer_signals(function()
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
      _keep = opts.keep == true and teardown.can_keep(name),
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
  end)
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

--- Removes what dead labs left behind: `nslab --clean [NAME]`; the same
-- function as `nslab.clean.clean` (see `nslab.clean`), kept here as public API.
-- @function clean
M.clean = function(...) return require("nslab.clean").clean(...) end

--- Reopens a lab of another (or a dead) process: `nslab.attach.attach`.
-- @function attach
M.attach = function(...) return require("nslab.attach").attach(...) end

-- For nslab.attach: lists the lab it rebuilt (a plain table) as open here.
function M._adopt(self)
  seq = seq + 1
  self._seq, self._open = seq, true
  open_labs[setmetatable(self, Lab)] = true
  return self
end

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
  teardown.rollback(self, mark)
  error(with_step(e, string.format("lab %q: %s", self.name, what)), 0)
end

-- A node: its namespace made and recorded as one step, then set up
-- (Node:_setup: lo up, ping_group_range open, sysctls, ...).
function Lab:_node(kind, name, opts)
  local op = "lab:" .. kind
  self:_check_open(op, type(name) == "string" and q(name) or nil)
  check_name(op, name)
  local node = Node.new(self, name, kind, require("nslab.nodens").hostname(op, name, opts))
  claim.node(op, self, name)
  self:_step(string.format("%s %q", kind, name), function(push)
    -- Intent, netns (with its identity) and undo entry together: a signal
    -- waits until all three exist, or none (the record keeps no intent
    -- without its undo).
    core.defer_signals(function()
      self._rec:netns_add(name) -- intent, identity, or drop on failure
      fault.at("netns-added")
      push { what = string.format("netns %q", name), netns = name, fn = function() self._rec:netns_del(name) end }
    end)
    node:_setup(opts, push)
    if opts.bird ~= nil or opts.frr ~= nil then require("nslab.daemon").start(node, opts, push) end
  end)
  node._opts = opts -- what it was made with, for lab:spec (nslab.live)
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
-- @tparam[opt] table opts `sysctls` (key -> value, set in the node); `hostname`, `dirs`,
-- `ipc`, `time`, `pid` (see nslab.nodens), `cgroup` (see nslab.cgroup)
-- @treturn node
-- @raise argument error for a name that is not a string, an unknown field
-- or a field of the wrong type (`sysctls` must be a table); EINVAL error
-- object for a bad name or a closed lab; EEXIST error object when the name
-- is taken (by this lab, a running lab, a dead lab's leftovers: then naming
-- `nslab --clean`, or anything else: never touched); kernel errors (a bad
-- sysctl among them) with `step` set, after removing what the step made
-- @usage local red = lab:host "red"
function Lab:host(name, opts)
  opts = check_opts("lab:host", 2, opts, NODE_OPTS)
  return self:_node("host", name, opts)
end

--- Adds a router: a host with IPv4 and IPv6 forwarding explicitly on
-- (a new netns starts with both off whatever the host has), and its
-- routing daemons, started and answering before it returns.
-- @tparam string name
-- @tparam[opt] table opts as for `host`, and `bird` (BIRD 2's config: a
-- string, or a function(node) returning one), `frr` (`{daemons = {...},
-- config = ...}`): see `nslab.daemon`
-- @treturn node
-- @raise as `host`, and as `nslab.daemon` for a daemon that cannot start
-- @usage local r = lab:router "r1"
function Lab:router(name, opts)
  opts = check_opts("lab:router", 2, opts, ROUTER_OPTS)
  return self:_node("router", name, opts)
end

--- Adds a bridge: a Linux bridge device (default "br0") acting as a switch,
-- alone in its own netns named `name` (labs never touch the host). Links to
-- it become its ports (eth0, eth1, ... in that netns). STP stays off, so
-- ports forward at once. The bridge gets a fixed MAC at creation (02:
-- and 5 bytes from a hash of `name`), so it does not change as ports join.
-- @tparam string name
-- @tparam[opt] table opts `ifname` (bridge device name, default "br0"),
-- and those of `host`
-- @treturn node
-- @raise as `host`
-- @usage local s1 = lab:bridge "s1"
function Lab:bridge(name, opts)
  opts = check_opts("lab:bridge", 2, opts, BRIDGE_OPTS)
  return self:_node("bridge", name, opts)
end

--- The node called name, or nil.
-- @tparam string name
-- @treturn node|nil
function Lab:node(name) return self._by[name] end

local function resolve(self, v, op, i)
  local node = v
  if type(v) == "string" then node = self._by[v] end
  if getmetatable(node) ~= Node or node.lab ~= self then
    opts_mod.argerror(op, i, string.format("a node of lab %q expected, got %s", self.name,
      type(v) == "string" and q(v) or tostring(v)))
  end
  return node
end

-- The two ends of a link: {node =, ifname =, addrs = {...}}, each ifname
-- the one asked for (refused when the node has it) or the next free ethN.
local function ends_of(a, b, opts)
  local ifn, addrs = opts.ifnames or {}, opts.addrs or {}
  local ends = { { node = a, ifname = ifn[1] }, { node = b, ifname = ifn[2] } }
  for i, e in ipairs(ends) do
    if e.ifname == nil then
      e.ifname = e.node:_next_ifname()
    elseif e.node._ifset[e.ifname] then
      raise("lab:link", q(e.ifname), E.EEXIST, string.format("node %q already has %q", e.node.name, e.ifname))
    end
    e.addrs = segment.list_of(addrs[i])
  end
  return ends
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
-- `mac` {a_mac, b_mac}; shaping (`rate`, `delay`, `jitter`, `loss`,
-- `corrupt`, `duplicate`, `reorder`, `limit`, `burst`: see `nslab.shape`)
-- for both directions alike, or `a_to_b` and `b_to_a` tables
-- @treturn table link {a = node, b = node, ifnames = {..}, addrs = {{..}, {..}}, shape = {a_to_b, b_to_a}}
-- @raise argument error when a or b is not a node of this lab, for an
-- unknown field or a field of the wrong type (`ifnames`, `addrs`, `mac`
-- tables, `mtu` an integer); EEXIST error object when an ifname is taken in
-- its node; EINVAL error object for a self link, an IPv6 address on a link
-- below mtu 1280, an address on a bridge end, an address without prefix length ("write
-- 10.0.0.1/24"), or an address already on another node of the segment
-- (naming both nodes), or a bad shaping value (EOPNOTSUPP for netem
-- options without netem); kernel errors (with `step`), after removing
-- the half-made link
-- @usage lab:link(red, blue, {addrs = {"10.0.0.1/24", "10.0.0.2/24"}})
function Lab:link(a, b, opts)
  self:_check_open("lab:link")
  a, b = resolve(self, a, "lab:link", 1), resolve(self, b, "lab:link", 2)
  opts = check_opts("lab:link", 3, opts, LINK_OPTS)
  if a == b then
    raise("lab:link", q(a.name), E.EINVAL, "a node cannot be linked to itself")
  end
  local mac = opts.mac or {}
  local ends = ends_of(a, b, opts)
  local mine = segment.check(ends, opts.mtu)
  local ea, eb = ends[1], ends[2]
  local what = q(linkctl.name({ node = a, ifname = ea.ifname }, eb))
  local ab, ba = shape.directions("lab:link", 3, what, opts, opts.mtu)
  self:_step(string.format("link %s:%s -- %s:%s", a.name, ea.ifname, b.name, eb.ifname), function(push)
    -- The veth and its undo entry together (signals wait), so an
    -- interrupted link is rolled back whole and can be made again.
    local v
    core.defer_signals(function()
      v = Link.veth { name = ea.ifname, peer = eb.ifname, netns = a.netns, peer_netns = b.netns,
        mtu = opts.mtu, address = mac[1], peer_address = mac[2], up = true }
      fault.at("veth-added")
      -- Goes with its namespaces at close; removed alone only by a rollback.
      push { what = "veth " .. ea.ifname, covered = true, veth = { a.netns, ea.ifname },
        fn = function() Link.del(ea.ifname, { netns = a.netns }) end }
    end)
    for _, e in ipairs(ends) do
      if e.node.kind == "bridge" then
        Link.set(e.ifname, { master = e.node.bridge }, { netns = e.node.netns })
      end
      for _, addr in ipairs(e.addrs) do
        -- P2: no DAD wait, so IPv6 answers (and binds) right away.
        Addr.add(e.ifname, addr, { netns = e.node.netns, nodad = addr:find(":", 1, true) and true or nil })
      end
    end
    if ab or ba then
      linkctl.shape({ netns = a.netns, ifname = ea.ifname }, { netns = b.netns, ifname = eb.ifname }, ab, ba,
        { fresh = true, op = "lab:link", object = what })
    end
    -- P2: the link-local addresses usable too (bridge ports keep DAD)
    for i, e in ipairs(ends) do
      local idx = i == 1 and v.ifindex or v.peer_ifindex
      if e.node.kind ~= "bridge" then Addr.settle { netns = e.node.netns, ifindexes = { idx } } end
    end
  end)
  segment.join(self.nodes, ends, mine)
  local link = { a = a, b = b, ifnames = { ea.ifname, eb.ifname }, addrs = { ea.addrs, eb.addrs },
    shape = { ab, ba }, state = "up", mtu = opts.mtu, mac = opts.mac and { mac[1], mac[2] } }
  a:_attach(ea.ifname, b, eb.ifname, ea.addrs, link)
  b:_attach(eb.ifname, a, ea.ifname, eb.addrs, link)
  Node.hosts_changed(self)
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

-- The progress line (nslab.view), after each node and link.
function Lab:_tick() view.tick(self) end

-- Ends the progress line before anything else is printed.
function Lab:_quiet() view.quiet(self) end

-- ---- looking at it ----

--- Leaves the lab running when it closes; prints how to remove it later.
-- In rootless mode nothing outlives nslab: says so, and the lab is removed
-- at close as usual.
-- @treturn lab self
function Lab:keep()
  self._keep = self._keep or teardown.can_keep(self.name)
  return self
end

-- ---- closing (nslab.teardown) ----

-- Tears down; returns the list of problems (empty when all went). Signals
-- wait until it is done (each one meanwhile prints "cleaning up, please
-- wait"), then the last is raised as "interrupted (SIGxxx)".
function Lab:_teardown()
  if not self._open then return {} end
  return core.defer_signals("cleaning up, please wait", function()
    if not self._open then return {} end
    self._open = false
    open_labs[self] = nil
    if deferred[self] then deferred[self] = nil end
    return teardown.run(self)
  end)
end

local problems_text = teardown.problems_text

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

-- Methods from their own modules, each `install(Lab, Node)`: lab:pingall,
-- show, dot (view); impair, link_state, flap, schedule (linkctl); uplink.
for _, ext in ipairs {
  "nslab.view",
  "nslab.linkctl",
  "nslab.uplink",
  "nslab.expect",
  "nslab.iperf",
  "nslab.daemon",
  "nslab.monitor",
  "nslab.capture",
  "nslab.state",
  "nslab.graph",
  "nslab.attach",
  "nslab.live",
  "nslab.guest",
} do require(ext).install(Lab, Node) end
M.Lab = Lab

-- `require("nslab.lab")(name, opts)` is `new(name, opts)`.
return setmetatable(M, { __call = function(_, ...) return M.new(...) end })
