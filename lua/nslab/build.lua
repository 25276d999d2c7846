--- nslab.build: how `lab:apply` makes many new nodes and links at once
-- (a lab built from a spec), where `lab:host` and `lab:link` make one at
-- a time. The plan's new hosts and routers (those without `dirs`, `ipc`,
-- `time`, `pid`, `cgroup`, `bird` or `frr`), and its new links between
-- two of them (unshaped), are made
-- together: the namespaces' intents written to the record in one write,
-- the namespaces made, their UTS namespaces made by one helper child
-- (`core.exec.uts`), then every veth, address and "up" sent as one
-- rtnetlink batch per namespace (`core.batch.send`, only the last message
-- asking for an ACK; the ifindexes are chosen here, lo being 1 in a new
-- namespace). The lab ends exactly as `lab:host` and `lab:link` leave
-- it: the same record lines, undo entries, node and link tables, the
-- same kernel state (names, addresses, flags, sysctls, hostname).
--
-- All or nothing: what is checked (names taken, addresses on a segment)
-- is checked before anything is made; a refusal midway (the kernel's,
-- naming the item through its tag) removes every namespace made, so the
-- lab is as before, and the error names the plan's change
-- (`lab "x": apply: + link a:eth1 -- b:eth0`). Signals wait until the
-- whole build is made and listed in the lab (or removed again).
-- @module nslab.build

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local Addr = require "nslab.addr"
local Exec = require "nslab.exec"
local attach = require "nslab.attach"
local Link = require "nslab.link"
local Node = require "nslab.node"
local claim = require "nslab.claim"
local nodens = require "nslab.nodens"
local opts_mod = require "nslab.opts"
local pins = require "nslab.pins"
local segment = require "nslab.segment"
local teardown = require "nslab.teardown"
local fault = require "nslab.fault"

local E = core.errno

local M = {}

local function q(s) return string.format("%q", s) end

local function copy(v) return require("nslab.declare").copy(v) end

-- The spec node fields this module makes itself; a node with any other
-- (dirs, ipc, time, pid, cgroup, bird, frr, ...) goes through lab:host or
-- lab:router, which own what those need.
local SIMPLE = { name = true, kind = true, hostname = true, ifname = true, sysctls = true, addrs = true,
  routes = true, index = true }

-- A spec node made here: a host or router with nothing but the SIMPLE fields.
local function node_ok(n)
  if n.kind ~= "host" and n.kind ~= "router" then return false end
  for k in pairs(n) do
    if not SIMPLE[k] then return false end
  end
  return true
end

-- A spec link made here: between two nodes made here, unshaped.
local function link_ok(l, new)
  local s = l.shape or {}
  return new[l.ends[1].node] and new[l.ends[2].node] and s[1] == nil and s[2] == nil
end

