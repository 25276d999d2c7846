--- nslab.linkctl: a running lab link changed in place: its shaping
-- (`lab:impair`), its state (`lab:link_state`, `lab:flap`) and both on a
-- timeline (`lab:schedule`, with `nslab.schedule`). The methods are the
-- lab's (installed by `nslab.lab`); the actions below them take plain
-- data ({netns =, ifname =} ends) so a schedule's process runs them too.
--
-- A link is named by its two nodes (a node, or its name) when one link
-- joins them; where two or more do, by `"node:ifname"` for either end or
-- both (`lab:impair("r1:eth1", "r2", ...)`).
--
-- Needs CAP_NET_ADMIN (root, or `nslab --rootless`).
-- @module nslab.linkctl

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local Addr = require "nslab.addr"
local Link = require "nslab.link"
local Route = require "nslab.route"
local Sysctl = require "nslab.sysctl"
local shape = require "nslab.shape"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local function q(s) return string.format("%q", s) end

-- ---- naming a link ----

--- Refuses v when it is a node removed from lab (`lab:remove`, an apply).
-- @tparam lab lab
-- @tparam string op the call, for the error
-- @param v what the caller was given for a node
-- @raise ENOENT error object "node X was removed from lab L"
function M.gone(lab, op, v)
  if type(v) == "table" and v.removed and v.lab == lab then
    opts_mod.raise(op, q(v.name), E.ENOENT, string.format("node %q was removed from lab %q", v.name, lab.name))
  end
end

