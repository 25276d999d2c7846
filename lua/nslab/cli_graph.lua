--- nslab.cli_graph: `nslab --graph NAME [--format dot|mermaid|svg]`, a
-- running or kept lab's topology from another shell: Graphviz DOT (the
-- default, `lab:dot()`), Mermaid (`lab:mermaid()`, for GitHub Markdown)
-- or SVG (`lab:svg()`, needs Graphviz's `dot`), on stdout.
-- @module nslab.cli_graph
local attach = require "nslab.attach"
local opts_mod = require "nslab.opts"

local E = require("nslab").core.errno

local M = {}

local OP = "nslab --graph"
local FORMATS = { dot = true, mermaid = true, svg = true }

--- `nslab --graph ARGS`.
-- @tparam {string,...} args the words after `--graph`
-- @treturn integer exit status 0
-- @raise EINVAL for a missing name, an unknown option or format; ENOENT
-- for a lab that is not recorded; ENOENT without Graphviz for svg
function M.main(args)
  local rest, format = {}, "dot"
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--format" or a:match("^%-%-format=") then
      format = a:match("^%-%-format=(.*)$") or args[i + 1]
      if a == "--format" then i = i + 1 end
      if not FORMATS[format or ""] then
        opts_mod.raise(OP, format and string.format("%q", format), E.EINVAL,
          "--format takes dot, mermaid or svg")
      end
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  local name = require("nslab.cli_inspect").args(OP, rest, {})
  if not name then opts_mod.raise(OP, nil, E.EINVAL, "which lab? nslab --graph NAME [--format dot|mermaid|svg]") end
  local lab = attach.attach(name, { guest = true, op = OP })
  local text = lab[format](lab)
  lab:close()
  io.stdout:write(text)
  return 0
end

return M
