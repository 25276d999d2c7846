--- nslab.cli_inspect: `nslab --inspect [NAME] [--json]`, a look at labs
-- from another shell (as `containerlab inspect`).
--
-- Without NAME: every recorded lab, one row each: name, pid of its
-- process, status (`alive`: its process runs; `kept`: left running by
-- `--keep`; `dead`: its process died, `nslab --clean` removes it), nodes
-- and links (from its record). With `--json`: an array of
-- {name, pid, status, nodes, links} (integers), `[]` when there is none.
--
-- With NAME: that lab as `lab:show()` prints it, read from the kernel;
-- with `--json` its `lab:state()` (see `nslab.state`) as one line of
-- JSON. Nothing is changed: the lab stays its process's (or kept).
-- @module nslab.cli_inspect
local attach = require "nslab.attach"
local opts_mod = require "nslab.opts"
local record = require "nslab.record"
local json = require "nslab.json"

local E = require("nslab").core.errno

local M = {}

local OP = "nslab --inspect"

--- Reads `[NAME] [--json]` (in any order).
-- @tparam {string,...} args
-- @treturn ?string name
-- @treturn boolean json
-- @raise EINVAL error object for an unknown option or a second name
function M.args(op, args, flags)
  local name, seen = nil, {}
  for _, a in ipairs(args) do
    if a:sub(1, 2) == "--" and flags[a] ~= nil then
      seen[a] = true
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      opts_mod.raise(op, string.format("%q", a), E.EINVAL, string.format("unknown option %q", a))
    elseif name then
      opts_mod.raise(op, string.format("%q", a), E.EINVAL, string.format("one lab name at most (got %q and %q)",
        name, a))
    else
      name = a
    end
  end
  return name, seen
end

-- Nodes and links a record covers (those removed since left out).
local function counts(rec)
  local _, veths = attach.described(rec)
  local netns, links = {}, 0
  for _, n in ipairs(record.contents(rec).netns) do netns[n] = true end
  for _, v in ipairs(veths) do
    if netns[v[1]] and netns[v[3]] then links = links + 1 end
  end
  return #record.contents(rec).netns, links
end

--- `nslab --inspect ARGS`.
-- @tparam {string,...} args the words after `--inspect`
-- @treturn integer exit status 0
-- @raise EINVAL for bad arguments; ENOENT for a lab that is not recorded
-- (naming those that are); EBADMSG for a record that cannot be used
function M.main(args)
  local name, flags = M.args(OP, args, { ["--json"] = true })
  if name then
    local lab = attach.attach(name, { guest = true, op = OP })
    if flags["--json"] then
      io.stdout:write(lab:json(), "\n")
    else
      io.stdout:write(string.format("lab %s: pid %d, %s\n", name, lab._rec.pid, lab._status), lab:show { quiet = true })
    end
    lab:close()
    return 0
  end
  local rows, list = {}, {}
  for _, l in ipairs(attach.list()) do
    local nodes, links = 0, 0
    if l.rec then nodes, links = counts(l.rec) end
    list[#list + 1] = { name = l.name, pid = l.pid, status = l.status, nodes = nodes, links = links }
    rows[#rows + 1] = { l.name, l.pid and tostring(l.pid) or "", l.status, tostring(nodes), tostring(links) }
  end
  if flags["--json"] then
    io.stdout:write(json.encode_arrays({ labs = list }, { labs = true }, OP):match("^{\"labs\":(.*)}$"), "\n")
  elseif #rows == 0 then
    io.stdout:write("no lab is recorded in ", record.dir, "\n")
  else
    io.stdout:write(require("nslab.view").table({ "Lab", "Pid", "Status", "Nodes", "Links" }, rows))
  end
  return 0
end

return M
