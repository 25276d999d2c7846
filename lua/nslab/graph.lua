--- nslab.graph: a lab as a picture: `lab:mermaid()` (Mermaid flowchart
-- text, which GitHub renders inside a ```` ```mermaid ```` block) and
-- `lab:svg()` (the `lab:dot()` text drawn by Graphviz's `dot -Tsvg`,
-- Debian package `graphviz`). Hosts are boxes, routers diamonds, bridges
-- circles, as in `lab:dot()`; node labels carry the addresses the lab
-- gave (IPv6 in RFC 5952 form), edges the interface names.
-- @module nslab.graph
local nslab = require "nslab"
local Exec = require "nslab.exec"
local view = require "nslab.view"

local E = nslab.core.errno

local M = {}

-- Mermaid text: its own entities for what would end a label.
local function mtext(s)
  return (tostring(s):gsub('["|<>#]', function(c) return "#" .. c:byte() .. ";" end))
end

local OPEN = { host = '["', router = '{"', bridge = '(("' }
local CLOSE = { host = '"]', router = '"}', bridge = '"))' }

--- The lab as a Mermaid flowchart (`graph LR`): one node per lab node
-- (ids n1, n2, ... in node order; the label its name and addresses), one
-- edge per link labelled `ifname -- ifname`.
-- @tparam lab lab
-- @treturn string lines ending in "\n"
function M.mermaid(lab)
  local out, id = { "graph LR" }, {}
  for i, node in ipairs(lab.nodes) do
    id[node] = "n" .. i
    local label = { mtext(node.name) }
    for _, a in ipairs(node._addrs) do label[#label + 1] = mtext(a.address .. "/" .. a.prefixlen) end
    out[#out + 1] = string.format("  %s%s%s%s", id[node], OPEN[node.kind] or OPEN.host, table.concat(label, "<br/>"),
      CLOSE[node.kind] or CLOSE.host)
  end
  for _, l in ipairs(lab._links) do
    out[#out + 1] = string.format('  %s ---|"%s -- %s"| %s', id[l.a], mtext(l.ifnames[1]), mtext(l.ifnames[2]), id[l.b])
  end
  return table.concat(out, "\n") .. "\n"
end

--- The `lab:dot()` text drawn as SVG by Graphviz (`dot -Tsvg`).
-- @tparam lab lab
-- @treturn string the SVG document
-- @raise ENOENT error object when `dot` is missing (naming the Debian
-- package graphviz); EIO error object with dot's message when it fails
function M.svg(lab)
  local ok, r = pcall(Exec.exec, nil, { "dot", "-Tsvg" }, { stdin = view.dot(lab), timeout = 30 })
  if not ok then
    if type(r) == "table" and r.code == "ENOENT" then
      error(nslab.core.error { op = "lab:svg", object = string.format("%q", lab.name), errno = E.ENOENT,
        extack = "Graphviz's dot is missing: apt-get install graphviz" }, 0)
    end
    error(r, 0)
  end
  if not r.ok then
    error(nslab.core.error { op = "lab:svg", object = string.format("%q", lab.name), errno = E.EIO,
      extack = "dot -Tsvg failed: " .. (r.stderr or ""):gsub("%s+$", "") }, 0)
  end
  return r.stdout
end

local Lab = {}

--- `lab:mermaid()`: the topology as Mermaid flowchart text (see `nslab.graph`).
-- @treturn string
-- @usage io.write("```mermaid\n", lab:mermaid(), "```\n")
function Lab.mermaid(self) return M.mermaid(self) end

--- `lab:svg()`: the topology drawn by Graphviz (`dot -Tsvg`).
-- @treturn string SVG
-- @raise ENOENT error object without Graphviz (`apt-get install graphviz`)
-- @usage io.open("lab.svg", "w"):write(lab:svg())
function Lab.svg(self) return M.svg(self) end

--- Adds `mermaid` and `svg` to the lab class.
-- @tparam table class the lab class
function M.install(class)
  for k, f in pairs(Lab) do class[k] = f end
end

return M
