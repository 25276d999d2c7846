-- nslab.core's small pieces that need no privilege.
local nslab = require "nslab"

describe("nslab.errno", function()
  it("maps errno names to the C library's numbers", function()
    assert.equals(17, nslab.errno.EEXIST) -- x86_64 and most Linux ABIs
    assert.equals(nslab.core.errno, nslab.errno)
    for name, n in pairs(nslab.errno) do
      assert.is_true(math.type(n) == "integer" and n > 0, name)
      local _, code = nslab.core.strerror(n)
      -- Some errnos share a number (EWOULDBLOCK = EAGAIN): the C library
      -- names one of them; the number maps back to a known name.
      assert.is_not_nil(nslab.errno[code], name)
    end
  end)
end)

describe("nslab.core.kill_self", function()
  local H = require "helper"

  -- In a child nslab: the signal ends the host (it re-raises it at exit).
  local function child(code)
    return H.nslab("-e " .. H.q(code) .. "; echo status=$?")
  end

  for sig, status in pairs { SIGINT = 130, SIGTERM = 143, SIGHUP = 129 } do
    it("sends " .. sig .. " to nslab itself, its handler run before it returns", function()
      -- The host raises at the next call once its handler ran: type().
      local out = child(string.format([[
local ok, e = pcall(function() require("nslab").core.kill_self(%q); return type(nil) end)
print("caught", ok, e)]], sig))
      assert.matches("caught\tfalse\t[^\n]*interrupted %(" .. sig .. "%)", out)
      assert.matches("status=" .. status, out)
    end)
  end

  it("refuses any other signal with an argument error", function()
    for _, v in ipairs { "SIGKILL", "INT", 9 } do
      assert.has_error(function() nslab.core.kill_self(v) end)
      local ok, e = pcall(nslab.core.kill_self, v)
      assert.is_false(ok)
      assert.matches("bad argument #1 to '[%w._]*kill_self'", e)
    end
  end)
end)
