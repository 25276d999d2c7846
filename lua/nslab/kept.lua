--- nslab.kept: the nodes of a lab seen from another process, read from
-- its record (/run/nslab/NAME.rec, `nslab.record`), for the lab commands
-- that look at a running or kept lab (`nslab --events`, `nslab
-- --capture`). A node's netns is named like the node; only namespaces
-- still the ones the lab made (same nsfs identity as recorded) count, so
-- a name reused since is never watched or captured on.
-- @module nslab.kept

local core = require("nslab").core
local record = require "nslab.record"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local function q(s) return string.format("%q", s) end

--- The node names (= netns names) of lab name, in creation order.
-- @tparam string op the command, for errors ("nslab --events")
-- @tparam string name the lab
-- @treturn {string,...}
-- @treturn table their identities, name -> {dev=, ino=} (see `alive`)
-- @raise EINVAL error object for a bad lab name; ENOENT when no lab of
-- that name is recorded (naming /run/nslab), or when none of its nodes
-- is left; EBADMSG when its record cannot be used
function M.nodes(op, name)
  record.check_name(op, name)
  local rec, err = record.load(name)
  if not rec then
    if err then opts_mod.raise(op, q(name), E.EBADMSG, record.unreadable_text(name, err)) end
    opts_mod.raise(op, q(name), E.ENOENT, string.format("no lab %q recorded in %s (see nslab --clean, " ..
      "ip netns list)", name, record.dir))
  end
  local c = record.contents(rec)
  local nodes = {}
  for _, ns in ipairs(c.netns) do
    if record.same_id(record.netns_id(ns), c.ids[ns]) then nodes[#nodes + 1] = ns end
  end
  if #nodes == 0 then
    opts_mod.raise(op, q(name), E.ENOENT, string.format("lab %q has no node left", name))
  end
  return nodes, c.ids
end

--- Whether any of nodes (as `nodes` returned them, with their ids) is
-- still the namespace the lab made: false once the lab is removed.
-- @tparam {string,...} nodes
-- @tparam table ids
-- @treturn boolean
function M.alive(nodes, ids)
  for _, ns in ipairs(nodes) do
    if record.same_id(record.netns_id(ns), ids[ns]) then return true end
  end
  return false
end

--- The node called node of lab name, checked as `nodes` does.
-- @tparam string op
-- @tparam string name the lab
-- @tparam string node
-- @treturn string the node's netns name
-- @raise as `nodes`; ENOENT naming the lab's nodes when it has no such node
function M.node(op, name, node)
  local nodes = M.nodes(op, name)
  for _, n in ipairs(nodes) do
    if n == node then return n end
  end
  local list = table.concat(nodes, ", ", 1, math.min(#nodes, 20)) .. (#nodes > 20 and ", ..." or "")
  opts_mod.raise(op, q(node), E.ENOENT, string.format("lab %q has no node %q (its nodes: %s)", name, node, list))
end

return M
