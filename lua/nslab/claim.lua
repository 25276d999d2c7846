--- nslab.claim: the names a lab may take, checked before it makes
-- anything. A lab name is free when no lab of that name runs (in this
-- process or another) and no dead lab of that name left a namespace
-- behind; a node name is free when no node of the lab and nothing in
-- /run/netns has it. A refusal says who holds the name and, for a dead
-- lab's leftovers, the `nslab --clean` command that removes them.
-- @module nslab.claim

-- "nslab" first: it registers nslab.core.
local nslab = require "nslab"
local core = nslab.core
local Netns = require "nslab.netns"
local record = require "nslab.record"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local function q(s) return string.format("%q", s) end

local raise = require("nslab.opts").raise

--- Refuses a lab name that is taken; removes the record of a dead lab of
-- that name when nothing it made is left.
-- @tparam string name a checked lab name
-- @raise EBADMSG error object (op "nslab.lab") when its record cannot be
-- used; EEXIST when a lab of that name runs or left namespaces behind
function M.lab(name)
  local old, bad = record.load(name)
  if bad then raise("nslab.lab", q(name), E.EBADMSG, record.unreadable_text(name, bad)) end
  if not old then return end
  if record.alive(old.pid, old.start) then
    raise("nslab.lab", q(name), E.EEXIST, record.is_self(old.pid)
      and string.format("lab %q is already running in this process (close it first)", name)
      or string.format("lab %q is already running (pid %d)", name, old.pid))
  end
  -- Only what is still the namespace it made: a name made again since
  -- is someone else's (it shows up when used, in lab:host).
  local c, left = record.contents(old), {}
  for _, n in ipairs(c.netns) do
    if record.same_id(record.netns_id(n), c.ids[n]) then left[#left + 1] = n end
  end
  if #left > 0 then
    raise("nslab.lab", q(name), E.EEXIST, string.format(
      "lab %q left %d netns behind (%s) when pid %d died: remove them with `%s`",
      name, #left, table.concat(left, ", "), old.pid, record.clean_command(name)))
  end
  record.remove(name) -- stale: nothing of it is left
end

--- Refuses a node name taken in lab or in /run/netns, saying by whom.
-- @tparam string op the building call ("lab:host"), for the error
-- @tparam lab lab
-- @tparam string name a checked node name
-- @raise EEXIST error object naming the holder
function M.node(op, lab, name)
  if lab._by[name] then
    raise(op, q(name), E.EEXIST, string.format("lab %q already has a node %q", lab.name, name))
  end
  if not Netns.exists(name) then return end
  local rec = record.owner_of(name)
  local why
  if rec and record.alive(rec.pid, rec.start) then
    why = string.format("netns %q belongs to lab %q, running %s", name, rec.lab,
      record.is_self(rec.pid) and "in this process" or "as pid " .. rec.pid)
  elseif rec then
    why = string.format("netns %q is left over from lab %q (pid %d is gone): remove it with `%s`",
      name, rec.lab, rec.pid, record.clean_command(rec.lab))
  else
    why = string.format("netns %q exists and was not made by nslab: refusing to use or remove it", name)
  end
  raise(op, q(name), E.EEXIST, why)
end

return M
