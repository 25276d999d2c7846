--- nslab.live: a running lab changed in place: a node or a link removed
-- (`lab:remove`, `lab:unlink`), a link's MTU changed (`lab:link_mtu`), a
-- sysctl set in a node (`node:sysctl`), and changes made together or not
-- at all (`lab:transaction`). The lab keeps what it is (nodes, links,
-- their addresses, shaping and state, the routes and sysctls set through
-- it) as data, so `lab:spec()` (nslab.declare) reads it without asking the
-- kernel; the functions below keep that data and the kernel in step.
--
-- What is removed goes at once and alone: a removed node's links are
-- deleted first (their far ends go with them, in their own namespaces),
-- then every process living in its namespace (SIGTERM, 0.2 s grace,
-- SIGKILL), then the namespace, whose record line is then dropped
-- (`drop netns NAME`), so `nslab --clean` never looks for it again. Other
-- nodes and links keep their ifindexes, addresses and processes; routes
-- the kernel removed with a link are forgotten.
--
-- Needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root, or `nslab --rootless`).
-- @module nslab.live

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local Addr = require "nslab.addr"
local Link = require "nslab.link"
local Netns = require "nslab.netns"
local Route = require "nslab.route"
local Sysctl = require "nslab.sysctl"
local linkctl = require "nslab.linkctl"
local teardown = require "nslab.teardown"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)
local raise = opts_mod.raise

local M = {}

local function q(s) return string.format("%q", s) end

local function remove_value(list, v)
  for i = #list, 1, -1 do
    if list[i] == v then table.remove(list, i) end
  end
end

-- ---- segments (bridges and the hosts on them) ----

--- Recomputes every bridge's segment (address -> node name, shared by
-- bridges linked together) from the lab's links, after a link went.
-- @tparam lab lab
function M.resegment(lab)
  local parent = {}
  local function root(n)
    while parent[n] ~= n do n = parent[n] end
    return n
  end
  for _, n in ipairs(lab.nodes) do
    if n.kind == "bridge" then parent[n] = n end
  end
  if next(parent) == nil then return end -- (no bridge: no segment)
  for _, l in ipairs(lab._links) do
    if parent[l.a] and parent[l.b] then parent[root(l.a)] = root(l.b) end
  end
  local segs = {}
  for n in pairs(parent) do
    local r = root(n)
    segs[r] = segs[r] or {}
    n._seg = segs[r]
  end
  local function note(e, ifname, other)
    if other._seg and e.kind ~= "bridge" then
      for _, a in ipairs(e._addrs) do
        if a.ifname == ifname then other._seg[a.address] = e.name end
      end
    end
  end
  for _, l in ipairs(lab._links) do
    note(l.a, l.ifnames[1], l.b)
    note(l.b, l.ifnames[2], l.a)
  end
end

-- ---- forgetting what the kernel removed ----

-- The identity of a route as the kernel keys it: family, dst, table, metric.
local function route_key(r)
  local dst = r.dst or "default"
  local family = r.family
  if dst == "default" then
    dst = family == "inet6" and "::/0" or "0.0.0.0/0"
  else
    local ok, a = pcall(core.inet.parse, dst)
    if ok and a then
      family = a.family
      dst = a.address .. "/" .. (a.has_prefixlen and a.prefixlen or (a.family == "inet6" and 128 or 32))
    end
  end
  if not family then
    local via = r.via and tostring(r.via) or ""
    family = via:find(":", 1, true) and "inet6" or "inet"
  end
  if family == "inet6" and dst == "0.0.0.0/0" then dst = "::/0" end
  return string.format("%s %s table %s metric %s", family, dst, tostring(r.table or "main"), tostring(r.metric or 0))
end
M.route_key = route_key

