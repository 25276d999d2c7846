--- nslab.cli_apply: `nslab --apply NAME lab.lua [--dry-run]`, a kept lab
-- brought to the spec a script returns (`lab:apply`, see
-- `nslab.declare`), from another shell: the plan is printed first;
-- `--dry-run` prints only the plan. The script is run with the argument
-- "--spec" (a script from `lab:export` then returns its spec instead of
-- building a lab); plain data (`return {nodes = ..., links = ...}`) works
-- as well.
--
-- The lab is reopened with `nslab.lab.attach`: a kept lab (or one whose
-- process died) is taken over for the apply and left kept again; a lab
-- whose process still runs is only planned against (`--dry-run`), as its
-- process holds it.
-- @module nslab.cli_apply
local export = require "nslab.cli_export"
local opts_mod = require "nslab.opts"

local E = require("nslab").core.errno

local M = {}

local OP = "nslab --apply"
local USAGE = "nslab --apply NAME lab.lua [--dry-run]"

--- The spec the script at path returns (run with the argument "--spec").
-- @tparam string path
-- @treturn table
-- @raise the open's error object (ENOENT, EACCES) for a script that
-- cannot be read; EINVAL when it cannot be loaded or returns no table;
-- the script's own error's errno (EINVAL for a plain error) when it raises
function M.load_spec(path)
  local f, _, code = io.open(path, "r")
  if not f then opts_mod.raise(OP, string.format("%q", path), code or E.ENOENT, "cannot open the script") end
  f:close()
  local chunk, why = loadfile(path)
  if not chunk then opts_mod.raise(OP, string.format("%q", path), E.EINVAL, tostring(why)) end
  local ok, spec = pcall(chunk, "--spec")
  if not ok then
    -- its own error's errno, said once (not "... (EEXIST) (EINVAL)")
    local errno, text = E.EINVAL, tostring(spec)
    if type(spec) == "table" and spec.errno and spec.code then
      errno, text = spec.errno, (text:gsub(" %(" .. spec.code .. "%)$", ""))
    end
    opts_mod.raise(OP, string.format("%q", path), errno, "the script failed (a lab script must build nothing " ..
      "when its first argument is --spec, as lab:export's do): " .. text)
  end
  if type(spec) ~= "table" or getmetatable(spec) ~= nil then
    opts_mod.raise(OP, string.format("%q", path), E.EINVAL, string.format(
      "the script returned %s, not a spec table ({nodes = ..., links = ...})", tostring(spec)))
  end
  return spec
end

--- `nslab --apply NAME FILE [--dry-run]`.
-- @tparam {string,...} args the words after `--apply`
-- @treturn integer exit status 0
-- @raise EINVAL for bad arguments or a bad spec; EBUSY for applying to a
-- lab whose process runs; as `lab:apply` (the lab is as before)
function M.main(args)
  local name, rest, seen = export.args(OP, args, USAGE, { ["--dry-run"] = true })
  if #rest ~= 1 then opts_mod.raise(OP, nil, E.EINVAL, "one script: " .. USAGE) end
  -- checked whole before the lab is reopened: a bad spec is named as
  -- this command's (`nslab --apply links[3]: ...`)
  local spec = M.load_spec(rest[1])
  require("nslab.declare").check(spec, OP) -- (a copy: diff and apply each check their own)
  local dry = seen["--dry-run"] == true
  local lab = export.reopen(OP, name, not dry)
  local ok, e = pcall(function()
    if lab._guest and not dry then
      opts_mod.raise(OP, string.format("%q", name), E.EBUSY, string.format(
        "lab %q runs in its own process: apply it there (lab:apply), or plan with --dry-run", name))
    end
    local plan = lab:diff(spec)
    if not dry and #plan.changes > 0 then lab:apply(spec) end
  end)
  if not lab._guest then
    lab:keep()
    lab._keep_quiet = true -- (kept before, kept again: no notice)
  end
  lab._keep_at_exit = not lab._guest or nil
  pcall(lab.close, lab)
  if not ok then error(e, 0) end
  return 0
end

return M