-- node, ifname (or nil) for a node, a node's name or "node:ifname";
-- argument errors at level (seen from find's caller), after label.
local function node_of(lab, v, op, argn, level, label)
  if type(v) == "string" then
    if lab._by[v] then return lab._by[v] end
    local n, ifname = v:match("^(.*):([^:]+)$")
    if n and lab._by[n] then return lab._by[n], ifname end
  elseif type(v) == "table" and v.lab == lab and lab._by[v.name] == v then
    return v
  end
  M.gone(lab, op, v)
  opts_mod.argerror(op, argn, string.format("%sa node of lab %q or \"node:ifname\" expected, got %s", label or "",
    lab.name, type(v) == "string" and q(v) or tostring(v)), level + 2)
end

local function end_text(e) return e.node.name .. ":" .. e.ifname end

--- The node of lab v is (a node, or its name), as argument 1 of op.
-- @tparam lab lab
-- @param v
-- @tparam string op
-- @treturn node
-- @raise argument error (seen from the caller of op's caller) when v is no node of lab
function M.node(lab, v, op)
  local node = type(v) == "string" and lab._by[v] or v
  if type(node) ~= "table" or node.lab ~= lab or lab._by[node.name] ~= node then
    M.gone(lab, op, node)
    opts_mod.argerror(op, 1, string.format("a node of lab %q expected, got %s", lab.name,
      type(v) == "string" and q(v) or tostring(v)), 3)
  end
  return node
end

--- The link a and b name, with its ends in the order asked: each
-- {node =, netns =, ifname =}.
-- @tparam lab lab
-- @tparam string op the call ("lab:impair")
-- @param a a node, a node's name or "node:ifname"
-- @param b the same for the other end
-- @tparam[opt=1] integer argn a's argument number
-- @tparam[opt=2] integer level where argument errors point, as for
-- `error` seen from the caller
-- @tparam[opt] string where the link is `link` of an event ("event 2"):
-- a and b are both of argument argn, and messages say where
-- @treturn table the link (as `lab:link` returned it)
-- @treturn table the end of a
-- @treturn table the end of b
-- @raise argument error when a or b names no node of the lab; ENOENT
-- error object when no such link is in the lab; EINVAL error object when
-- several links join the two nodes and no ifname says which
function M.find(lab, op, a, b, argn, level, where)
  argn, level = argn or 1, level or 2
  local na, ia = node_of(lab, a, op, argn, level, where and where .. ": link[1]: ")
  local nb, ib = node_of(lab, b, op, where and argn or argn + 1, level, where and where .. ": link[2]: ")
  where = where and where .. ": " or ""
  local found = {}
  for _, l in ipairs(lab._links) do
    for _, o in ipairs { { 1, 2 }, { 2, 1 } } do
      local ea = { node = o[1] == 1 and l.a or l.b, ifname = l.ifnames[o[1]] }
      local eb = { node = o[2] == 1 and l.a or l.b, ifname = l.ifnames[o[2]] }
      if ea.node == na and eb.node == nb and (not ia or ia == ea.ifname) and (not ib or ib == eb.ifname) then
        ea.netns, eb.netns = ea.node.netns, eb.node.netns
        found[#found + 1] = { l, ea, eb }
      end
    end
  end
  local what = string.format("%s -- %s", ia and na.name .. ":" .. ia or na.name, ib and nb.name .. ":" .. ib or nb.name)
  if #found == 0 then
    error(core.error { op = op, object = q(what), errno = E.ENOENT,
      extack = string.format("%slab %q has no link %s", where, lab.name, what) }, 0)
  elseif #found > 1 then
    local names = {}
    for i, f in ipairs(found) do names[i] = end_text(f[2]) .. " -- " .. end_text(f[3]) end
    error(core.error { op = op, object = q(what), errno = E.EINVAL, extack = string.format(
      "%s%d links join %q and %q (%s): name one by its ifnames, as in %q", where, #found, na.name, nb.name,
      table.concat(names, ", "), end_text(found[1][2])) }, 0)
  end
  return found[1][1], found[1][2], found[1][3]
end

--- The link's text, `red:eth0 -- blue:eth0`, its ends in the order given.
-- @tparam table ea
-- @tparam table eb
-- @treturn string
function M.name(ea, eb) return end_text(ea) .. " -- " .. end_text(eb) end

-- ---- actions on plain ends ({netns =, ifname =}) ----

--- Raises e again as op's error about object, keeping its errno and
-- saying what failed below (`lab:impair "a:eth0 -- b:eth0": Invalid
-- argument: nft eth0 in netns a: ...`); other errors as they are.
-- @tparam string op
-- @tparam ?string object
-- @param e the error
-- @tparam[opt] string prefix put before the text ("event 2: ")
function M.rewrap(op, object, e, prefix)
  if type(e) ~= "table" or not e.errno then error(e, 0) end
  error(core.error { op = op, object = object, errno = e.errno,
    extack = (prefix or "") .. M.describe(e, op) }, 0)
end

--- An error object's text without its strerror and code, for another
-- error to carry: `tc.qdisc_list eth0 in netns red: no such interface`.
-- @param e an error object or a string
-- @tparam[opt] string op left out when it is e's own op
-- @treturn string
function M.describe(e, op)
  if type(e) ~= "table" then return tostring(e) end
  if not e.op or e.op == op then return e.extack or "" end
  local t = e.op .. (e.object and " " .. e.object or "") .. (e.netns and " in netns " .. e.netns or "")
  return e.extack and t .. ": " .. e.extack or t
end

--- Shapes both directions of a link: ab what ea sends, ba what eb sends.
-- On a failure midway, puts back `ctx.old` (what the link had), so a
-- failed change changes nothing.
-- @tparam table ea
-- @tparam table eb
-- @tparam ?table ab shaping from `nslab.shape.read`, nil for none
-- @tparam ?table ba
-- @tparam[opt] table ctx `fresh` (the link was just made), `old` ({ab,
-- ba}: what it had), `op` and `object` (errors are raised as theirs)
function M.shape(ea, eb, ab, ba, ctx)
  ctx = ctx or {}
  local ok, e = pcall(function()
    shape.apply(ea, eb, ab, ctx.fresh)
    shape.apply(eb, ea, ba, ctx.fresh)
  end)
  if ok then return end
  if ctx.old then
    pcall(shape.apply, ea, eb, ctx.old[1])
    pcall(shape.apply, eb, ea, ctx.old[2])
  end
  if ctx.op then M.rewrap(ctx.op, ctx.object, e) end
  error(e, 0)
end

--- The routes through each end (not the kernel's own), to put back when
-- the link comes up again: taking a link down deletes them.
-- @tparam {table,table} ends
-- @treturn table routes, per end
function M.routes(ends)
  local saved = {}
  for i, e in ipairs(ends) do
    saved[i] = {}
    for _, r in ipairs(Route.list { netns = e.netns, dev = e.ifname }) do
      if r.proto ~= "kernel" then saved[i][#saved[i] + 1] = r end
    end
  end
  return saved
end

--- The larger MTU of a link's two ends (the least tbf burst is a frame).
-- @tparam table ea {netns =, ifname =}
-- @tparam table eb
-- @treturn integer bytes
function M.mtu(ea, eb)
  local m = 0
  for _, e in ipairs { ea, eb } do m = math.max(m, Link.get(e.ifname, { netns = e.netns }).mtu or 0) end
  return m
end

--- Whether a link is up now, as the kernel says (its first end).
-- @tparam {table,table} ends
-- @treturn boolean
function M.is_up(ends)
  return Link.get(ends[1].ifname, { netns = ends[1].netns }).up == true
end

--- Takes a link down as a cable pull does, or brings it up: both ends
-- down (a veth has no carrier of its own to switch off: setting one end
-- down only takes the other's carrier), IPv6 addresses kept
-- (keep_addr_on_down), and on up the routes `saved` held put back and,
-- but on a bridge's port (`port`), the addresses no longer tentative.
-- @tparam {table,table} ends
-- @tparam boolean up
-- @tparam[opt] table saved what `routes` returned before the link went down
function M.set_state(ends, up, saved)
  for _, e in ipairs(ends) do
    if not up then pcall(Sysctl.set, e.netns, "net.ipv6.conf." .. e.ifname .. ".keep_addr_on_down", "1") end
    Link.set(e.ifname, { up = up }, { netns = e.netns })
  end
  if not up then return end
  for i, e in ipairs(ends) do
    for _, r in ipairs(saved and saved[i] or {}) do
      local t = { netns = e.netns }
      for k, v in pairs(r) do if k ~= "netns" then t[k] = v end end
      pcall(Route.replace, t)
    end
    -- P2: its addresses usable again at once (a bridge port keeps DAD)
    if not e.port then
      Addr.settle { netns = e.netns, ifindexes = { Link.get(e.ifname, { netns = e.netns }).ifindex } }
    end
  end
end

-- ---- the lab's methods ----

local Lab = {}

--- Changes the shaping of a running link in place (the link keeps its
-- ifindex, addresses and routes): the link's shaping becomes exactly
-- `spec` (options left out are no longer shaped), or none with nil.
-- @param a a node of the lab, its name, or "node:ifname" where two links join the same nodes
-- @param b the other end, the same way
-- @tparam ?table spec the options of `lab:link` (`rate`, `delay`,
-- `jitter`, `loss`, `corrupt`, `duplicate`, `reorder`, `limit`, `burst`),
-- both directions alike, or `a_to_b` and `b_to_a` (a_to_b: what a sends);
-- nil removes the shaping
-- @treturn table the link
-- @raise argument errors for a bad node or option; ENOENT error object
-- when no link joins a and b; EINVAL as `lab:link`; EOPNOTSUPP error
-- object for a netem option on a kernel without netem; kernel errors
-- @usage lab:impair("r1", "r2", {rate = "2mbit"}); lab:impair("r1", "r2", nil)
function Lab:impair(a, b, spec)
  self:_check_open("lab:impair")
  M.sync(self)
  local link, ea, eb = M.find(self, "lab:impair", a, b)
  spec = opts_mod.check("lab:impair", 3, spec, M.LINK_SHAPE)
  local what = q(M.name(ea, eb))
  local ab, ba = shape.directions("lab:impair", 3, what, spec, M.mtu(ea, eb))
  local first = ea.node == link.a and ea.ifname == link.ifnames[1]
  local s = link.shape or {}
  M.shape(ea, eb, ab, ba, { op = "lab:impair", object = what, old = first and { s[1], s[2] } or { s[2], s[1] } })
  M.note(link, ea, ab, ba)
  return link
end

--- Notes a link's shaping for `show` and `tostring`; ab is what end ea sends.
-- @tparam table link
-- @tparam table ea
-- @tparam ?table ab
-- @tparam ?table ba
function M.note(link, ea, ab, ba)
  if ea.node == link.a and ea.ifname == link.ifnames[1] then
    link.shape = { ab, ba }
  else
    link.shape = { ba, ab }
  end
  require("nslab.attach").note_shape(link) -- for a reopened lab
end

--- Takes a link down as a cable pull would, or brings it back up: both
-- ends down (they show NO-CARRIER / DOWN; IPv6 addresses are kept), then
-- up with the routes through them put back (taking a link down deletes them).
-- @param a a node, its name or "node:ifname"
-- @param b the other end
-- @tparam string state "down" or "up"
-- @treturn table the link
-- @raise argument errors for a bad node or a state that is not a string;
-- EINVAL error object for another word; ENOENT error object for no such link
-- @usage lab:link_state("r1", "r2", "down")
function Lab:link_state(a, b, state)
  self:_check_open("lab:link_state")
  M.sync(self)
  local link, ea, eb = M.find(self, "lab:link_state", a, b)
  if type(state) ~= "string" then opts_mod.argerror("lab:link_state", 3, "string expected, got " .. type(state)) end
  opts_mod.choice("lab:link_state", q(M.name(ea, eb)), "state", state, { "down", "up" })
  M.change_state(link, state)
  return link
end

--- The two ends of link as plain data, in the link's order.
-- @tparam table link
-- @treturn {table,table}
function M.ends(link)
  return { { netns = link.a.netns, ifname = link.ifnames[1], port = link.a.kind == "bridge" or nil },
    { netns = link.b.netns, ifname = link.ifnames[2], port = link.b.kind == "bridge" or nil } }
end

--- Sets link's state, saving its routes when it goes from up to down
-- (the kernel says which it is: a schedule may have changed it) and
-- putting them back once when it comes up; the same state again does
-- nothing.
-- @tparam table link
-- @tparam string state "down" or "up"
function M.change_state(link, state)
  local ends = M.ends(link)
  local up = M.is_up(ends)
  if state == "down" and up then link._routes = M.routes(ends) end
  if up ~= (state == "up") then M.set_state(ends, state == "up", link._routes) end
  link.state = state
end

--- Brings what lab knows of its links up to date with its schedules.
-- @tparam lab lab
function M.sync(lab)
  if lab._schedules then require("nslab.schedule").sync(lab) end
end

local FLAP_OPTS = { period = "number", count = "integer", at = "number" }

--- Flaps a link in the background: `count` times down, then up half a
-- `period` later, one period apart (a schedule: see `lab:schedule`).
-- @param a a node, its name or "node:ifname"
-- @param b the other end
-- @tparam[opt] table opts `period` (seconds, default 1), `count` (default
-- 1), `at` (seconds until the first down, default 0)
-- @treturn schedule its handle (`wait()`, `cancel()`)
-- @raise as `lab:schedule`; EINVAL error object for a period not above 0 or a count below 1
-- @usage lab:flap("r1", "r2", {period = 2, count = 3}):wait()
function Lab:flap(a, b, opts)
  self:_check_open("lab:flap")
  opts = opts_mod.check("lab:flap", 3, opts, FLAP_OPTS)
  local period, count, at = opts.period or 1, opts.count or 1, opts.at or 0
  opts_mod.range("lab:flap", nil, "period", period, 0)
  if period <= 0 then
    opts_mod.invalid("lab:flap", nil, string.format("period %s is out of range (> 0 seconds)", period))
  end
  opts_mod.range("lab:flap", nil, "count", count, 1)
  opts_mod.range("lab:flap", nil, "at", at, 0)
  M.find(self, "lab:flap", a, b)
  local events = {}
  for i = 0, count - 1 do
    events[#events + 1] = { at = at + i * period, link = { a, b }, state = "down" }
    events[#events + 1] = { at = at + i * period + period / 2, link = { a, b }, state = "up" }
  end
  return self:schedule(events)
end

--- Runs events on a timeline in the background, while the script or the
-- REPL goes on (see `nslab.schedule`).
-- @tparam {table,...} events each `{at = seconds, link = {a, b}, state = "down"|"up"}`
-- or `{at = seconds, link = {a, b}, impair = spec|false}` (false: no shaping)
-- @treturn schedule a handle: `wait([timeout])`, `cancel()`, `running()`
-- @raise argument errors for a malformed event; as `lab:impair` for its spec
-- @usage local s = lab:schedule{{at = 2, link = {"r1", "r2"}, state = "down"},
--   {at = 5, link = {"r1", "r2"}, state = "up"}}
function Lab:schedule(events)
  self:_check_open("lab:schedule")
  -- Not a tail call: argument errors count this frame to reach the script.
  local s = require("nslab.schedule").start(self, events)
  return s
end

--- What the end ifname of node sends through link, as text: its
-- shaping (`rate 10mbit loss 1%`), "" for none; a lab's schedules are
-- brought up to date first.
-- @tparam table link
-- @tparam node node
-- @tparam string ifname
-- @treturn string
function M.egress_text(link, node, ifname)
  if node.lab then M.sync(node.lab) end
  local first = link.a == node and link.ifnames[1] == ifname
  return shape.text(link.shape and link.shape[first and 1 or 2])
end

--- Adds these methods to the lab class.
-- @tparam table class the lab's metatable
function M.install(class)
  for k, f in pairs(Lab) do class[k] = f end
end

--- The shaping fields of `lab:impair` (and, with `ifnames` and the rest, `lab:link`).
M.LINK_SHAPE = { a_to_b = "table", b_to_a = "table" }
for k, v in pairs(shape.FIELDS) do M.LINK_SHAPE[k] = v end

return M
