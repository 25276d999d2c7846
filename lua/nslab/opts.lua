--- nslab.opts: checking the option tables of the Lua library's functions,
-- as the C primitives do: an unknown field is an error naming it, so a typo
-- (`adrs = ...`) never passes silently.
-- @module nslab.opts
local M = {}

--- A set from a list of field names.
-- @tparam string ... field names
-- @treturn table set (name -> true)
function M.set(...)
  local s = {}
  for _, k in ipairs { ... } do s[k] = true end
  return s
end

--- Checks an option table: nil gives {}, a non-table or an unknown field
-- raises an argument error naming op and the field.
-- @tparam string op function name for the message ("lab:host")
-- @tparam table|nil opts the caller's options
-- @tparam table allowed set of allowed field names (from `set`)
-- @tparam[opt=3] integer level error level (the caller's caller by default)
-- @treturn table opts, or a new empty table
-- @raise "bad argument to 'op' (unknown field 'x')"
function M.check(op, opts, allowed, level)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(string.format("bad argument to '%s' (options must be a table, got %s)", op, type(opts)), level or 3)
  end
  for k in pairs(opts) do
    if not allowed[k] then
      error(string.format("bad argument to '%s' (unknown field '%s')", op, tostring(k)), level or 3)
    end
  end
  return opts
end

return M
