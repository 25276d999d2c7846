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
  --- Runs fn(...) with SIGINT, SIGTERM and SIGHUP held back, and returns
  -- what it returns. The nslab host turns those signals into the error
  -- "interrupted (SIGINT)" at the next Lua instruction; while fn runs, a
  -- signal is only noted (and, given a notice, the host prints
  -- "nslab: NOTICE" to stderr at once, once per signal). When the
  -- outermost deferral ends, the noted signal is raised right there, as
  -- "interrupted (SIGxxx)", in place of fn's results or fn's own error.
  -- Nested calls count; the count is restored when fn raises. Labs use it
  -- so that a namespace and the entry that undoes it are made together,
  -- and so that a teardown finishes (notice "cleaning up, please wait").
  -- Keep fn short: Ctrl-C waits for it. fn cannot yield. Waits inside fn
  -- that a signal cuts short (`proc:wait`, `nslab.exec`) still end with
  -- EINTR, as outside. Also `nslab.core.defer_signals`.
  --
  -- Only the nslab host honours the deferral. Loaded into plain `lua5.4`,
  -- this runs fn and nothing is held back: lua.c's own SIGINT handler
  -- raises "interrupted!" wherever the script is (a second SIGINT kills
  -- lua at once), and SIGTERM and SIGHUP kill lua outright.
  -- @tparam[opt] string notice what to print when a signal is held back
  -- @tparam function fn
  -- @param ... arguments for fn
  -- @return what fn returns
  -- @raise fn's error; "interrupted (SIGxxx)" when a signal came meanwhile;
  -- an argument error when fn is not a function
  -- @usage nslab.defer_signals(function() make(x); undo[#undo + 1] = x end)
  defer_signals = core.defer_signals,
}

for _, name in ipairs { "netns", "link", "addr", "route", "sysctl", "tc" } do
  M[name] = require("nslab." .. name)
end

local exec = require "nslab.exec"
M.exec, M.sh, M.spawn = exec.exec, exec.sh, exec.spawn

-- Modules loaded on first use, so plain primitive scripts stay light.
local lazy = { lab = true, topo = true, node = true, nft = true, monitor = true }
return setmetatable(M, {
  __index = function(t, k)
    if lazy[k] then
      local mod = require("nslab." .. k)
      rawset(t, k, mod)
      return mod
    end
  end,
})
