--- nslab.state: a lab as data. `lab:state()` returns a plain Lua table read
-- from the kernel (one RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE and
-- RTM_GETQDISC dump per node, over the node's own rtnetlink socket: no
-- command is run) and from what the lab knows (node kinds, which ends a
-- link joins, shaping asked for); `lab:json()` is the same as one line of
-- JSON (`nslab.json`). Lists are arrays (JSON `[]`, also when empty),
-- in the lab's order. The field names below are stable: new fields may
-- be added, none renamed or removed without raising `schema`.
--
-- The state table:
--
-- * `schema` (integer, 1), `name` (lab name), `pid` (the process owning
--   the lab), `status` (`"alive"`: its owner runs; `"kept"`: left running
--   by `--keep` after its owner ended; `"dead"`: the owner died, see
--   `nslab --clean`), `uplinks` (array of {`node`, `ifname`}, one per node
--   with an uplink, in node order; nil without any; a lab reopened by
--   `nslab.attach` does not know its uplinks), `uplink` (the first of
--   `uplinks`, kept for schema 1 readers).
-- * `nodes`: array of node tables:
--   * `name`, `kind` (`"host"`, `"router"`, `"bridge"`), `netns`,
--     `hostname` (of its UTS namespace), `bridge` (the bridge device, for a
--     bridge), `processes` (array of pids living in its netns, as `ip
--     netns pids` lists them), `uplink` ({`ifname`, `peer`, `addrs`,
--     `via`, `nat`}) for the node with one.
--   * `interfaces`: array, in ifindex order, each {`ifname`, `ifindex`,
--     `kind` (`"veth"`, `"bridge"`; nil for `lo`), `mac`, `mtu` (bytes),
--     `operstate` (lower case, as `ip -j` prints it: `"up"`, `"down"`,
--     `"unknown"`, `"lowerlayerdown"`), `up` (administratively),
--     `master` (bridge of a port), `peer` ({`node`, `ifname`}: the other
--     end of a lab link), `qdiscs` (array of {`kind`, `handle`, `parent`,
--     and `rate` bit/s, `limit`, `burst` bytes, `delay` s, `loss` 0..1 ...
--     as `nslab.tc.qdisc_list` gives them}; left out when the kernel's
--     default (noqueue) is all)}.
--   * `addrs`: array of {`ifname`, `family` (`"inet"`, `"inet6"`),
--     `address` (RFC 5952 text for IPv6), `prefixlen`, `scope`}, every
--     address (lo and link-local ones included), in the kernel's order.
--   * `routes`: array of the main table's routes, IPv4 then IPv6, each
--     {`family`, `dst` (`"default"` or `"10.0.0.0/24"`), `via`, `dev`,
--     `src`, `metric`, `table`, `proto`, `scope`, `type`, `onlink`}, as
--     `nslab.route.list` gives them.
-- * `links`: array of lab links, each {`a`, `b` (ends: {`node`, `ifname`,
--   `ifindex`, `mac`, `mtu`, `operstate`}), `state` (`"up"` or `"down"`,
--   as `lab:link_state` set it), `shape` ({`a_to_b`, `b_to_a`}, each the
--   shaping of that direction as `nslab.shape` reads it: `rate` bit/s,
--   `delay`/`jitter` s, `loss` ... 0..1; nil when not shaped)}.
--
-- Privilege: as `nslab.link.list` (CAP_SYS_ADMIN to enter the netns).
-- @module nslab.state
local nslab = require "nslab"
local Addr = require "nslab.addr"
local Link = require "nslab.link"
local Netns = require "nslab.netns"
local Route = require "nslab.route"
local json = require "nslab.json"
local record = require "nslab.record"
local tc = require "nslab.tc"

local M = {}

--- The current schema number of `lab:state()`.
M.SCHEMA = 1


-- The qdiscs on each ifindex of netns that are not the kernel's default.
local function qdiscs_of(netns)
  local by = {}
  local ok, list = pcall(tc.qdisc_list, { netns = netns })
  for _, q in ipairs(ok and list or {}) do
    if q.kind ~= "noqueue" and q.handle ~= "0:" then
      local t = {}
      for k, v in pairs(q) do
        if k ~= "dev" and k ~= "ifindex" then t[k] = v end
      end
      by[q.ifindex] = by[q.ifindex] or {}
      table.insert(by[q.ifindex], t)
    end
  end
  return by
end

-- The kernel's view of one node; seen: {links =, addrs =} just listed
-- (by nslab.attach), used once instead of listing again.
local function node_state(node, pids, seen)
  local n = { name = node.name, kind = node.kind, netns = node.netns, hostname = node.hostname,
    bridge = node.bridge, processes = pids or {}, interfaces = {}, addrs = {}, routes = {} }
  local peers = {}
  for _, i in ipairs(node._ifs or {}) do peers[i.ifname] = { node = i.peer.name, ifname = i.peer_ifname } end
  local qd = qdiscs_of(node.netns)
  seen = seen or {}
  for _, l in ipairs(seen.links or Link.list { netns = node.netns }) do
    n.interfaces[#n.interfaces + 1] = { ifname = l.name, ifindex = l.ifindex, kind = l.kind, mac = l.address,
      mtu = l.mtu, operstate = l.operstate and tostring(l.operstate):lower(), up = l.up, master = l.master,
      peer = peers[l.name], qdiscs = qd[l.ifindex] }
  end
  table.sort(n.interfaces, function(x, y) return x.ifindex < y.ifindex end)
  for _, a in ipairs(seen.addrs or Addr.list { netns = node.netns }) do
    n.addrs[#n.addrs + 1] = { ifname = a.ifname, family = a.family, address = a.address, prefixlen = a.prefixlen,
      scope = a.scope }
  end
  -- one dump of both families (the kernel sends IPv4, then IPv6); the
  -- route tables are fresh and hold exactly the documented fields
  n.routes = Route.list { netns = node.netns }
  local up = node._uplink
  if up then n.uplink = { ifname = up.ifname, peer = up.peer, addrs = up.addrs, via = up.via, nat = up.nat } end
  return n
