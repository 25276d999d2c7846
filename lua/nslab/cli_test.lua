--- nslab.cli_test: the lab command that runs a lab script as a test,
-- `nslab --test SCRIPT [ARGS...]`. Every check the script makes (`nslab.expect`, lab methods such as
-- `lab:reachable`, and the example scripts' `evidence.check`) prints one
-- line, `PASS  what held (0.01 s)` or `FAIL  expected ...; seen ...`, and a
-- failing check does not stop the script. The last line is
-- `N passed, N failed`; the exit status is 0 only when nothing failed
-- (an error that stops the script counts as a failure), as Mininet's
-- `mn --test` and netlab's `validate` report. Interrupted (Ctrl-C,
-- SIGTERM, SIGHUP), it prints what ran (`N passed, N failed; interrupted
-- (SIGINT): ...`) and ends by the signal (status 130 for SIGINT).
-- @module nslab.cli_test
local expect = require "nslab.expect"
local opts_mod = require "nslab.opts"

local M = {}

-- The shell's status for a death by these signals (128 + number).
local SIGNAL_STATUS = { SIGINT = 130, SIGHUP = 129, SIGTERM = 143 }

--- Runs the script.
-- @tparam {string,...} args the script's path, then its arguments
-- @treturn integer exit status: 0 when every check passed, 1 otherwise,
-- 128 + the signal's number when interrupted
-- @raise EINVAL error object without a script
function M.main(args)
  local path = args[1]
  if not path then
    opts_mod.invalid("nslab --test", nil, "a lab script is needed: nslab --test SCRIPT [ARGS...]")
  end
  local passed, failed, signal = 0, 0, nil
  expect.collect(function(ok, what, err, elapsed)
    if ok then
      passed = passed + 1
      io.stdout:write(string.format("PASS  %s (%.2f s)\n", what, elapsed))
    else
      failed = failed + 1
      io.stdout:write(string.format("FAIL  %s\n", tostring(err)))
    end
    io.stdout:flush()
  end)
  local chunk, lerr = loadfile(path)
  if not chunk then
    failed = failed + 1
    io.stdout:write("FAIL  ", lerr, "\n")
  else
    _G.arg = { [0] = path, table.unpack(args, 2) }
    local ok, e = pcall(chunk, table.unpack(args, 2))
    if not ok then
      signal = type(e) == "string" and e:match("^interrupted %((SIG%u+)%)$")
      if not signal then
        failed = failed + 1
        io.stdout:write(string.format("FAIL  %s stopped: %s\n", path, tostring(e)))
      end
    end
  end
  expect.collect(nil)
  if signal then
    -- Ctrl-C: what ran so far, then nslab dies of the signal (130 for SIGINT).
    io.stdout:write(string.format("%d passed, %d failed; interrupted (%s): the rest of %s did not run\n", passed,
      failed, signal, path))
    io.stdout:flush()
    return SIGNAL_STATUS[signal] or 130
  end
  io.stdout:write(string.format("%d passed, %d failed\n", passed, failed))
  return failed == 0 and 0 or 1
end

return M