--- Forgets the routes of node (added through the lab) that the kernel no
-- longer has (a link they went through was removed).
-- @tparam node node
function M.prune_routes(node)
  if #node._routes == 0 then return end
  local have = {}
  for _, r in ipairs(Route.list { netns = node.netns }) do
    have[route_key(r)] = true
    if r.metric == nil or r.metric == 0 then
      -- the kernel lists inet6 routes with metric 1024 when none was given
      have[route_key { dst = r.dst, family = r.family, table = r.table }] = true
    end
    if r.metric == 1024 then have[route_key { dst = r.dst, family = r.family, table = r.table }] = true end
  end
  for i = #node._routes, 1, -1 do
    if not have[route_key(node._routes[i])] then table.remove(node._routes, i) end
  end
end

-- Inside a transaction: notes link's MACs (both ways round), so that its
-- undo makes it again as it was.
local function note_macs(lab, link)
  if not lab._tx then return end
  local m = {}
  for i, node in ipairs { link.a, link.b } do
    local ok, l = pcall(Link.get, link.ifnames[i], { netns = node.netns })
    m[i] = ok and l.address or nil
  end
  local x, y = link.a.name .. ":" .. link.ifnames[1], link.b.name .. ":" .. link.ifnames[2]
  lab._tx.macs[x .. " " .. y] = lab._tx.macs[x .. " " .. y] or m
  lab._tx.macs[y .. " " .. x] = lab._tx.macs[y .. " " .. x] or { m[2], m[1] }
end

--- For a lab reopened from another process (which did not see its
-- routes and links made): each link's MACs and MTU, and each node's
-- routes read back from the kernel, those not its own (proto kernel) nor
-- IPv6 link-local or multicast, as `node:route` takes them (dst, via, dev
-- when there is no via, metric and table when not the defaults).
-- @tparam lab lab
function M.adopt(lab)
  for _, l in ipairs(lab._links) do
    l.mac = l.mac or {}
    for i, node in ipairs { l.a, l.b } do
      local k = Link.get(l.ifnames[i], { netns = node.netns })
      l.mac[i] = l.mac[i] or k.address
      if i == 1 and k.mtu ~= 1500 then l.mtu = l.mtu or k.mtu end
    end
  end
  for _, node in ipairs(lab.nodes) do
    if #node._routes == 0 and node.kind ~= "bridge" then
      for _, r in ipairs(Route.list { netns = node.netns }) do
        local dst = r.dst or "default"
        if r.proto ~= "kernel" and not dst:find("^fe80:") and not dst:find("^ff00:") then
          local t = { dst = dst, via = r.via, dev = not r.via and r.dev or nil }
          if r.family == "inet6" and not r.via and dst == "default" then t.family = "inet6" end
          if r.metric and r.metric ~= 0 and r.metric ~= 1024 then t.metric = r.metric end
          if r.table and r.table ~= "main" and r.table ~= 254 then t.table = r.table end
          node._routes[#node._routes + 1] = t
        end
      end
    end
  end
end

-- Forgets link in the lab's data (the kernel side is gone already).
local function forget_link(lab, link)
  -- (for a lab reopened from its record: this link is no more)
  lab._rec:drop("veth", link.a.name .. ":" .. link.ifnames[1])
  remove_value(lab._links, link)
  lab._nlinks = lab._nlinks - 1
  for i, node in ipairs { link.a, link.b } do
    local ifname = link.ifnames[i]
    for j = #node._ifs, 1, -1 do
      if node._ifs[j].link == link then table.remove(node._ifs, j) end
    end
    node._ifset[ifname] = nil
    for j = #node._addrs, 1, -1 do
      if node._addrs[j].ifname == ifname then table.remove(node._addrs, j) end
    end
  end
  for i = #lab._undo, 1, -1 do
    local v = lab._undo[i].veth
    if v and v[1] == link.a.netns and v[2] == link.ifnames[1] then table.remove(lab._undo, i) end
  end
end

--- Deletes a link of lab (its veth pair) and forgets it: its addresses,
-- the routes through it; the lab's /etc/hosts is rewritten.
-- @tparam lab lab
-- @tparam table link as `lab:link` returned it
function M.drop_link(lab, link)
  note_macs(lab, link)
  core.defer_signals(function()
    -- (in the background: the name is free at once, the RCU grace
    -- period the kernel ends a deletion with is not waited for here)
    local ok, e = pcall(Link.del, link.ifnames[1], { netns = link.a.netns, wait = false, peer_netns = link.b.netns })
    if not ok and not (type(e) == "table" and e.code == "ENODEV") then error(e, 0) end
    forget_link(lab, link)
  end)
  M.resegment(lab)
  M.prune_routes(link.a)
  M.prune_routes(link.b)
  M.hosts(lab)
end

--- Rewrites the lab's /etc/hosts in every node, unless held (lab:apply
-- holds it and writes it once at the end).
-- @tparam lab lab
function M.hosts(lab) require("nslab.node").hosts_changed(lab) end

