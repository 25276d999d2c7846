--- nslab: Linux network namespaces, links, addresses, routes and commands
-- from Lua. `require "nslab"` returns this table; the C primitives live in
-- `nslab.core` and the Lua modules below wrap them.
--
-- Errors are raised, never returned: kernel refusals raise an error object
-- (see `nslab.is_error`) with fields `op`, `object`, `netns`, `errno`,
-- `code` ("EEXIST"), `msg` and `extack`, printing as one line:
-- `link.veth "veth-red" in netns "red": File exists (EEXIST)`.
-- @module nslab
local core = require "nslab.core"

local M = {
  _VERSION = "nslab 0.1.0",
  core = core,
  --- Makes a table an nslab error object (sets code/msg from errno).
  -- @tparam table t fields op, object, netns, errno, code, msg, extack
  -- @treturn table t, now printing as one line
  error = core.error,
  --- Whether v is an nslab error object.
  -- @param v any value
  -- @treturn boolean
  is_error = core.is_error,
  --- errno names to numbers, from the C library (`nslab.errno.EEXIST`),
  -- so scripts compare `e.errno` or `e.code` without numbers of their own.
  errno = core.errno,
}

for _, name in ipairs { "netns", "link", "addr", "route", "sysctl" } do
  M[name] = require("nslab." .. name)
end

local exec = require "nslab.exec"
M.exec, M.sh, M.spawn = exec.exec, exec.sh, exec.spawn

-- Modules loaded on first use, so plain primitive scripts stay light.
local lazy = { lab = true, topo = true, node = true }
return setmetatable(M, {
  __index = function(t, k)
    if lazy[k] then
      local mod = require("nslab." .. k)
      rawset(t, k, mod)
      return mod
    end
  end,
})
