-- `nslab --test` interrupted: the summary of what ran, then the signal's
-- exit status (130 for SIGINT), as a shell would report it.
local H = require "helper"

describe("nslab --test interrupted", function()
  it("prints what ran, passed and failed, and exits 130 on SIGINT", function()
    local script = H.tmpfile([[
      local expect = require "nslab.expect"
      expect.check("one holds", function() return true end)
      pcall(expect.check, "two fails", function() error("no") end)
      io.stdout:flush()
      while true do require("nslab").core.sleep(0.02) end
    ]])
    local out = os.tmpname()
    local text, _, code = H.sh(string.format([[
      %s --test %s > %s 2>&1 &
      p=$!
      n=0
      until grep -q '^FAIL' %s || [ $n -ge 500 ]; do sleep 0.01; n=$((n + 1)); done
      kill -INT $p
      wait $p; exit $?]], H.q(H.bin), H.q(script), H.q(out), H.q(out)))
    local got = H.read_all(out)
    os.remove(script)
    os.remove(out)
    assert.equals(130, code, text .. got)
    assert.truthy(got:find("PASS  one holds", 1, true), got)
    assert.truthy(got:find("\n1 passed, 1 failed; interrupted (SIGINT): the rest of " .. script .. " did not run\n",
      1, true), got)
  end)
end)
