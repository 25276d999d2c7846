-- The short run of the fault-injection suite (`make check-faults` is the
-- long one; scripts/faults/run.lua says what a trial does): the 20-node
-- lab signalled at random moments in build, run and close, with SIGINT,
-- SIGTERM, SIGHUP (once and twice) and SIGKILL followed by --clean. Every
-- trial must leave no netns, link, mount, process or record, and the lab
-- must re-run at once. FAULTS_TRIALS sets the number of trials (default
-- 42: each signal and phase twice), SEED repeats a schedule; the table
-- and the seed are printed either way.
local H = require "helper"

describe("fault injection #root #faults", function()
  H.guard()

  it("nothing is left and the lab re-runs, whatever signal lands in build, run or close", function()
    local trials = math.tointeger(tonumber(os.getenv("FAULTS_TRIALS") or "")) or 42
    local seed = os.getenv("SEED") or ""
    local out, ok, code = H.sh(string.format("TRIALS=%d SEED=%s %s scripts/faults/run.lua",
      trials, H.q(seed), H.q(H.bin)))
    io.write("\n", out)
    local line = out:match("faults: %d+ of %d+ trials left something[^\n]*")
    assert(line, "no summary line from scripts/faults/run.lua (exit " .. tostring(code) .. ")")
    assert.equals(string.format("0 of %d trials left something, 0 re-runs failed, 0 hung, 0 crashed", trials),
      line:match("^faults: (.-) %(seed"), "see the table above: " .. line)
    assert.is_true(ok, "exit " .. tostring(code))
  end)
end)
