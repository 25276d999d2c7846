--- nslab.cli_export: `nslab --export NAME > lab.lua`, the script that
-- builds a running or kept lab again (`lab:export`, see `nslab.declare`),
-- from another shell. The lab is reopened as a guest
-- (`require("nslab.lab").attach(NAME, {guest = true})`): it is only read,
-- never taken over or changed. The script is the one `lab:export()` writes
-- in the lab's own process: node options, sysctls and shaping come from
-- the lab's record (`nslab.attach`), routes, MACs, MTUs and addresses are
-- read back from the kernel (routes: those not made by the kernel itself).
-- @module nslab.cli_export
local live = require "nslab.live"
local opts_mod = require "nslab.opts"

local E = require("nslab").core.errno

local M = {}

local OP = "nslab --export"

--- The lab called name, reopened from another process by
-- `nslab.lab.attach` (a guest unless take), its routes read back.
-- @tparam string op for errors
-- @tparam string name
-- @tparam[opt] boolean take take over a kept lab (to change it)
-- @treturn lab
-- @raise ENOSYS error object when this nslab cannot reopen labs; as `attach`
function M.reopen(op, name, take)
  local Lab = require "nslab.lab"
  if type(Lab.attach) ~= "function" then
    opts_mod.raise(op, string.format("%q", name), E.ENOSYS,
      "this nslab cannot reopen a lab from another process (nslab.lab.attach is missing)")
  end
  local lab = Lab.attach(name, { op = op, guest = not take })
  live.adopt(lab)
  return lab
end

--- The one lab name of args, refusing anything else.
-- @tparam string op
-- @tparam {string,...} args
-- @tparam string usage the synopsis, for errors
-- @tparam[opt] table flags option -> true for the options allowed
-- @treturn string name
-- @treturn {string,...} the words after the name
-- @treturn table options seen
function M.args(op, args, usage, flags)
  local words, seen = {}, {}
  for _, a in ipairs(args) do
    if a:sub(1, 2) == "--" and (flags or {})[a] then
      seen[a] = true
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      opts_mod.raise(op, string.format("%q", a), E.EINVAL, string.format("unknown option %q (%s)", a, usage))
    else
      words[#words + 1] = a
    end
  end
  if not words[1] then opts_mod.raise(op, nil, E.EINVAL, "which lab? " .. usage) end
  return table.remove(words, 1), words, seen
end

--- `nslab --export NAME`: prints the script.
-- @tparam {string,...} args the words after `--export`
-- @treturn integer exit status 0
-- @raise EINVAL for bad arguments; as `nslab.lab.attach` (ENOENT: no such lab)
function M.main(args)
  local name, rest = M.args(OP, args, "nslab --export NAME > lab.lua")
  if #rest > 0 then opts_mod.raise(OP, string.format("%q", rest[1]), E.EINVAL, "one lab name only") end
  local lab = M.reopen(OP, name)
  local ok, text = pcall(lab.export, lab)
  pcall(lab.close, lab)
  if not ok then error(text, 0) end
  io.stdout:write(text)
  return 0
end

return M
