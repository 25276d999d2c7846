--- scripts/evidence.lua: how the example labs print their steps and the
-- evidence for each claim. Loaded by the scripts beside it with
-- `require "evidence"` (each script adds its own directory to
-- package.path first, as any lab can for its own libraries).
local M = { steps = 0, checks = 0 }

--- Prints a numbered step title.
-- @tparam string title
function M.step(title)
  M.steps = M.steps + 1
  local b, e = "", ""
  if M.color then b, e = "\27[1m", "\27[0m" end
  io.write(string.format("\n%s%d. %s%s\n", b, M.steps, title, e))
end

--- Prints a sentence of explanation under the current step.
function M.say(fmt, ...) print("   " .. string.format(fmt, ...)) end

--- Runs argv in node and prints it as `node$ cmd` and its indented output.
-- @tparam node node
-- @tparam table argv
-- @treturn table the exec result
function M.run(node, argv)
  local r = node:run(argv)
  print(string.format("   %s$ %s", node.name, table.concat(argv, " ")))
  for l in (r.stdout .. r.stderr):gmatch("[^\n]+") do print("     " .. l) end
  return r
end

--- Checks a claim: prints "ok  what" or raises "FAILED what: detail".
-- @tparam boolean cond
-- @tparam string what the claim
-- @tparam[opt] string detail printed after the claim
function M.check(cond, what, detail)
  M.checks = M.checks + 1
  local note = detail and ("  (" .. detail .. ")") or ""
  local expect = require "nslab.expect"
  if expect._collector then -- nslab --test: the runner prints PASS/FAIL
    return expect.check(what .. note, function()
      if not cond then error("FAILED: " .. what .. note, 0) end
    end)
  end
  if not cond then error("FAILED: " .. what .. note, 0) end
  print("   ok  " .. what .. note)
end

--- Checks a claim with an `nslab.expect` check (a function raising on
-- failure): prints "ok  what" or raises "FAILED what: the check's
-- message"; under `nslab --test` the runner prints PASS/FAIL instead.
-- @tparam string what the claim
-- @tparam function fn the check, e.g. `lab.reachable`
-- @param ... its arguments
-- @return the check's results
function M.expect(what, fn, ...)
  M.checks = M.checks + 1
  local expect = require "nslab.expect"
  if expect._collector then return expect.check(what, fn, ...) end
  local r = table.pack(pcall(fn, ...))
  if not r[1] then error("FAILED: " .. what .. ": " .. tostring(r[2]), 0) end
  print("   ok  " .. what)
  return table.unpack(r, 2, r.n)
end

--- Prints a skipped check and why.
function M.skip(what, why) print("   --  skipped: " .. what .. " (" .. why .. ")") end

--- Round-trip time in milliseconds, for printing.
function M.ms(seconds) return type(seconds) == "number" and string.format("rtt %.3f ms", seconds * 1000) or "no rtt" end

M.color = require("nslab").core.isatty(1)

return M
