--- nslab.apply: a running lab brought to a spec in place (`lab:apply`),
-- and the plan shown first (`lab:diff`). The plan (`nslab.plan`) is
-- carried out change by change; each change done leaves its undo, and a
-- change that fails undoes those before it, newest first, so the lab is
-- as it was (nodes and links made again by an undo get new ifindexes and
-- no processes), then the error is raised again naming the change
-- (`lab "x": apply: + link r1:eth2 -- h3:eth0`). What the plan leaves
-- alone is not touched: unchanged links keep their ifindex, unchanged
-- nodes their processes. The lab's /etc/hosts is written once, at the end.
--
-- Needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root, or `nslab --rootless`).
-- @module nslab.apply

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local Addr = require "nslab.addr"
local Link = require "nslab.link"
local Route = require "nslab.route"
local Sysctl = require "nslab.sysctl"
local fault = require "nslab.fault"
local linkctl = require "nslab.linkctl"
local live = require "nslab.live"
local order = require "nslab.order"
local plan_mod = require "nslab.plan"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local function q(s) return string.format("%q", s) end
local copy = require("nslab.declare").copy

-- ---- the lab-level actions, each returning its undo ----

local function node_of(lab, name)
  local node = lab._by[name]
  if not node then
    opts_mod.raise("lab:apply", q(name), E.ENOENT, string.format("lab %q has no node %q", lab.name, name))
  end
  return node
end

local function find_link(lab, ends)
  for _, l in ipairs(lab._links) do
    local a, b = l.a.name .. ":" .. l.ifnames[1], l.b.name .. ":" .. l.ifnames[2]
    local x, y = ends[1].node .. ":" .. ends[1].ifname, ends[2].node .. ":" .. ends[2].ifname
    if (a == x and b == y) or (a == y and b == x) then return l, a == x end
  end
  error(string.format("no link %s:%s -- %s:%s", ends[1].node, ends[1].ifname, ends[2].node, ends[2].ifname), 0)
end

local add_node, drop_node, add_link, drop_link, add_addr, drop_addr, add_route, drop_route

function add_node(lab, n)
  local opts = copy(n)
  opts.name, opts.kind, opts.index, opts.addrs, opts.routes = nil, nil, nil, nil, nil
  lab[n.kind](lab, n.name, opts)
  return function() drop_node(lab, n) end
end

function drop_node(lab, n)
  local node = node_of(lab, n.name)
  if node._uplink then
    opts_mod.raise("lab:apply", q(n.name), E.EBUSY,
      string.format("node %q has an uplink: it cannot be removed in place", n.name))
  end
  local old = require("nslab.declare").spec(lab)
  local entry
  for _, e in ipairs(old.nodes) do if e.name == n.name then entry = e end end
  live.drop_node(lab, node)
  entry.kind = entry.kind or "host"
  return function() add_node(lab, entry) end
end

