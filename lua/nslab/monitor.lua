--- nslab.monitor: rtnetlink notifications as a Lua iterator (what
-- `ip monitor` prints), for one network namespace (`nslab.monitor{...}`)
-- or for every node of a lab (`lab:watch{...}`, `nslab --events NAME`).
--
-- Each namespace gets a NETLINK_ROUTE socket of its own, opened inside
-- it and subscribed to the multicast groups asked for: "link"
-- (RTNLGRP_LINK), "addr" (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR),
-- "route" (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE), "neigh"
-- (RTNLGRP_NEIGH). Events are the tables the listings return, plus:
--
-- * `event`: "new" (RTM_NEW*: made or changed) or "del" (RTM_DEL*);
-- * `kind`: "link", "addr", "route" or "neigh";
-- * `netns` (the namespace's name; absent for nslab's own), `time`
--   (seconds since the epoch, when nslab read it), and for `lab:watch`
--   `node` (the node's name).
--
-- Links are `nslab.link.get` tables (`name`, `ifindex`, `up`, `operstate`,
-- `mtu`, `address`, `flags`, ...) whose link kind ("veth", "bridge") is
-- named `link_kind` here, `kind` being the event's. A link that changes
-- (goes down, gets a master) sends "new" again with its new state.
-- Addresses are `nslab.addr.list` tables (`ifname`, `address`,
-- `prefixlen`, `family`, ...); routes are `nslab.route.list` tables of any
-- table (`table` says which: "main", "local", ...; cached routes are left
-- out); neighbours have `family`, `ifindex`, `ifname`, `dst`, `lladdr`
-- (absent until resolved), `state` ("REACHABLE", "STALE", ... as `ip
-- neigh` prints) and `router`. Interface names come from a listing made
-- when the monitor opens, kept up to date by link events (a link deleted
-- keeps its name for the events that follow).
--
-- The kernel notifies what happens after the socket is open: nothing of
-- the state before. An open socket holds its namespace alive: deleting
-- the name (`ip netns del`) frees it only once the monitor is closed. Events are kept in the socket's buffer (4 MiB as
-- root) until read; when it overflows the kernel drops notifications and
-- the iterator raises ENOBUFS rather than go on with a wrong picture.
--
-- Privilege: a named netns needs CAP_SYS_ADMIN (setns); nslab's own
-- needs none.
-- @module nslab.monitor

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local opts_mod = require "nslab.opts"

local C = core.monitor
local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local OPTS = { netns = "string", groups = "table", timeout = "number" }
local WATCH_OPTS = { groups = "table", timeout = "number" }

-- The timeout (nil: no limit, or a number > 0) and the group words
-- (strings; the C side names an unknown one).
local function check_opts(op, opts)
  local t = opts.timeout
  if t ~= nil and not (t > 0 and t < 1e9) then
    opts_mod.invalid(op, nil, string.format("timeout %s is out of range (> 0 seconds)", t))
  end
  for i, g in ipairs(opts.groups or {}) do
    if type(g) ~= "string" then
      opts_mod.argerror(op, 1, string.format("field 'groups' must hold strings, groups[%d] is %s", i, type(g)), 3)
    end
  end
end

-- A set of open monitors, closed together (by the iterator's end, a
-- `for` loop left early through its closing value, or the collector).
local Set = {}
Set.__index = Set

function Set:close()
  for _, m in ipairs(self.mons) do m:close() end
  self.closed = true
end
Set.__close = Set.close
Set.__gc = Set.close

