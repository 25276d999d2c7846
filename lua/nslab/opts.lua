--- nslab.opts: the option readers of the Lua library, with the rule of
-- the C ones (src/core/opt.c): a wrong type or an unknown field is an
-- argument error naming the function and the field
-- (`bad argument #2 to 'lab:host' (field 'sysctls' must be a table, not string)`),
-- so a typo (`adrs = ...`) never passes silently; a well-typed but invalid
-- value is an EINVAL error object naming the object and what is allowed
-- (`lab:link "a": mtu 9 is out of range (68..65535)`).
-- @module nslab.opts

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

--- A field table from a list of names, each of any type.
-- @tparam string ... field names
-- @treturn table fields (name -> "any")
function M.set(...)
  local s = {}
  for _, k in ipairs { ... } do s[k] = "any" end
  return s
end

local ARTICLE = { integer = "an", any = "any" }

-- Whether v has the type named by want: "boolean", "number", "integer",
-- "string", "table", "function", "any", or alternatives "string|table".
local function has_type(v, want)
  for w in want:gmatch("[^|]+") do
    if w == "any" or type(v) == w or (w == "integer" and math.type(v) == "integer") then return true end
  end
  return false
end

local function what(want)
  local words = {}
  for w in want:gmatch("[^|]+") do words[#words + 1] = (ARTICLE[w] or "a") .. " " .. w end
  return table.concat(words, " or ")
end

-- Whether stack frame info is the embedded library's (chunks named
-- "@[nslab]/...", src/linit.c).
local function library(info) return info and info.what ~= "C" and info.source:sub(1, 8) == "@[nslab]" end

--- The level (as for `error` called by the caller of `blame`) of the
-- user's code that called into nslab: the first frame, going outwards,
-- that is not the embedded library (a C function the library called,
-- such as its own pcall, counts as the library). The library's own call
-- depth (wrappers such as `nslab.attach`'s, tail calls, checks run under
-- pcall) then never shifts the position. Called through the user's own
-- `pcall(lab.host, lab, 42)`, that pcall is blamed: no position, as for
-- the C primitives.
-- @tparam[opt=2] integer level returned when the stack holds no such
-- frame
-- @treturn integer
function M.blame(level)
  local i = 2 -- 1: blame, 2: its caller (in the library)
  while true do
    local info = debug.getinfo(i + 1, "S")
    if not info then return level or 2 end
    if not (library(info) or (info.what == "C" and library(debug.getinfo(i + 2, "S")))) then return i end
    i = i + 1
  end
end

--- Raises the argument error of argument argn of op at the user's line:
-- the first caller outside nslab's library (`blame`), whatever the
-- depth of the library's own frames.
-- @tparam string op function name ("lab:link")
-- @tparam integer argn argument number, as the user counts it (self not counted)
-- @tparam string msg what is wrong ("field 'mtu' must be an integer, not string")
-- @tparam[opt=2] integer level used only when no caller is outside the
-- library (as for `error`, seen from the caller of argerror)
function M.argerror(op, argn, msg, level)
  error(string.format("bad argument #%d to '%s' (%s)", argn, op, msg), M.blame((level or 2) + 1))
end