function add_link(lab, l)
  local a, b = l.ends[1], l.ends[2]
  local s = l.shape or {}
  local memo = lab._tx and lab._tx.restoring and lab._tx.macs[a.node .. ":" .. a.ifname .. " " .. b.node .. ":" ..
    b.ifname]
  if memo and not l.mac then
    -- undoing a transaction: a link it removed comes back with its MACs
    l = setmetatable({ mac = memo, untracked = true }, { __index = l })
  end
  local shaped = s[1] or s[2]
  local link = lab:link(a.node, b.node, { ifnames = { a.ifname, b.ifname }, addrs = { copy(l.addrs[1]),
    copy(l.addrs[2]) }, mtu = l.mtu, mac = l.mac and { l.mac[1], l.mac[2] }, a_to_b = shaped and (copy(s[1]) or {}),
    b_to_a = shaped and (copy(s[2]) or {}) or nil })
  if l.untracked then link.mac = nil end -- as the lab had it: MACs the kernel chose
  if l.state == "down" and l.back then linkctl.change_state(link, "down") end -- (else the plan's last step)
  return function() drop_link(lab, l) end
end

function drop_link(lab, l)
  local link = find_link(lab, l.ends)
  local i1, i2 = link.ifnames[1], link.ifnames[2]
  -- Made again by an undo, it gets the MACs it had (and so the same
  -- IPv6 link-local addresses).
  local mac = {}
  for k, node in ipairs { link.a, link.b } do
    mac[k] = link.mac and link.mac[k] or Link.get(link.ifnames[k], { netns = node.netns }).address
  end
  local back = {
    ends = { { node = link.a.name, ifname = i1 }, { node = link.b.name, ifname = i2 } },
    addrs = {}, mtu = link.mtu, mac = mac, shape = copy(link.shape) or {}, state = link.state,
    untracked = not link.mac, back = true,
  }
  for k, node in ipairs { link.a, link.b } do
    back.addrs[k] = {}
    for _, a in ipairs(node._addrs) do
      if a.ifname == link.ifnames[k] then table.insert(back.addrs[k], a.address .. "/" .. a.prefixlen) end
    end
  end
  live.drop_link(lab, link)
  return function() add_link(lab, back) end
end

function add_addr(lab, a)
  local node = node_of(lab, a.node)
  node:addr(a.ifname, a.addr)
  for _, it in ipairs(node._ifs) do
    if it.ifname == a.ifname then it.addrs[#it.addrs + 1] = a.addr end
  end
  live.resegment(lab)
  return function() drop_addr(lab, a) end
end

function drop_addr(lab, a)
  node_of(lab, a.node):addr_del(a.ifname, a.addr)
  return function() add_addr(lab, a) end
end

function add_route(lab, r)
  node_of(lab, r.node):route(copy(r.route))
  return function() drop_route(lab, r) end
end

-- The route's table for nslab.route.del/replace in node's netns.
local function route_args(node, r)
  local t = copy(r)
  t.netns = node.netns
  return t
end

function drop_route(lab, r)
  local node = node_of(lab, r.node)
  local key = live.route_key(r.route)
  local ok, e = pcall(Route.del, route_args(node, r.route))
  if not ok and not (type(e) == "table" and (e.code == "ESRCH" or e.code == "ENOENT")) then error(e, 0) end
  for i = #node._routes, 1, -1 do
    if live.route_key(node._routes[i]) == key then table.remove(node._routes, i) end
  end
  return function() add_route(lab, r) end
end

local function replace_route(lab, r, new, old)
  local node = node_of(lab, r.node)
  Route.replace(route_args(node, new))
  local key = live.route_key(new)
  for i, x in ipairs(node._routes) do
    if live.route_key(x) == key then node._routes[i] = copy(new) end
  end
  return function() replace_route(lab, r, old, new) end
end

local function set_sysctl(node, key, value, track)
  Sysctl.set(node.netns, key, value)
  node._sysctls = node._sysctls or {}
  node._sysctl_old = node._sysctl_old or {}
  node._sysctls[key] = track and value or nil
  if not track then node._sysctl_old[key] = nil end
  require("nslab.attach").note_sysctls(node)
end

local function sysctl(lab, c)
  local a = c.args
  local node = node_of(lab, a.node)
  local before = Sysctl.get(node.netns, a.key)
  local had_old = node._sysctl_old and node._sysctl_old[a.key]
  if not a.reset and not had_old and not ((node._opts or {}).sysctls or {})[a.key] then
    node._sysctl_old = node._sysctl_old or {}
    node._sysctl_old[a.key] = before
  end
  set_sysctl(node, a.key, a.value, not a.reset)
  return function()
    set_sysctl(node, a.key, before, a.old ~= nil)
    if had_old then node._sysctl_old[a.key] = had_old end
    if a.reset then
      node._sysctls[a.key] = a.old
      require("nslab.attach").note_sysctls(node)
    end
  end
end

-- The IPv6 link-local address the kernel makes from mac (EUI-64, RFC 4291
-- appendix A), or nil.
local function eui64(mac)
  local b = {}
  for x in tostring(mac):gmatch("%x%x") do b[#b + 1] = tonumber(x, 16) end
  if #b ~= 6 then return nil end
  local text = string.format("fe80::%x:%x:%x:%x", (b[1] ~ 2) << 8 | b[2], b[3] << 8 | 0xff, 0xfe00 | b[4],
    b[5] << 8 | b[6])
  return core.inet.parse(text).address
end

-- Sets the MAC of ifname in node to mac (it had old), and its link-local
-- address with it: the kernel keeps the one made from the old MAC until
-- the link goes down and up, when it makes the new one.
local function set_mac(node, ifname, mac, old)
  Link.set(ifname, { address = mac }, { netns = node.netns })
  local want, was = eui64(mac), eui64(old)
  if not want or want == was then return end
  local has_want, has_was = false, false
  for _, a in ipairs(Addr.list { netns = node.netns }) do
    if a.ifname == ifname and a.address == want then has_want = true end
    if a.ifname == ifname and a.address == was then has_was = true end
  end
  if not has_was then return end
  if not has_want then Addr.add(ifname, want .. "/64", { netns = node.netns }) end
  Addr.del(ifname, was .. "/64", { netns = node.netns })
end

-- A link change (mtu, mac, shape, state) on the lab's link.
local function link_change(lab, c)
  local a = c.args
  local link, same_way = find_link(lab, a.ends)
  if c.kind == "mtu" then
    live.set_mtu(link, a.mtu)
    return function() live.set_mtu(link, a.old) end
  elseif c.kind == "mac" then
    local i = same_way and a.i or 3 - a.i
    local node = i == 1 and link.a or link.b
    local before = Link.get(link.ifnames[i], { netns = node.netns }).address
    local tracked = link.mac and link.mac[i]
    set_mac(node, link.ifnames[i], a.mac, before)
    link.mac = link.mac or {}
    link.mac[i] = a.mac
    return function()
      set_mac(node, link.ifnames[i], before, a.mac)
      link.mac[i] = tracked
    end
  elseif c.kind == "shape" then
    local ends = linkctl.ends(link)
    local ea = { node = link.a, netns = ends[1].netns, ifname = ends[1].ifname }
    local eb = { node = link.b, netns = ends[2].netns, ifname = ends[2].ifname }
    local s, old = a.shape, link.shape or {}
    if not same_way then s = { s[2], s[1] } end
    local was = { old[1], old[2] }
    linkctl.shape(ea, eb, s[1], s[2], { old = was })
    linkctl.note(link, ea, s[1], s[2])
    return function()
      linkctl.shape(ea, eb, was[1], was[2])
      linkctl.note(link, ea, was[1], was[2])
    end
  else -- state
    local old = link.state
    linkctl.change_state(link, a.state)
    return function() linkctl.change_state(link, old) end
  end
end

local RUN = {
  ["node-"] = function(lab, c) return drop_node(lab, c.args.node) end,
  ["node+"] = function(lab, c) return add_node(lab, c.args.node) end,
  ["sysctl"] = sysctl,
  ["link-"] = function(lab, c) return drop_link(lab, c.args.link) end,
  ["link+"] = function(lab, c) return add_link(lab, c.args.link) end,
  ["link~"] = link_change,
  ["addr-"] = function(lab, c) return drop_addr(lab, c.args) end,
  ["addr+"] = function(lab, c) return add_addr(lab, c.args) end,
  ["route-"] = function(lab, c) return drop_route(lab, c.args) end,
  ["route+"] = function(lab, c) return add_route(lab, c.args) end,
  ["route~"] = function(lab, c) return replace_route(lab, c.args, c.args.route, c.args.old) end,
  ["down"] = link_change,
}

--- The fault points of apply, one per kind of step (`nslab.fault.arm`):
-- "apply:" and a phase of `nslab.plan.PHASES` ("apply:link+"), or the
-- link change ("apply:mtu", "apply:mac", "apply:shape", "apply:state").
-- @tparam table c a change
-- @treturn string
function M.point(c) return "apply:" .. ((c.phase == "link~" or c.phase == "down") and c.kind or c.phase) end

local UNDO_NOTICE = "cleaning up, please wait"

local function step_text(lab, c)
  return string.format("lab %q: apply: %s %s", lab.name, c.shown_sign or c.sign, c.text)
end

--- Carries out a plan on lab; on a failure undoes what it did, newest
-- first, and raises the error with `step` naming the change. The lab's
-- nodes and links end in the spec's order (after an undo: as before).
-- @tparam lab lab
-- @tparam table plan from `nslab.plan.plan`
function M.run(lab, plan)
  local before = order.snapshot(lab)
  local done = {}
  local held = lab._hosts_held
  lab._hosts_held = true
  local ok, e, at = true, nil, nil
  -- New nodes and the links between them: made at once (nslab.build).
  local fast = require("nslab.build").prepare(lab, plan)
  for _, c in ipairs(plan.changes) do
    -- A change and its undo together: a signal waits for both, then
    -- comes in as the error that undoes the apply.
    local batch = false
    ok, e = pcall(core.defer_signals, UNDO_NOTICE, function()
      if not (fast and fast.handles[c]) then
        done[#done + 1] = RUN[c.phase](lab, c)
      elseif not fast.ran then
        fast.ran, batch = true, true
        done[#done + 1] = fast.run()
      end
      fault.fail(M.point(c))
    end)
    if not ok then
      -- (a signal held back through the batch names the batch, not its
      -- first node; a kernel refusal names its own change)
      at = type(e) == "table" and rawget(e, "_change") or batch and fast.change or c
      break
    end
  end
  local problems = {}
  -- The undo runs whole, signals held back (a second Ctrl-C says so).
  core.defer_signals(UNDO_NOTICE, function()
    for i = #done, 1, -1 do
      if ok then break end
      local fine, why = require("nslab.teardown").pcall_steady(done[i])
      if not fine then problems[#problems + 1] = tostring(why) end
      fault.at("apply-undo")
    end
    if not ok then
      order.reorder(lab, order.of_snapshot(before))
    elseif not order.matches(lab, plan.want) then
      order.reorder(lab, order.of_spec(plan.want))
    end
    lab._hosts_held = held
    if not held and lab._hosts_dirty then
      lab._hosts_dirty = nil
      require("nslab.node").hosts_changed(lab)
    end
  end)
  if ok then return end
  local step = step_text(lab, at)
  if #problems > 0 then step = step .. " (and its undo failed: " .. table.concat(problems, "; ") .. ")" end
  if type(e) == "table" then
    e.step = step
    error(e, 0)
  end
  error(step .. ": " .. tostring(e), 0)
end

--- Brings lab to spec (see `nslab.declare`): plans, then carries the plan out.
-- @tparam lab lab
-- @tparam table spec
-- @tparam[opt] table opts `print` (true: print the plan first), `dry_run`
-- (true: only plan), `op` (for errors)
-- @treturn table the plan
function M.apply(lab, spec, opts)
  opts = opts or {}
  linkctl.sync(lab)
  local p = plan_mod.plan(lab, spec, opts.op or "lab:apply")
  if opts.print then io.write(p:text()) end
  if not opts.dry_run then M.run(lab, p) end
  return p
end

-- ---- the lab's methods ----


local Lab = {}

local DIFF_OPTS = { quiet = "boolean" }
local APPLY_OPTS = { print = "boolean", dry_run = "boolean" }

--- The plan that would bring the lab to spec, printed (one change a line:
-- `+` add, `-` remove, `~` change, `-/+` replace; then a summary line)
-- unless `quiet`. Nothing is changed.
-- @tparam table spec see `nslab.declare`
-- @tparam[opt] table opts `quiet` (true: do not print)
-- @treturn table the plan (`:text()` gives the text printed, `tostring`
-- its summary line; `changes`, `adds`, `changes_count`, `removes`)
-- @raise as `lab:apply` for a bad spec
-- @usage lab:diff(dofile "lab.lua")
function Lab:diff(spec, opts)
  self:_check_open("lab:diff")
  opts = opts_mod.check("lab:diff", 2, opts, DIFF_OPTS)
  spec = require("nslab.declare").checked(spec, "lab:diff", 2)
  linkctl.sync(self)
  local p = plan_mod.plan(self, spec, "lab:diff")
  if not opts.quiet then
    self:_quiet()
    io.write(p:text())
  end
  return p
end

--- Brings the running lab to spec in place (see `nslab.declare`):
-- what the spec adds is made, what it leaves out removed, what differs
-- changed; unchanged links keep their ifindex, unchanged nodes their
-- processes. A spec is checked whole before anything changes. A failure
-- midway undoes the changes made, newest first, and raises the error
-- with `step` naming the change (`lab "x": apply: + link a:eth1 -- b:eth0`).
-- @tparam table spec
-- @tparam[opt] table opts `print` (print the plan first), `dry_run` (only plan)
-- @treturn table the plan carried out (as `lab:diff` returns)
-- @raise argument error for a malformed spec; EINVAL error object naming
-- the entry for a bad spec (two nodes with one name, a link to a node not
-- in the spec, an address in two places on a segment, ...); EBUSY for
-- removing a node with an uplink; kernel errors (with `step`) after the undo
-- @usage lab:apply { nodes = {{name = "a"}, {name = "b"}}, links = {{"a:eth0", "b:eth0"}} }
function Lab:apply(spec, opts)
  self:_check_open("lab:apply")
  opts = opts_mod.check("lab:apply", 2, opts, APPLY_OPTS)
  spec = require("nslab.declare").checked(spec, "lab:apply", 2)
  self:_quiet()
  return M.apply(self, spec, opts)
end

--- Adds diff and apply to the lab class.
-- @tparam table class
function M.install(class)
  for k, f in pairs(Lab) do class[k] = f end
end

return M
