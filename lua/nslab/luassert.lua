--- nslab.luassert: the `nslab.expect` checks as luassert assertions, for
-- busted suites run under nslab (`nslab /usr/bin/busted spec/`):
--
--     require "nslab.luassert"
--     assert.reachable(red, blue)
--     assert.unreachable(red, "10.9.9.9", {timeout = 0.5})
--     assert.route_via(red, blue, router)
--     assert.mtu_path(red, blue, 1400)
--     assert.port_open(red, blue, 80)
--     assert.is_not.reachable(red, blue)   -- negated: blue must not answer
--
-- A failing assertion fails the test with the check's own message
-- (`expected blue reachable from red over IPv4 within 3 s; 0 of 6 probes
-- answered; red has no route to 10.0.2.2`). Needs luassert (Debian
-- lua-busted); loading it twice is harmless.
-- @module nslab.luassert
local assert = require "luassert"
local say = require "say"
local expect = require "nslab.expect"

local M = {}

local NAMES = { "reachable", "unreachable", "route_via", "mtu_path", "port_open" }

local function assertion(name)
  return function(state, arguments)
    local r = table.pack(pcall(expect[name], table.unpack(arguments, 1, arguments.n)))
    if r[1] then
      state.failure_message = string.format("expected %s to fail, but it held", name)
      return true
    end
    if not expect.is_failure(r[2]) then error(r[2], 0) end -- misuse, interrupt
    state.failure_message = tostring(r[2])
    return false
  end
end

for _, name in ipairs(NAMES) do
  say:set("assertion." .. name .. ".positive", "Expected " .. name .. " to hold")
  say:set("assertion." .. name .. ".negative", "Expected " .. name .. " not to hold")
  assert:register("assertion", name, assertion(name), "assertion." .. name .. ".positive",
    "assertion." .. name .. ".negative")
end

--- The assertion names registered.
M.names = NAMES

return M
