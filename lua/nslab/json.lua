--- nslab.json: the one JSON codec of the library, lua-cjson (Debian
-- `lua-cjson`), for what tools print (`nft -j`, `iperf3 -J`, `vtysh ...
-- json`) and what nslab prints (lab state). An instance of its own
-- (`cjson.new()`), so settings never touch a script's `require "cjson"`.
-- Decoded numbers that are whole become Lua integers (cjson reads every
-- number as a float); JSON null is `json.null`.
-- @module nslab.json
local nslab = require "nslab"
local core = nslab.core

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local have, cjson = pcall(require, "cjson")
local codec = have and cjson.new() or nil
if codec then codec.encode_sparse_array(true) end

--- JSON's null (a light userdata; `nil` when lua-cjson is missing).
M.null = have and cjson.null or nil

--- Whether lua-cjson is installed.
-- @treturn boolean
function M.available() return codec ~= nil end

local function need(op, object)
  if codec then return codec end
  error(core.error { op = op or "json", object = object, errno = E.ENOENT,
    extack = "the JSON library lua-cjson is missing: apt-get install lua-cjson" }, 0)
end

-- Whole floats become integers (handles, ports, byte counts), in place.
local function integers(v)
  if type(v) ~= "table" then return math.type(v) == "float" and math.tointeger(v) or v end
  for k, x in pairs(v) do v[k] = integers(x) end
  return v
end

--- Decodes JSON text.
-- @tparam string text
-- @tparam[opt="json.decode"] string op the operation, for errors
-- @tparam[opt] string object what the text is (`"nft -j output"`), for errors
-- @return the value: tables, strings, numbers (integers where whole),
--   booleans, `json.null`
-- @raise ENOENT error object without lua-cjson; EINVAL error object
--   naming op and object when the text is not JSON
function M.decode(text, op, object)
  local j = need(op, object)
  local ok, v = pcall(j.decode, text)
  if not ok then
    error(core.error { op = op or "json.decode", object = object, errno = E.EINVAL,
      extack = "not JSON: " .. tostring(v):gsub("^.-: ", "") }, 0)
  end
  return integers(v)
end

--- Encodes a value as one line of JSON (a table with only keys 1..n is an
-- array; an empty table is `{}`).
-- @param v a table, string, number, boolean or `json.null`
-- @tparam[opt="json.encode"] string op the operation, for errors
-- @treturn string
-- @raise ENOENT error object without lua-cjson; EINVAL error object for
--   what JSON cannot hold (a function, a cycle, a mixed table)
function M.encode(v, op)
  local j = need(op)
  local ok, text = pcall(j.encode, v)
  if not ok then
    error(core.error { op = op or "json.encode", errno = E.EINVAL,
      extack = "cannot be encoded as JSON: " .. tostring(text):gsub("^.-: ", "") }, 0)
  end
  return text
end

--- A value that encodes as `[]` (cjson writes every empty table as `{}`):
-- put it where a list is empty. A string no kernel name or lab name holds
-- (it has NUL bytes); `decode` never returns it.
M.EMPTY_ARRAY = "\0nslab:empty-array\0"
local EMPTY_JSON = '"\\u0000nslab:empty-array\\u0000"'

-- Puts EMPTY_ARRAY in place of each empty table under one of keys, in
-- place (no copy of a large table); returns what to put back.
local function mark_arrays(v, keys, undo)
  for k, x in pairs(v) do
    if type(x) == "table" then
      if keys[k] and next(x) == nil then
        v[k] = M.EMPTY_ARRAY
        undo[#undo + 1] = { v, k, x }
      else
        mark_arrays(x, keys, undo)
      end
    end
  end
  return undo
end

--- Encodes v as `encode` does, with `EMPTY_ARRAY` written as `[]`, and
-- also an empty table held under one of keys (a set: `{nodes = true}`),
-- so a list stays a JSON array when it has no elements. v is left as it was.
-- @param v
-- @tparam[opt] table keys set of key names whose values are arrays
-- @tparam[opt="json.encode"] string op
-- @treturn string
-- @raise as `encode`
function M.encode_arrays(v, keys, op)
  local undo = type(v) == "table" and keys and mark_arrays(v, keys, {}) or {}
  local ok, text = pcall(M.encode, v, op)
  for _, u in ipairs(undo) do u[1][u[2]] = u[3] end
  if not ok then error(text, 0) end
  -- plain finds: a pattern gsub over megabytes costs more than cjson
  local parts, i = {}, 1
  while true do
    local a, b = text:find(EMPTY_JSON, i, true)
    if not a then break end
    parts[#parts + 1] = text:sub(i, a - 1)
    parts[#parts + 1] = "[]"
    i = b + 1
  end
  if i == 1 then return text end
  parts[#parts + 1] = text:sub(i)
  return table.concat(parts)
end

return M