--- The part of plan this module carries out, or nil: its `handles` (set
-- of the plan's changes), `change` (the batch as one change, named by an
-- error that is none of its changes' own, such as a signal held back
-- while it was made) and `run()` (makes them all, returns the undo).
-- Not while a transaction is being undone (links come back with their
-- MACs through `lab:link`).
-- @tparam lab lab
-- @tparam table plan from `nslab.plan.plan`
-- @treturn table|nil
function M.prepare(lab, plan)
  if lab._tx and lab._tx.restoring then return nil end
  local ncs, lcs, new, handles = {}, {}, {}, {}
  for _, c in ipairs(plan.changes) do
    if c.phase == "node+" and node_ok(c.args.node) then
      ncs[#ncs + 1] = c
      new[c.args.node.name] = true
      handles[c] = true
    end
  end
  if #ncs == 0 then return nil end
  for _, c in ipairs(plan.changes) do
    if c.phase == "link+" and link_ok(c.args.link, new) then
      lcs[#lcs + 1] = c
      handles[c] = true
    end
  end
  -- the batch as one change, for an error that is none of its own (a
  -- signal held back while it was made)
  local change = { phase = "node+", sign = "+", kind = "node", text = string.format(
    "%d node(s) (%s%s) and %d link(s) between them, made together", #ncs, ncs[1].args.node.name,
    #ncs > 1 and ", ..." or "", #lcs) }
  return { handles = handles, change = change, run = function() return M.run(lab, ncs, lcs) end }
end

-- Writes what fn(rec) adds to the record in one write(2).
local function one_write(rec, fn)
  local f, parts = rec.f, {}
  if not f then return fn(rec) end
  rec.f = { write = function(_, s) parts[#parts + 1] = s end }
  local ok, e = pcall(fn, rec)
  rec.f = f
  if #parts > 0 then f:write(table.concat(parts)) end
  if not ok then error(e, 0) end
end

-- e (an error) carrying the change it happened at, for nslab.apply.
local function at(e, c)
  if type(e) ~= "table" then e = core.error { op = "lab:apply", errno = E.EIO, extack = tostring(e) } end
  e._change = e._change or c
  return e
end

-- The nodes: Lua side made, names claimed (nothing made yet). Returns
-- the nodes and their options, in plan order, and by name.
local function check_nodes(lab, ncs)
  local nodes, by = {}, {}
  for i, c in ipairs(ncs) do
    local n = c.args.node
    local op = "lab:" .. n.kind
    local ok, e = pcall(function()
      -- as nslab.apply's add_node gives them to lab:host
      local opts = { sysctls = copy(n.sysctls), hostname = n.hostname }
      local node = Node.new(lab, n.name, n.kind, nodens.hostname(op, n.name, opts))
      claim.node(op, lab, n.name)
      node._opts = opts
      node._next = 2 -- the next ifindex (lo is 1)
      nodes[i], by[n.name] = node, node
    end)
    if not ok then error(at(e, c), 0) end
  end
  return nodes, by
end

-- The links: ends as lab:link makes them, checked; their ifindexes
-- chosen. Returns {c, ends, mine, index = {a, b}} in plan order.
local function check_links(lcs, by)
  local links, taken = {}, {}
  for i, c in ipairs(lcs) do
    local l = c.args.link
    local ok, e = pcall(function()
      local ends = {}
      for k = 1, 2 do
        local node, ifname = by[l.ends[k].node], l.ends[k].ifname
        taken[node] = taken[node] or {}
        if taken[node][ifname] then
          opts_mod.raise("lab:link", q(ifname), E.EEXIST, string.format("node %q already has %q", node.name, ifname))
        end
        taken[node][ifname] = true
        -- Never the ifindex of the other end: the kernel takes the
        -- carrier change of a veth whose peer has the same ifindex (in
        -- its own netns) as not urgent, and its operstate stays UNKNOWN
        -- for up to a second (linkwatch).
        if k == 2 and node._next == ends[1].index then node._next = node._next + 1 end
        ends[k] = { node = node, ifname = ifname, addrs = segment.list_of(copy(l.addrs[k])), index = node._next }
        node._next = node._next + 1
      end
      -- Between two hosts or routers, nslab.declare has checked what
      -- segment.check would (but an mtu below IPv6's least).
      local mine = (l.mtu or 1500) < 1280 and segment.check(ends, l.mtu) or {}
      links[i] = { c = c, ends = ends, mine = mine }
    end)
    if not ok then error(at(e, c), 0) end
  end
  return links
end

-- The rtnetlink batches, one per namespace in node order (then those of
-- ends whose peer's namespace comes later), and the change of each tag.
local function batches_of(nodes, links)
  local tags, pos, per, late = {}, {}, {}, {}
  local function item(list, c, t)
    tags[#tags + 1] = c
    t.tag = #tags
    list[#list + 1] = t
  end
  for i, node in ipairs(nodes) do
    pos[node] = i
    per[i] = { netns = node.netns }
    if not node._lo then item(per[i], node._change, { op = "up", ifindex = 1 }) end
  end
  for _, L in ipairs(links) do
    local a, b = L.ends[1], L.ends[2]
    local l = L.c.args.link
    local mac = l.mac or {}
    local list = per[pos[a.node]]
    item(list, L.c, { op = "veth", ifindex = a.index, name = a.ifname, peer = b.ifname, peer_netns = b.node.netns,
      peer_ifindex = b.index, mtu = l.mtu, address = mac[1], peer_address = mac[2], up = true })
    for _, ad in ipairs(a.addrs) do item(list, L.c, { op = "addr", ifindex = a.index, addr = ad }) end
    if pos[b.node] > pos[a.node] then
      list = per[pos[b.node]]
    else
      late[b.node] = late[b.node] or { netns = b.node.netns }
      list = late[b.node]
      if not late[b.node].listed then
        late[b.node].listed = true
        late[#late + 1] = late[b.node]
      end
    end
    item(list, L.c, { op = "up", ifindex = b.index })
    for _, ad in ipairs(b.addrs) do item(list, L.c, { op = "addr", ifindex = b.index, addr = ad }) end
  end
  for _, t in ipairs(late) do per[#per + 1] = t end
  return per, tags
end

-- The error of a refused item, as the call lab:host or lab:link makes
-- would have raised it.
local function refusal(t, errno, ext, netns)
  local e = { errno = errno, extack = ext ~= "" and ext or nil, netns = netns }
  if t.op == "veth" then
    e.op, e.object = "link.veth", q(t.name)
    if errno == E.EEXIST and not e.extack then
      e.extack = string.format("a link %q or %q already exists where it would go", t.name, t.peer)
    end
  elseif t.op == "addr" then
    e.op, e.object = "addr.add", t.addr .. " dev " .. t.ifname
  else
    e.op, e.object = "link.set", q(t.ifname or "lo")
  end
  return core.error(e)
end

-- Makes the namespaces (`core.batch.netns`): their intents in one record
-- write, their identities in another once they exist and before they
-- have their names; each named one's undo entry pushed. Each gets the
-- sysctls of its kind (Node.default_sysctls) as it is made.
local function make_netns(lab, nodes, ncs)
  local rec = lab._rec
  local names, sysctls = {}, {}
  for i, node in ipairs(nodes) do names[i], sysctls[i] = node.netns, Node.default_sysctls(node.kind) end
  one_write(rec, function(r) for _, name in ipairs(names) do r:add("netns", name) end end)
  local identified = false
  local ok, k, errno, why = pcall(core.batch.netns, names, sysctls, function(ids)
    identified = true
    one_write(rec, function(r) for i, id in ipairs(ids) do r:add("netns-id", names[i], id[1], id[2]) end end)
  end)
  local named = ok and not k and #nodes or ok and identified and k - 1 or 0
  for i = 1, named do
    local name = names[i]
    lab._undo[#lab._undo + 1] = { what = string.format("netns %q", name), netns = name,
      fn = function() rec:netns_del(name) end }
  end
  if named == #nodes then return end
  one_write(rec, function(r) for i = named + 1, #nodes do r:drop("netns", names[i]) end end)
  if not ok then error(at(k, ncs[1]), 0) end
  error(at(core.error { op = "netns.add", object = q(names[k]), errno = errno, extack = why }, ncs[k]), 0)
end

-- Everything made in the kernel, undo entries pushed (raises after
-- removing nothing: the caller rolls back).
local function make(lab, nodes, ncs, links)
  make_netns(lab, nodes, ncs)
  local names, hostnames, source = {}, {}, nodens.source(lab)
  for i, node in ipairs(nodes) do
    Exec.node(node.netns, { hosts = source })
    names[i], hostnames[i] = node.netns, node.hostname
  end
  local ok, e = pcall(core.exec.uts, names, hostnames)
  if not ok then error(at(e, ncs[1]), 0) end
  for i, node in ipairs(nodes) do
    node._change = ncs[i]
    if node._opts.sysctls then
      ok, e = pcall(function()
        -- lo up before the node's own sysctls, as lab:host has it
        Link.set("lo", { up = true }, { netns = node.netns })
        node._lo = true
        node:_own_sysctls(node._opts)
      end)
      if not ok then error(at(e, ncs[i]), 0) end
    end
  end
  -- their record lines (in one write) and pins, as lab:host has them
  -- (nslab.attach)
  one_write(lab._rec, function() for _, node in ipairs(nodes) do attach.note_node(lab, node, true) end end)
  for i, node in ipairs(nodes) do
    ok, e = pcall(pins.pin, lab, node)
    if not ok then error(at(e, ncs[i]), 0) end
  end
  local batches, tags = batches_of(nodes, links)
  local tag, errno, ext = core.batch.send(batches)
  if tag then
    local t
    for _, b in ipairs(batches) do
      for _, x in ipairs(b) do if x.tag == tag then t, x.netns = x, b.netns end end
    end
    if t.op == "addr" or t.op == "up" and t.ifindex ~= 1 then
      for _, L in ipairs(links) do
        for _, en in ipairs(L.ends) do
          if en.node.netns == t.netns and en.index == t.ifindex then t.ifname = en.ifname end
        end
      end
    end
    error(at(refusal(t, errno, ext, t.netns), tags[tag]), 0)
  end
  local new = {} -- node -> its new ends' ifindexes
  for _, L in ipairs(links) do
    local a = L.ends[1]
    -- as lab:link pushes it: goes with its namespaces at close
    lab._undo[#lab._undo + 1] = { what = "veth " .. a.ifname, covered = true, veth = { a.node.netns, a.ifname },
      fn = function() Link.del(a.ifname, { netns = a.node.netns }) end }
    for _, en in ipairs(L.ends) do
      local t = new[en.node] or {}
      new[en.node], t[#t + 1] = t, en.index
    end
  end
  -- P2: the link-local addresses usable too, as lab:link leaves them
  for _, node in ipairs(nodes) do
    if new[node] then Addr.settle { netns = node.netns, ifindexes = new[node] } end
  end
end

-- Lists the nodes and links in the lab as lab:host and lab:link do.
local function register(lab, nodes, links)
  for _, node in ipairs(nodes) do
    node._next, node._lo, node._change = nil, nil, nil
    lab.nodes[#lab.nodes + 1] = node
    lab._by[node.name] = node
  end
  for _, L in ipairs(links) do
    local l, ea, eb = L.c.args.link, L.ends[1], L.ends[2]
    segment.join(lab.nodes, L.ends, L.mine)
    local link = { a = ea.node, b = eb.node, ifnames = { ea.ifname, eb.ifname }, addrs = { ea.addrs, eb.addrs },
      shape = {}, state = "up", mtu = l.mtu, mac = l.mac and { l.mac[1], l.mac[2] } }
    ea.node:_attach(ea.ifname, eb.node, eb.ifname, ea.addrs, link)
    eb.node:_attach(eb.ifname, ea.node, ea.ifname, eb.addrs, link)
    lab._links[#lab._links + 1] = link
    lab._nlinks = lab._nlinks + 1
    L.link = link
  end
  one_write(lab._rec, function() for _, L in ipairs(links) do attach.note_link(lab, L.link) end end)
  Node.hosts_changed(lab)
  lab:_tick()
end

--- Makes the nodes of node changes ncs and the links of link changes
-- lcs (see `prepare`) and lists them in lab.
-- @tparam lab lab
-- @tparam {table,...} ncs the plan's "node+" changes
-- @tparam {table,...} lcs the plan's "link+" changes between those nodes
-- @treturn function the undo: removes them all again (`lab:remove`'s way)
-- @raise the error of the first refusal (checks: before anything is made;
-- the kernel's: after removing what was made), with `_change` the change
-- it belongs to
function M.run(lab, ncs, lcs)
  local nodes, by = check_nodes(lab, ncs)
  local links = check_links(lcs, by)
  local mark, pinned = #lab._undo, lab._pins
  core.defer_signals(function()
    local ok, e = pcall(make, lab, nodes, ncs, links)
    if not ok then
      teardown.rollback(lab, mark)
      lab._pins = pinned -- (its directory gone with the rest when made here)
      error(e, 0)
    end
    register(lab, nodes, links)
    fault.at("build-made")
  end)
  return function()
    local live = require "nslab.live"
    for i = #nodes, 1, -1 do
      if lab._by[nodes[i].name] == nodes[i] then live.drop_node(lab, nodes[i]) end
    end
  end
end

return M
