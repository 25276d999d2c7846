--- nslab.guest: changing a lab from another shell while its owner runs.
--
-- A lab reopened by `nslab.attach` (`nslab --attach NAME`) whose process
-- still runs is a guest: the lab stays its owner's. A guest may add to
-- it, and what it adds belongs to the lab: nodes (`lab:host`,
-- `lab:router`, `lab:bridge`), links (`lab:link`), an uplink, `lab:apply`
-- adding them. Each such change is made holding the lab's record lock
-- (an flock(2) on /run/nslab/NAME.rec, `core.record.locked`) and appended
-- to the record as the owner's own steps are (intent before creation,
-- identity once made), so:
--
-- * the guest's `close()` (or leaving `nslab --attach`) leaves them in the
--   lab: only the guest's own commands end (the daemons of a router it
--   added among them);
-- * the owner's lab object does not list them (its `lab:state()` shows
--   what it made); `nslab --inspect` and a new attach read the record and
--   show them all;
-- * the owner's close takes the lock, reads its record again and removes
--   what guests added with what it made itself (their processes ended,
--   namespaces, pins, cgroups and what an uplink changed outside);
-- * `nslab --clean NAME` removes them with the rest once the owner is gone.
--
-- What the owner made stays the owner's: a guest removing one of its
-- nodes or links (`lab:remove`, `lab:unlink`, a `lab:apply` that would)
-- is refused with EBUSY naming the lab and its owner's pid, the lab
-- unchanged: the owner holds their processes and undo steps. A guest may
-- remove what it added itself. In-place changes (link state, shaping, MTU,
-- sysctls, addresses) leave nothing behind and are allowed. A guest whose
-- lab's owner died, or closed it meanwhile, is refused (EBUSY) and told
-- to attach again (which takes a dead or kept lab over) or clean it.
-- @module nslab.guest
local core = require("nslab").core
local record = require "nslab.record"
local raise = require("nslab.opts").raise

local E = core.errno

local M = {}

local function q(s) return string.format("%q", s) end

-- The refusal of a change of what the owner made.
local function busy(lab, op, object, what)
  raise(op, object, E.EBUSY, string.format(
    "lab %q is owned by pid %d and %s was made there: a guest (nslab --attach) removes only what it added; " ..
    "do it in the owner's process, or keep the lab there (lab:keep()) and attach again to take it over",
    lab.name, lab._rec.pid, what))
end