end

-- pids per netns name: one /proc scan for the whole lab, one per node
-- only when some process lives in the lab.
local function pids_by_node(lab)
  local names = {}
  for i, node in ipairs(lab.nodes) do names[i] = node.netns end
  local by = {}
  if #names == 0 or #Netns.pids(names) == 0 then return by end
  for _, n in ipairs(names) do by[n] = Netns.pids(n) end
  return by
end

local function end_of(nstate, ifname)
  for _, i in ipairs(nstate.interfaces) do
    if i.ifname == ifname then
      return { node = nstate.name, ifname = ifname, ifindex = i.ifindex, mac = i.mac, mtu = i.mtu,
        operstate = i.operstate }
    end
  end
  return { node = nstate.name, ifname = ifname }
end

--- Whether the lab of record rec is `"alive"`, `"kept"` or `"dead"`.
-- @tparam table rec a loaded record (`nslab.record.load`)
-- @treturn string
function M.status(rec)
  if record.alive(rec.pid, rec.start) then return "alive" end
  for _, it in ipairs(rec.items) do
    if it[1] == "kept" then return "kept" end
  end
  return "dead"
end

--- The state table of lab (see the module).
-- @tparam lab lab an open lab (made here, or `nslab.attach`)
-- @treturn table
-- @raise EINVAL error object for a closed lab; kernel errors of the
-- listings (ENOENT when a node's netns was removed behind the lab's back)
function M.state(lab)
  local by, nodes = pids_by_node(lab), {}
  local st = { schema = M.SCHEMA, name = lab.name, pid = lab._rec and lab._rec.pid or nslab.core.getpid(),
    status = lab._status or "alive", nodes = nodes, links = {} }
  local index, seen = {}, lab._seen or {}
  lab._seen = nil
  for i, node in ipairs(lab.nodes) do
    nodes[i] = node_state(node, by[node.netns], seen[node.netns])
    index[node.name] = nodes[i]
    if nodes[i].uplink then
      st.uplinks = st.uplinks or {}
      st.uplinks[#st.uplinks + 1] = { node = node.name, ifname = nodes[i].uplink.ifname }
    end
  end
  st.uplink = st.uplinks and st.uplinks[1]
  for i, l in ipairs(lab._links) do
    local shape
    if l.shape and (l.shape[1] or l.shape[2]) then shape = { a_to_b = l.shape[1], b_to_a = l.shape[2] } end
    st.links[i] = { a = end_of(index[l.a.name], l.ifnames[1]), b = end_of(index[l.b.name], l.ifnames[2]),
      state = l.state or "up", shape = shape }
  end
  return st
end

--- `state` as one line of JSON, lists as arrays even when empty.
-- @tparam table st a state table
-- @treturn string
-- @raise ENOENT error object without lua-cjson
function M.json(st)
  -- The lists that may be empty, marked where the schema has them (a
  -- walk of the whole table would cost more than the encoding).
  local undo = {}
  local function mark(t, k)
    if type(t[k]) == "table" and next(t[k]) == nil then
      undo[#undo + 1] = { t, k, t[k] }
      t[k] = json.EMPTY_ARRAY
    end
  end
  mark(st, "links")
  for _, n in ipairs(type(st.nodes) == "table" and st.nodes or {}) do
    for _, k in ipairs { "processes", "interfaces", "addrs", "routes" } do mark(n, k) end
  end
  mark(st, "nodes")
  local ok, text = pcall(json.encode_arrays, st, nil, "lab:json")
  for i = #undo, 1, -1 do undo[i][1][undo[i][2]] = undo[i][3] end
  if not ok then error(text, 0) end
  return text
end

local Lab = {}

--- `lab:state()`: the lab as a plain table (see `nslab.state`).
-- @treturn table
-- @raise EINVAL error object for a closed lab; kernel errors of the listings
-- @usage for _, n in ipairs(lab:state().nodes) do print(n.name, #n.addrs) end
function Lab.state(self)
  self:_check_open("lab:state")
  self:_quiet()
  return M.state(self)
end

--- `lab:json()`: `lab:state()` as one line of JSON (lua-cjson).
-- @treturn string
-- @raise as `state`; ENOENT error object without lua-cjson
-- @usage io.write(lab:json(), "\n")
function Lab.json(self)
  return M.json(self:state())
end

--- Adds `state` and `json` to the lab class.
-- @tparam table class the lab class
function M.install(class)
  for k, f in pairs(Lab) do class[k] = f end
end

return M