--- Removes node from lab: its links, every process in its namespace,
-- its namespace (and its record line).
-- @tparam lab lab
-- @tparam node node
function M.drop_node(lab, node)
  local links = {}
  for _, l in ipairs(lab._links) do
    if l.a == node or l.b == node then links[#links + 1] = l end
  end
  for _, l in ipairs(links) do note_macs(lab, l) end
  core.defer_signals(function()
    for _, l in ipairs(links) do
      local ok, e = pcall(Link.del, l.ifnames[1], { netns = l.a.netns, wait = false, peer_netns = l.b.netns })
      if not ok and not (type(e) == "table" and e.code == "ENODEV") then error(e, 0) end
      forget_link(lab, l)
    end
    local names = lab._rec:owned_netns { node.netns }
    -- The lab's own processes there: ended and reaped.
    local inside = {}
    for _, pid in ipairs(#names > 0 and Netns.pids(names) or {}) do inside[pid] = true end
    for i = #lab._procs, 1, -1 do
      local p = lab._procs[i]
      if inside[p.pid] then
        teardown.end_proc(p)
        table.remove(lab._procs, i)
      end
    end
    teardown.empty_netns(names, 0.2)
    lab._rec:netns_del(node.netns)
    lab._rec:drop("netns", node.netns)
    -- Its pinned namespaces (nslab.pins) and its cgroup go now, not at close.
    local own = { ["pins " .. node.name] = true }
    if node.cgroup then own["cgroup " .. node.cgroup] = true end
    for i = #lab._undo, 1, -1 do
      local u = lab._undo[i]
      if u.netns == node.netns then
        table.remove(lab._undo, i)
      elseif own[u.what] then
        u.fn()
        if u.drop then lab._rec:drop(table.unpack(u.drop)) end
        table.remove(lab._undo, i)
      end
    end
    remove_value(lab.nodes, node)
    lab._by[node.name] = nil
    node.removed = true
  end)
  M.resegment(lab)
  local peers = {}
  for _, l in ipairs(links) do
    local peer = l.a == node and l.b or l.a
    if not peers[peer] then
      peers[peer] = true
      M.prune_routes(peer)
    end
  end
  M.hosts(lab)
end

-- ---- the lab's methods ----

local Lab = {}

local node_arg = linkctl.node

--- Removes a node from the running lab: its links (their far ends too),
-- every process in its namespace (its spawned commands, daemons: SIGTERM,
-- 0.2 s grace, SIGKILL), its namespace; its record line is dropped so
-- `nslab --clean` stays right. Other nodes and links are untouched (same
-- ifindexes, addresses and processes); routes the kernel removed with the
-- links are forgotten; the lab's /etc/hosts is rewritten.
-- @tparam node|string node a node of this lab, or its name
-- @raise argument error when node is no node of the lab; EBUSY error
-- object for a node with an uplink (not removable in place); kernel errors
-- @usage lab:remove "h2"
function Lab:remove(node)
  self:_check_open("lab:remove")
  node = node_arg(self, node, "lab:remove")
  if node._uplink then
    raise("lab:remove", q(node.name), E.EBUSY, string.format(
      "node %q has an uplink (%s): close the lab to remove it", node.name, node._uplink.ifname))
  end
  linkctl.sync(self)
  M.drop_node(self, node)
end

--- Removes a link from the running lab: its veth pair (both ends, with
-- their addresses, shaping and the routes through it); the rest is
-- untouched.
-- @param a a node, its name, or "node:ifname" where several links join the two nodes
-- @param b the other end, the same way
-- @raise as `lab:impair` finds the link (ENOENT: no such link; EINVAL:
-- several links and no ifname); kernel errors
-- @usage lab:unlink("r1", "h2"); lab:unlink("r1:eth1", "r2:eth1")
function Lab:unlink(a, b)
  self:_check_open("lab:unlink")
  linkctl.sync(self)
  local link = linkctl.find(self, "lab:unlink", a, b)
  M.drop_link(self, link)
end

--- Changes the MTU of a running link, both ends (it keeps its ifindex,
-- addresses and routes).
-- @param a a node, its name or "node:ifname"
-- @param b the other end
-- @tparam integer mtu bytes (68..65535; 1280 or more when it has IPv6 addresses)
-- @treturn table the link
-- @raise argument errors for a bad node or an mtu that is not an integer;
-- EINVAL error object for an mtu out of range; ENOENT for no such link
-- @usage lab:link_mtu("r1", "r2", 9000)
function Lab:link_mtu(a, b, mtu)
  self:_check_open("lab:link_mtu")
  local link = linkctl.find(self, "lab:link_mtu", a, b)
  if math.type(mtu) ~= "integer" then
    opts_mod.argerror("lab:link_mtu", 3, "integer expected, got " .. (math.type(mtu) or type(mtu)))
  end
  M.set_mtu(link, mtu)
  return link
end

--- Sets both ends of link to mtu and notes it; on a failure, the ends
-- are put back.
-- @tparam table link
-- @tparam integer mtu bytes
function M.set_mtu(link, mtu)
  local old = link.mtu or 1500
  local what = q(linkctl.name({ node = link.a, ifname = link.ifnames[1] }, { node = link.b, ifname = link.ifnames[2] }))
  if mtu < 68 or mtu > 65535 then
    raise("lab:link_mtu", what, E.EINVAL, string.format("mtu %d is out of range (68..65535 bytes)", mtu))
  end
  local ok, e = pcall(function()
    for _, en in ipairs(linkctl.ends(link)) do Link.set(en.ifname, { mtu = mtu }, { netns = en.netns }) end
  end)
  if not ok then
    for _, en in ipairs(linkctl.ends(link)) do pcall(Link.set, en.ifname, { mtu = old }, { netns = en.netns }) end
    error(e, 0)
  end
  link.mtu = mtu ~= 1500 and mtu or nil
end

--- Runs fn(lab) as one change: when it raises, what it changed in the lab
-- is undone (nodes and links added or removed, addresses, routes, MTU,
-- up/down, sysctls and shaping set through the lab: the lab is brought
-- back to its `lab:spec()` from before, by `lab:apply`), then the error is
-- raised again. Links and nodes made anew by the undo get new ifindexes;
-- the processes of a removed node are not brought back.
-- @tparam function fn called with the lab
-- @return what fn returns
-- @raise fn's error, unchanged (when the undo fails too: a string naming both)
-- @usage lab:transaction(function(l) l:unlink("r1", "r2"); l:link("r1", "r3") end)
function Lab:transaction(fn)
  self:_check_open("lab:transaction")
  if type(fn) ~= "function" then opts_mod.argerror("lab:transaction", 1, "function expected, got " .. type(fn)) end
  local declare = require "nslab.declare"
  local before = declare.spec(self)
  local outer = self._tx
  self._tx = outer or { macs = {} }
  local r = table.pack(pcall(fn, self))
  if r[1] then
    self._tx = outer
    return table.unpack(r, 2, r.n)
  end
  local tx = self._tx
  tx.restoring = true
  local ok, e2
  -- The undo runs whole, signals held back; one that came meanwhile is
  -- raised once the lab is as it was.
  core.defer_signals("cleaning up, please wait", function()
    ok, e2 = pcall(require("nslab.apply").apply, self, before, { op = "lab:transaction" })
    tx.restoring = nil
    self._tx = outer
  end)
  if not ok then
    error(string.format("lab %q: transaction failed (%s) and its undo failed too: %s", self.name,
      tostring(r[2]), tostring(e2)), 0)
  end
  error(r[2], 0)
end

-- ---- the node's methods ----

local Node = {}

--- A sysctl of the node: with a value, sets it (through the lab: kept in
-- `lab:spec()` and undone by a transaction); without, reads it.
-- @tparam string key "net.ipv4.ip_forward" or "net/ipv4/ip_forward"
-- @param[opt] value string or number
-- @treturn string|nil the value when reading
-- @raise as `nslab.sysctl.get`/`set`
-- @usage r1:sysctl("net.ipv4.conf.all.rp_filter", 0)
function Node:sysctl(key, value)
  if value == nil then return Sysctl.get(self.netns, key) end
  self.lab:_check_open("node:sysctl", q(self.name))
  key = key:gsub("/", ".")
  self._sysctl_old = self._sysctl_old or {}
  if self._sysctl_old[key] == nil and not ((self._opts or {}).sysctls or {})[key] then
    self._sysctl_old[key] = Sysctl.get(self.netns, key) -- what a transaction or apply puts back
  end
  Sysctl.set(self.netns, key, tostring(value))
  self._sysctls = self._sysctls or {}
  self._sysctls[key] = tostring(value)
  require("nslab.attach").note_sysctls(self)
end

--- Removes an address from an interface of the node (as `node:addr`
-- added it): kept in `lab:spec()`.
-- @tparam string ifname
-- @tparam string addr "10.0.0.1/24"
-- @raise as `nslab.addr.del`
function Node:addr_del(ifname, addr)
  self.lab:_check_open("node:addr_del", q(self.name))
  Addr.del(ifname, addr, { netns = self.netns })
  M.forget_addr(self, ifname, addr)
  M.hosts(self.lab)
end

--- Forgets addr on ifname of node (after the kernel removed it).
-- @tparam node node
-- @tparam string ifname
-- @tparam string addr
function M.forget_addr(node, ifname, addr)
  local ok, a = pcall(core.inet.parse, addr)
  local key = ok and a and a.address or addr
  for i = #node._addrs, 1, -1 do
    local x = node._addrs[i]
    if x.ifname == ifname and x.address == key then table.remove(node._addrs, i) end
  end
  for _, it in ipairs(node._ifs) do
    if it.ifname == ifname then
      for j = #it.addrs, 1, -1 do
        local ok2, b = pcall(core.inet.parse, it.addrs[j])
        if (ok2 and b and b.address or it.addrs[j]) == key then table.remove(it.addrs, j) end
      end
    end
  end
  M.resegment(node.lab)
end

--- Adds these methods to the lab and node classes.
-- @tparam table class the lab's metatable
-- @tparam table node_class the node's metatable
function M.install(class, node_class)
  for k, f in pairs(Lab) do class[k] = f end
  local link = class.link
  function class:link(a, b, opts) -- (a node removed: said so, before anything)
    linkctl.gone(self, "lab:link", a)
    linkctl.gone(self, "lab:link", b)
    return link(self, a, b, opts)
  end
  for k, f in pairs(Node) do node_class[k] = f end
  require("nslab.declare").install(class)
end

return M
