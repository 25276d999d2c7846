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

--- Loads the record of lab name for the lab command (or function) op:
-- the one wording of "no such lab" for every lab command (`--inspect`,
-- `--graph`, `--attach`, `--export`, `--apply`, `--events`, `--capture`,
-- `--clean`).
-- @tparam string op the command, for errors ("nslab --events")
-- @tparam string name the lab
-- @tparam[opt=2] integer level of the argument error for a non-string name
-- @treturn table the record (`nslab.record.load`)
-- @raise argument error for a name that is not a string; EINVAL error
-- object for a bad name; ENOENT naming /run/nslab and the labs recorded
-- there when name has no record; EBADMSG when its record cannot be used
function M.load(op, name, level)
  record.check_name(op, name, (level or 2) + 1)
  local rec, why = record.load(name)
  if why then opts_mod.raise(op, q(name), E.EBADMSG, record.unreadable_text(name, why)) end
  if not rec then
    local names = record.names()
    opts_mod.raise(op, q(name), E.ENOENT, string.format("no lab %q is recorded in %s (%s)", name, record.dir,
      #names > 0 and "labs: " .. table.concat(names, ", ") or "no lab is"))
  end
  return rec
end

--- The node names (= netns names) of lab name, in creation order.
-- @tparam string op the command, for errors ("nslab --events")
-- @tparam string name the lab
-- @treturn {string,...}
-- @treturn table their identities, name -> {dev=, ino=} (see `alive`)
-- @raise EINVAL error object for a bad lab name; ENOENT when no lab of
-- that name is recorded (naming /run/nslab), or when none of its nodes
-- is left; EBADMSG when its record cannot be used
function M.nodes(op, name)
  local rec = M.load(op, name)
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
