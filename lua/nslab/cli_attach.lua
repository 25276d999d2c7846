--- nslab.cli_attach: `nslab --attach NAME`, a REPL on a running or kept
-- lab (`nslab.attach`): `lab` is the lab, each node a global (when its
-- name is a Lua name), node commands (`red ping -c1 blue`) and the REPL's
-- verbs work. A kept lab is taken over: `lab:close()` removes it,
-- `lab:keep()` leaves it running again when the REPL ends; leaving
-- without either keeps it as it was found (kept). A lab whose process
-- still runs stays that process's: this REPL is its guest (`nslab.guest`:
-- what it adds is recorded in the lab and stays; what the owner made it
-- cannot remove).
-- @module nslab.cli_attach
local attach = require "nslab.attach"
local opts_mod = require "nslab.opts"

local E = require("nslab").core.errno

local M = {}

local OP = "nslab --attach"

--- `nslab --attach NAME`.
-- @tparam {string,...} args the words after `--attach`
-- @treturn string "interactive": the REPL runs with the globals set
-- @raise EINVAL for a missing name or an unknown option; ENOENT for a lab
-- that is not recorded; EBADMSG for a record that cannot be used
function M.main(args)
  local name = require("nslab.cli_inspect").args(OP, args, {})
  if not name then opts_mod.raise(OP, nil, E.EINVAL, "which lab? nslab --attach NAME") end
  local found = attach.load(OP, name)
  local was = require("nslab.state").status(found)
  local lab = attach.attach(name, { op = OP })
  -- Leaving the REPL without lab:close() leaves a kept lab kept.
  if was ~= "alive" then lab._keep_at_exit = true end
  rawset(_G, "lab", lab)
  require("nslab.repl").globals { lab }
  io.stdout:write(string.format("attached to lab %s (%s, was %s%s): `lab` and its nodes are globals; " ..
    "lab:close() removes it%s\n", name, tostring(lab):match("%((.-)%)"), was,
    was == "alive" and string.format(", pid %d", found.pid) or "",
    was == "alive" and " from this REPL's view only (its process owns it; what you add stays in it)"
      or ", leaving keeps it"))
  return "interactive"
end

return M
