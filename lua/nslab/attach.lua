--- nslab.attach: reopening a lab from another process.
--
-- `require("nslab.lab").attach(name)` (the same function as
-- `nslab.attach.attach`) rebuilds a lab object for a lab that runs in
-- another process, or that was kept (`nslab --keep`, `lab:keep()`) or
-- left by a process that died, from its record (`/run/nslab/NAME.rec`,
-- `nslab.record`) and the kernel:
--
-- * nodes: every netns the record still covers that is still the
--   namespace the lab made (same nsfs identity), with the kind and
--   hostname of its `node` line (records of older versions have none:
--   then a netns holding a bridge device is a bridge, one forwarding
--   IPv4 a router, any other a host, hostname its name);
-- * links: the `veth` lines (ends, ifnames), their addresses from the
--   kernel (global and site scope), their state (down when an end is);
--   shaping is not rebuilt (`lab:state()` shows the qdiscs the kernel has),
--   nor the uplink (what it changed outside is removed at close all the same);
-- * node commands: each node joins the namespaces pinned for it
--   (`nslab.pins`: hostname, IPC, time) and gets the lab's /etc/hosts.
--
-- Ownership: a lab whose process still runs stays that process's; the
-- attached object is a guest: it runs commands, reads state, and its
-- `close()` only ends the commands it spawned itself. A lab whose process
-- is gone (kept or dead) is taken over: the record names this process
-- (rewritten in one rename, everything it covered kept), so `close()`
-- removes the lab as its maker would, `keep()` leaves it again, and
-- `nslab --clean` no longer touches it while this process runs.
--
-- What the record learns for this (written by every lab, see
-- `nslab.record`): `node NAME KIND HOSTNAME` once a node is made,
-- `veth A IFA B IFB` once a link is, `kept` when the lab is kept, and
-- `pins` before the first pin.
--
-- Privilege: as making a lab (CAP_NET_ADMIN and CAP_SYS_ADMIN); not in
-- rootless mode, whose labs live in another process's namespaces.
-- @module nslab.attach
local nslab = require "nslab"
local core = nslab.core
local Addr = require "nslab.addr"
local Link = require "nslab.link"
local Exec = require "nslab.exec"
local Node = require "nslab.node"
local Sysctl = require "nslab.sysctl"
local nodens = require "nslab.nodens"
local pins = require "nslab.pins"
local record = require "nslab.record"
local state = require "nslab.state"

local E = core.errno

local M = {}

local function q(s) return string.format("%q", s) end

local raise = require("nslab.opts").raise