--- Opens one monitor per source and returns an iterator over their
-- events (the building block of `nslab.monitor`, `lab:watch` and
-- `nslab --events`).
-- @tparam {table,...} sources each `{netns = name|nil, node = name|nil}`:
-- the namespace to watch and the `node` field its events get
-- @tparam[opt] {string,...} groups "link", "addr", "route", "neigh" (nil: all)
-- @tparam[opt] number timeout seconds from now until the iterator ends
-- (nil: no limit)
-- @tparam[opt] function alive called about once a second while no event
-- comes: when it returns false the iterator ends (`nslab --events` ends
-- when the lab's namespaces are gone)
-- @treturn function iterator: the next event, or nil once the timeout
-- passed or alive said no (the sockets are then closed)
-- @return nil
-- @return nil
-- @treturn table the closing value (`for` closes the sockets when left)
-- @raise what `nslab.monitor` raises; on the first open that fails, the
-- monitors already open are closed
function M.open_all(sources, groups, timeout, alive)
  local set = setmetatable({ mons = {}, tags = {} }, Set)
  for i, s in ipairs(sources) do
    local ok, m = pcall(C.open, s.netns, groups)
    if not ok then
      set:close()
      error(m, 0)
    end
    set.mons[i], set.tags[i] = m, s.node
  end
  local deadline = timeout and core.monotime() + timeout
  local queue, at = {}, 1
  local function next_event()
    while true do
      local e = queue[at]
      if e then
        queue[at], at = nil, at + 1
        return e
      end
      if set.closed then return nil end
      local left = deadline and deadline - core.monotime()
      if left and left <= 0 then
        set:close()
        return nil
      end
      queue, at = {}, 1
      local ready = C.wait(set.mons, alive and math.min(left or 1, 1) or left)
      for _, i in ipairs(ready) do
        for _, ev in ipairs(set.mons[i]:read()) do
          ev.node = set.tags[i]
          queue[#queue + 1] = ev
        end
      end
      if #ready == 0 and alive and not alive() then
        set:close()
        return nil
      end
    end
  end
  return next_event, nil, nil, set
end

--- Iterates over the rtnetlink notifications of one network namespace:
-- `nslab.monitor{...}`. Use it in a generic `for` (leaving the loop
-- early closes the socket), or call the iterator yourself.
-- @tparam[opt] table opts `netns` (name; nil: nslab's own), `groups`
-- (array of "link", "addr", "route", "neigh"; default all four),
-- `timeout` (seconds from now, > 0: the iterator then ends; nil: it waits
-- for ever, until interrupted)
-- @treturn function iterator giving one event table at a time (see the
-- module description), nil at the timeout
-- @return nil, nil, and the closing value (for the generic `for`)
-- @raise argument error for an unknown field, a field of the wrong type
-- or a group that is not a string; EINVAL error object for an unknown
-- group (naming it), an empty list, a timeout not above 0; ENOENT when
-- the netns does not exist; while iterating, ENOBUFS when notifications
-- were lost and EINTR when nslab is interrupted (SIGINT, SIGTERM)
-- @usage for ev in nslab.monitor{netns = "red", groups = {"link"}, timeout = 5} do
--   print(ev.event, ev.name, ev.operstate)
-- end
function M.events(opts)
  opts = opts_mod.check("nslab.monitor", 1, opts, OPTS)
  check_opts("nslab.monitor", opts)
  return M.open_all({ { netns = opts.netns } }, opts.groups, opts.timeout)
end

--- Installs `lab:watch`.
-- @param Lab the lab class
function M.install(Lab)
  --- Iterates over the rtnetlink notifications of every node of the lab
  -- (one socket each, one poll(2) over all), each event with `node` set
  -- to the node's name. Nodes added later are not watched. The lab's
  -- close closes it (its sockets would keep the namespaces alive).
  -- @tparam[opt] table opts `groups` and `timeout` as `nslab.monitor`
  -- @treturn function iterator (then nil, nil and the closing value)
  -- @raise as `nslab.monitor`; EINVAL error object when the lab is closed
  -- @usage for ev in lab:watch{groups = {"link"}, timeout = 2} do print(ev.node, ev.name, ev.operstate) end
  function Lab:watch(opts)
    self:_check_open("lab:watch")
    opts = opts_mod.check("lab:watch", 1, opts, WATCH_OPTS)
    check_opts("lab:watch", opts)
    local sources = {}
    for i, node in ipairs(self.nodes) do sources[i] = { netns = node.netns, node = node.name } end
    if #sources == 0 then
      opts_mod.raise("lab:watch", string.format("%q", self.name), E.EINVAL, "the lab has no node to watch")
    end
    local next_event, _, _, set = M.open_all(sources, opts.groups, opts.timeout)
    -- A socket holds its netns alive: the lab's close closes the watch
    -- (an entry of its undo stack, holding the set weakly).
    local ref = setmetatable({ set }, { __mode = "v" })
    self._undo[#self._undo + 1] = { what = "watch", fn = function()
      if ref[1] then ref[1]:close() end
    end }
    return next_event, nil, nil, set
  end
end

-- `nslab.monitor{...}` is `events{...}`.
return setmetatable(M, { __call = function(_, opts) return M.events(opts) end })