--- Runs fn(...) as a guest's change of lab: holding the lab's record
-- lock, the record open for appending (so the change's record lines go
-- to the owner's record), after checking the owner still runs and has
-- not closed the lab. Nested calls run fn at once. Not for owners: their
-- record is always open.
-- @tparam lab lab a guest lab
-- @tparam string op the operation, for errors
-- @tparam string|nil object what it names, for errors
-- @tparam function fn
-- @return what fn returns
-- @raise EBUSY error object when the owner is gone or closed the lab;
-- what fn raises (its record lines already written, its undo steps done)
function M.locked(lab, op, object, fn, ...)
  local h = lab._rec
  if h.f then return fn(...) end
  local args, out = table.pack(...), nil
  local function gone(why)
    raise(op, object, E.EBUSY, string.format("lab %q %s: attach again (nslab --attach %s takes a kept or dead lab " ..
      "over), or remove it with `%s`", lab.name, why, lab.name, record.clean_command(lab.name)))
  end
  local ok, err, errno = core.record.locked(h.path, function()
    local now = record.load(lab.name)
    if not now or now.pid ~= h.pid or now.start ~= h.start then gone("was closed or taken over meanwhile") end
    if not record.alive(now.pid, now.start) then gone(string.format("lost its owner (pid %d is gone)", now.pid)) end
    local f, why, e = core.record.open(h.path, "a")
    if not f then raise(op, object, e, why) end
    f:setvbuf("no")
    h.f = f
    local done = table.pack(pcall(fn, table.unpack(args, 1, args.n)))
    h.f = nil
    f:close()
    if not done[1] then error(done[2], 0) end
    out = done
    return true
  end)
  if not ok then
    if errno == E.ENOENT or errno == E.ESTALE then gone("was closed or taken over meanwhile") end
    raise(op, object, errno, err)
  end
  return table.unpack(out, 2, out.n)
end

-- What the owner's undo stack already covers: netns names and outside
-- items ("kind name").
local function known(lab)
  local k = {}
  for _, node in ipairs(lab.nodes) do k[node.netns] = true end
  for _, u in ipairs(lab._undo) do
    if u.netns then k[u.netns] = true end
    if u.drop then k[u.drop[1] .. " " .. u.drop[2]] = true end
  end
  return k
end

--- For an owner's close (its record lock held): what guests added to
-- the record and this process does not know, put on its undo stack
-- (nslab.attach's entries: processes ended, netns, pins, outside items).
-- @tparam lab lab an owner lab
function M.adopt_added(lab)
  local rec = record.load(lab.name)
  if not rec or rec.pid ~= lab._rec.pid then return end
  local c = record.contents(rec)
  local skip, extra = known(lab), { netns = {}, ids = c.ids, outside = {} }
  for _, n in ipairs(c.netns) do
    if not skip[n] and record.same_id(record.netns_id(n), c.ids[n]) then
      extra.netns[#extra.netns + 1] = n
      lab._rec.ids[n] = c.ids[n]
    end
  end
  for _, o in ipairs(c.outside) do
    if not skip[o[1] .. " " .. o[2]] then extra.outside[#extra.outside + 1] = o end
  end
  require("nslab.attach").undo_entries(lab, extra, extra.netns)
end

--- Installs the guest rules on the lab class (after `nslab.live`).
-- @tparam table Lab the lab class
function M.install(Lab)
  local make_node, link, teardown, uplink = Lab._node, Lab.link, Lab._teardown, Lab.uplink
  function Lab:_node(kind, name, opts)
    if not self._guest or not self._open then return make_node(self, kind, name, opts) end
    local node = M.locked(self, "lab:" .. kind, type(name) == "string" and q(name) or nil, make_node, self, kind,
      name, opts)
    node._by_guest = true
    return node
  end
  function Lab:link(a, b, opts)
    if not self._guest or not self._open then return link(self, a, b, opts) end
    local l = M.locked(self, "lab:link", nil, link, self, a, b, opts)
    l._by_guest = true
    return l
  end
  if uplink then
    function Lab:uplink(node, opts)
      if not self._guest or not self._open then return uplink(self, node, opts) end
      return M.locked(self, "lab:uplink", nil, uplink, self, node, opts)
    end
  end
  function Lab:_teardown()
    if not self._open or self._guest or not self._rec.f or self._keep or rawget(_G, "NSLAB_KEEP") then
      return teardown(self)
    end
    local out
    core.record.locked(self._rec.path, function()
      M.adopt_added(self)
      out = teardown(self)
    end)
    return out or teardown(self)
  end
  -- Removing: through live (lab:remove, lab:unlink, lab:apply).
  local live = require "nslab.live"
  local drop_node, drop_link = live.drop_node, live.drop_link
  live.drop_node = function(lab, node)
    if not lab._guest then return drop_node(lab, node) end
    if not node._by_guest then busy(lab, "lab:remove", q(node.name), "node " .. q(node.name)) end
    return M.locked(lab, "lab:remove", q(node.name), drop_node, lab, node)
  end
  live.drop_link = function(lab, l)
    if not lab._guest then return drop_link(lab, l) end
    local what = string.format("%s:%s -- %s:%s", l.a.name, l.ifnames[1], l.b.name, l.ifnames[2])
    if not l._by_guest then busy(lab, "lab:unlink", q(what), "link " .. what) end
    return M.locked(lab, "lab:unlink", q(what), drop_link, lab, l)
  end
end

return M
