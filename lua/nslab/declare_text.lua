--- nslab.declare_text: a lab's declared form (see `nslab.declare`) written
-- out as Lua text: a constructor on one line (`lua_text`, also a way to
-- compare two specs), a spec one node and one link a line (`text`), and
-- the script `lab:export()` returns (`export`). The text is data a user
-- can read and edit; loading it back is Lua's own `load`.
-- @module nslab.declare_text

local M = {}

local function q(s) return string.format("%q", s) end

local function is_ident(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") and k ~= "end" and k ~= "and" end

-- Keys written first, in this order; the others sorted after them.
local FIRST = { name = 1, kind = 2, addrs = 3, mtu = 4, mac = 5, state = 6, a_to_b = 7, b_to_a = 8 }

-- v as a Lua constructor on one line, keys sorted.
local function lua_text(v)
  local t = type(v)
  if t == "string" then return q(v) end
  if t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.17g", v)
  end
  if t ~= "table" then return tostring(v) end
  local parts, n = {}, #v
  for i = 1, n do parts[#parts + 1] = lua_text(v[i]) end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    local ra, rb = FIRST[a] or 99, FIRST[b] or 99
    if ra ~= rb then return ra < rb end
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(keys) do
    local key = is_ident(k) and k or "[" .. lua_text(k) .. "]"
    parts[#parts + 1] = key .. " = " .. lua_text(v[k])
  end
  if #parts == 0 then return "{}" end
  return "{ " .. table.concat(parts, ", ") .. " }"
end
--- v as the text of a Lua constructor on one line, keys sorted (name,
-- kind, addrs, mtu, mac, state, a_to_b, b_to_a first): what `export`
-- writes, and a way to compare two specs.
-- @function lua_text
-- @param v a string, number, boolean or table of them
-- @treturn string
M.lua_text = lua_text

--- The spec as the text of a Lua table constructor, one node and one link
-- per line.
-- @tparam table spec
-- @treturn string
function M.text(spec)
  local out = { "{" }
  if spec.name then out[#out + 1] = "  name = " .. q(spec.name) .. "," end
  for _, part in ipairs { "nodes", "links" } do
    out[#out + 1] = "  " .. part .. " = {"
    for _, e in ipairs(spec[part] or {}) do out[#out + 1] = "    " .. lua_text(e) .. "," end
    out[#out + 1] = "  },"
  end
  out[#out + 1] = "}"
  return table.concat(out, "\n")
end

--- A Lua script that builds the lab as it is now: run by nslab
-- (`nslab --keep lab.lua`, `nslab -i lab.lua`) it makes a lab of the same
-- name with the same nodes, links (ifnames, addresses, MTU, MACs read from
-- the kernel, shaping, state), routes and sysctls (`from_spec`), and
-- returns it; called with the argument "--spec" (as `nslab --apply` does)
-- it only returns the spec.
-- @tparam lab lab
-- @tparam table spec its spec (`nslab.declare.spec`, with MACs)
-- @treturn string the script
function M.export(lab, spec)
  return table.concat({
    string.format("-- nslab lab %q, written by lab:export() (%d nodes, %d links).", lab.name, #spec.nodes,
      #spec.links),
    "-- Build it: nslab --keep THIS.lua (or nslab -i THIS.lua); reconcile a running lab to it:",
    "-- nslab --apply NAME THIS.lua. Its spec is plain data (see nslab.declare).",
    "local spec = " .. M.text(spec),
    'if ... == "--spec" then return spec end',
    'return require("nslab.declare").from_spec(spec)',
    "",
  }, "\n")
end

return M