--- Checks an option table: nil gives {}; a non-table, an unknown field or
-- a field of the wrong type raises an argument error naming op, the
-- argument and the field.
-- @tparam string op function name for the message ("lab:host")
-- @tparam integer argn the argument number of opts (self not counted)
-- @tparam table|nil opts the caller's options
-- @tparam table fields name -> type ("boolean", "integer", "number",
-- "string", "table", "function", "any", or "string|table"); `set` makes one
-- @tparam[opt=3] integer level error level (the caller's caller by default)
-- @tparam[opt] string where put before the message ("event 2")
-- @treturn table opts, or a new empty table
-- @raise "bad argument #2 to 'lab:host' (unknown field 'x')"
function M.check(op, argn, opts, fields, level, where)
  level = level or 3
  where = where and where .. ": " or ""
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    M.argerror(op, argn, where .. "table expected, got " .. type(opts), level)
  end
  for k, v in pairs(opts) do
    local want = fields[k]
    if want == nil then
      M.argerror(op, argn, string.format("%sunknown field '%s'", where, tostring(k)), level)
    elseif not has_type(v, want) then
      M.argerror(op, argn, string.format("%sfield '%s' must be %s, not %s", where, k, what(want),
        math.type(v) == "float" and "a float" or type(v)), level)
    end
  end
  return opts
end

--- Raises the EINVAL error object of a well-typed but invalid value.
-- @tparam string op the operation ("lab:link")
-- @tparam ?string object what it is about (a quoted name), or nil
-- @tparam string why what is wrong and what is allowed
-- @raise always
function M.invalid(op, object, why) M.raise(op, object, E.EINVAL, why) end

--- Raises an nslab error object (what the C primitives raise) from Lua.
-- @tparam string op the operation ("lab:host")
-- @tparam ?string object what it is about (a quoted name), or nil
-- @tparam integer errno an errno number (`nslab.errno.EEXIST`)
-- @tparam string why the reason, as the kernel's extack would be
-- @raise always
function M.raise(op, object, errno, why)
  error(core.error { op = op, object = object, errno = errno, extack = why }, 0)
end

--- Whether program is found in PATH (nslab's, which its commands in
-- nodes inherit), as execvp(3) would look it up.
-- @tparam string program
-- @treturn boolean
function M.found(program)
  if program:find("/", 1, true) then
    local f = io.open(program)
    if f then f:close() end
    return f ~= nil
  end
  for dir in (os.getenv("PATH") or "/usr/local/bin:/usr/bin:/bin"):gmatch("[^:]+") do
    local f = io.open(dir .. "/" .. program)
    if f then
      f:close()
      return true
    end
  end
  return false
end

--- Raises ENOENT naming the Debian package when program is missing
-- (checked before anything is made, so the user reads what to install,
-- not a failed start).
-- @tparam string op the operation ("node:iperf")
-- @tparam ?string object what it is about (a quoted name), or nil
-- @tparam string program looked up in PATH ("iperf3")
-- @tparam string package the Debian package and how ("iperf3 (make deps)")
-- @raise ENOENT error object: "iperf3 is missing: install the Debian
-- package iperf3 (make deps)"
function M.need(op, object, program, package)
  if not M.found(program) then
    M.raise(op, object, E.ENOENT, string.format("%s is missing: install the Debian package %s", program, package))
  end
end

--- Checks that a number lies in lo..hi (hi nil: no upper bound).
-- @tparam string op
-- @tparam ?string object
-- @tparam string field the value's name, for the message
-- @tparam number v
-- @tparam number lo
-- @tparam[opt] number hi
-- @treturn number v
-- @raise EINVAL error object: "count 0 is out of range (1..)"; "at nan is
-- not a finite number" (NaN and infinities are never in range)
function M.range(op, object, field, v, lo, hi)
  if v ~= v or v == math.huge or v == -math.huge then
    M.invalid(op, object, string.format("%s %s is not a finite number", field, v ~= v and "NaN" or tostring(v)))
  end
  if v < lo or (hi and v > hi) then
    M.invalid(op, object, string.format("%s %s is out of range (%s..%s)", field, tostring(v), tostring(lo),
      hi and tostring(hi) or ""))
  end
  return v
end

--- Checks that a string is one of names.
-- @tparam string op
-- @tparam ?string object
-- @tparam string field the value's name, for the message
-- @tparam string v
-- @tparam {string,...} names the words allowed
-- @treturn string v
-- @raise EINVAL error object: `unknown family "ipx" (one of inet, inet6)`
function M.choice(op, object, field, v, names)
  for _, n in ipairs(names) do
    if v == n then return v end
  end
  M.invalid(op, object, string.format("unknown %s %q (one of %s)", field, v, table.concat(names, ", ")))
end

return M