--- The names of the recorded labs and how each is ("alive", "kept",
-- "dead"; "unreadable" with `why` when its record cannot be used).
-- @treturn {table,...} {name =, status =, pid =, rec =, why =}, sorted by name
function M.list()
  local out = {}
  for _, name in ipairs((record.names())) do
    local rec, why = record.load(name)
    if rec then
      out[#out + 1] = { name = name, status = state.status(rec), pid = rec.pid, rec = rec }
    elseif why then
      out[#out + 1] = { name = name, status = "unreadable", why = why }
    end
  end
  return out
end

--- Loads the record of lab name for op, raising when there is none.
-- @tparam string op
-- @tparam string name
-- @treturn table the record
-- @raise EINVAL error object for a bad name; ENOENT naming the recorded
-- labs when name has no record; EBADMSG when its record cannot be used
function M.load(op, name)
  record.check_name(op, name, 3)
  local rec, why = record.load(name)
  if why then raise(op, q(name), E.EBADMSG, record.unreadable_text(name, why)) end
  if not rec then
    local names = record.names()
    raise(op, q(name), E.ENOENT, string.format("no lab %q is recorded in %s (%s)", name, record.dir,
      #names > 0 and "labs: " .. table.concat(names, ", ") or "no lab is"))
  end
  return rec
end

-- Kinds and hostnames of the `node` lines, and the `veth` lines.
local function described(rec)
  local nodes, veths = {}, {}
  for _, it in ipairs(rec.items) do
    if it[1] == "node" then
      nodes[it[2]] = { kind = it[3], hostname = it[4] }
    elseif it[1] == "veth" then
      veths[#veths + 1] = { it[2], it[3], it[4], it[5] }
    elseif it[1] == "drop" and it[2] == "veth" then -- lab:unlink, lab:remove
      for i = #veths, 1, -1 do
        if veths[i][1] .. ":" .. veths[i][2] == it[3] then table.remove(veths, i) end
      end
    elseif it[1] == "drop" and it[2] == "netns" then
      nodes[it[3]] = nil
    end
  end
  return nodes, veths
end

-- A node without its `node` line (an older record): its kind guessed
-- from the kernel.
local function guess(netns, links)
  for _, l in ipairs(links) do
    if l.kind == "bridge" then return "bridge" end
  end
  local ok, fwd = pcall(Sysctl.get, netns, "net.ipv4.ip_forward")
  return ok and fwd == "1" and "router" or "host"
end

-- The record handle the attached lab writes to: this process's own
-- record (taken over), or one that writes nothing (a guest's).
local function handle(name, rec, take, ids)
  local h
  if take then
    h = record.create(name, rec.items)
  else
    h = setmetatable({ name = name, path = record.path_of(name), pid = rec.pid, start = rec.start, ids = {} },
      record.Rec)
  end
  for n, id in pairs(ids) do h.ids[n] = id end
  return h
end

-- Rebuilds node name of lab (its netns listed), its links known.
local function add_node(lab, name, desc)
  local links = Link.list { netns = name }
  local kind = desc and desc.kind or guess(name, links)
  local node = Node.new(lab, name, kind, desc and desc.hostname or name:sub(1, 64))
  if kind == "bridge" then
    for _, l in ipairs(links) do
      if l.kind == "bridge" then node.bridge = l.name end
    end
    node._seg = {}
  end
  node._kernel = {}
  for _, l in ipairs(links) do node._kernel[l.name] = l end
  lab.nodes[#lab.nodes + 1] = node
  lab._by[name] = node
  return node
end

-- The global addresses on ifname of node, as "addr/len" text.
local function addrs_of(node, ifname)
  local out = {}
  for _, a in ipairs(node._addrlist) do
    if a.ifname == ifname and (a.scope == "global" or a.scope == "site") then
      out[#out + 1] = a.address .. "/" .. a.prefixlen
    end
  end
  return out
end

local function add_link(lab, v)
  local a, b = lab._by[v[1]], lab._by[v[3]]
  if not (a and b and a._kernel[v[2]] and b._kernel[v[4]]) then return end
  local la, lb = addrs_of(a, v[2]), addrs_of(b, v[4])
  local link = { a = a, b = b, ifnames = { v[2], v[4] }, addrs = { la, lb }, shape = {},
    state = (a._kernel[v[2]].up and b._kernel[v[4]].up) and "up" or "down" }
  a:_attach(v[2], b, v[4], la, link)
  b:_attach(v[4], a, v[2], lb, link)
  for _, e in ipairs { { a, b, lb }, { b, a, la } } do
    if e[1].kind == "bridge" then
      for _, text in ipairs(e[3]) do e[1]._seg[text:match("^[^/]+")] = e[2].name end
    end
  end
  lab._links[#lab._links + 1] = link
  lab._nlinks = lab._nlinks + 1
end

-- Undo entries as the maker's: per node its netns then its pins, then
-- what the lab changed outside (uplinks), so close runs them in reverse.
local function undo_entries(lab, c)
  local say = function(text) io.stderr:write("nslab: ", text, "\n") end
  if lab._pins then
    lab._undo[#lab._undo + 1] = { what = "pins", lines = { { "pins" } },
      fn = function() pins.remove(lab.name) end }
  end
  for _, node in ipairs(lab.nodes) do
    local name = node.netns
    lab._undo[#lab._undo + 1] = { what = "netns " .. q(name), netns = name,
      fn = function() lab._rec:netns_del(name) end }
    if lab._pins then
      local dir = pins.node_dir(lab.name, name)
      lab._undo[#lab._undo + 1] = { what = "pins " .. name, lines = { { "pins" } },
        fn = function() core.exec.unpin(dir) end }
    end
  end
  for _, o in ipairs(c.outside) do
    local lines = { { o[1], o[2], o[1] == "sysctl" and o[3] or nil } }
    if o[1] ~= "sysctl" and o[3] then lines[2] = { o[1] .. "-id", o[2], o[3] } end
    lab._undo[#lab._undo + 1] = { what = o[1] .. " " .. o[2], lines = lines, drop = { o[1], o[2] },
      fn = function() require("nslab.uplink").clean_item(o, lab.name, say) end }
  end
end

--- Reopens lab name in this process (see the module).
-- @tparam string name lab name
-- @tparam[opt] table opts `guest` (boolean: never take the lab over, even
-- when its process is gone; node commands are not set up: for reading it,
-- as `nslab --inspect` does), `op` (string: the operation errors name,
-- default "nslab.attach")
-- @treturn lab the lab: its nodes (`lab.nodes`, `lab:node(name)`), links,
--   `state`, `json`, `show`, `dot`, node commands, `close`, `keep`
-- @raise EINVAL error object for a bad name; ENOENT when no lab of that
-- name is recorded (naming those that are); EBADMSG when its record cannot
-- be used; EPERM in rootless mode; kernel errors reading it. A lab open
-- in this process already is returned as it is.
-- @usage local lab = require("nslab.lab").attach "article"
-- print(lab:node("red"):run("hostname").stdout)
function M.attach(name, opts)
  opts = require("nslab.opts").check("nslab.attach", 2, opts, { guest = "boolean", op = "string" })
  local op = opts.op or "nslab.attach"
  local Lab = require "nslab.lab"
  local rec = M.load(op, name)
  for _, l in ipairs(Lab.active()) do
    if l.name == name then return l end
  end
  if rawget(_G, "NSLAB_ROOTLESS") then
    raise(op, q(name), E.EPERM, "rootless labs live in their own process's namespaces: nothing can attach to them")
  end
  core.need_caps(op, q(name))
  local status = state.status(rec)
  local c = record.contents(rec)
  local descs, veths = described(rec)
  local take = status ~= "alive" and not opts.guest
  local lab = { name = name, nodes = {}, _by = {}, _links = {}, _undo = {}, _procs = {}, _keep = false,
    _t0 = core.monotime(), _progress = false, _nlinks = 0, _guest = not take, _status = "alive" }
  for _, it in ipairs(rec.items) do
    if it[1] == "pins" then lab._pins = true end
  end
  local live = {}
  for _, n in ipairs(c.netns) do
    if record.same_id(record.netns_id(n), c.ids[n]) then live[#live + 1] = n end
  end
  return core.defer_signals(function()
    lab._rec = handle(name, rec, take, c.ids)
    lab = Lab._adopt(lab)
    for _, n in ipairs(live) do add_node(lab, n, descs[n]) end
    for _, node in ipairs(lab.nodes) do node._addrlist = Addr.list { netns = node.netns } end
    -- A guest is mostly made to be read at once: its first lab:state()
    -- uses these listings instead of making them again.
    if opts.guest then
      lab._seen = {}
      for _, node in ipairs(lab.nodes) do
        local links = {}
        for _, l in pairs(node._kernel) do links[#links + 1] = l end
        lab._seen[node.netns] = { links = links, addrs = node._addrlist }
      end
    end
    for _, v in ipairs(veths) do add_link(lab, v) end
    local hosts = nodens.source(lab)
    for _, node in ipairs(lab.nodes) do
      node._kernel, node._addrlist = nil, nil
      if not opts.guest then
        if lab._pins then pins.adopt(name, node) end
        Exec.node(node.netns, { hosts = hosts })
      end
    end
    if take then undo_entries(lab, c) end
    if not take then lab._status = status end
    return lab
  end)
end

-- ---- hooks into every lab: the record lines attach reads ----

--- Records node as made (its `node` line, for `nslab --attach`) and
-- pins its namespaces: what lab:host/router/bridge do once a node is
-- made (nslab.build too, pinning them itself: `unpinned`).
-- @tparam lab lab
-- @tparam node node
-- @tparam[opt] boolean unpinned only the record line
function M.note_node(lab, node, unpinned)
  lab._rec:add("node", node.name, node.kind, node.hostname)
  if not unpinned then pins.pin(lab, node) end
end

--- Records link as made (its `veth` line): what lab:link does once it
-- is made (nslab.build too).
-- @tparam lab lab
-- @tparam table link
function M.note_link(lab, link)
  lab._rec:add("veth", link.a.name, link.ifnames[1], link.b.name, link.ifnames[2])
end

--- Installs the hooks: `node`, `veth` and `kept` record lines, the
-- nodes' pins, a guest's close (ends only its own commands), and the
-- commands of a lab kept at exit left running (`nslab --keep`).
-- @tparam table Lab the lab class
function M.install(Lab)
  local make_node, link, teardown, gc, own = Lab._node, Lab.link, Lab._teardown, Lab.__gc, Lab._own
  -- A kept lab's commands run on after nslab exits (`nslab --keep`): at
  -- lua_close finalizers run newest first, so each spawned proc would be
  -- killed by its own __gc before the lab's could keep it. A keeper
  -- marked after the proc runs before it and detaches the lab's commands
  -- when the lab is to be kept. Keepers live as long as the lab.
  function Lab:_own(proc)
    own(self, proc)
    self._keepers = self._keepers or {}
    self._keepers[#self._keepers + 1] = setmetatable({}, { __gc = function()
      if not (self._open and (self._keep or rawget(_G, "NSLAB_KEEP"))) then return end
      for _, p in ipairs(self._procs) do
        if p:running() then p:detach() end
      end
    end })
  end
  -- `nslab --attach` to a kept lab: ending the REPL without lab:close()
  -- leaves it kept, as it was found.
  Lab.__gc = function(self)
    if self._keep_at_exit then self._keep = true end
    return gc(self)
  end
  function Lab:_node(kind, name, opts)
    local node = make_node(self, kind, name, opts)
    M.note_node(self, node)
    return node
  end
  function Lab:link(a, b, opts)
    local l = link(self, a, b, opts)
    M.note_link(self, l)
    return l
  end
  function Lab:_teardown()
    if self._open and self._guest then
      for _, p in ipairs(self._procs) do
        pcall(function()
          if p:running() then p:kill("SIGKILL") p:wait() end
        end)
      end
      self._open = false
      return {}
    end
    if self._open and (self._keep or rawget(_G, "NSLAB_KEEP")) then self._rec:add("kept") end
    return teardown(self)
  end
end

return M
