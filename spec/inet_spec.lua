-- nslab.core.inet: address text for the Lua library (no privilege needed).
require "nslab"
local inet = require("nslab.core").inet

describe("core.inet", function()
  it("parses IPv4 and IPv6 with and without a prefix length", function()
    local t = inet.parse("10.1.2.3/24")
    assert.same({ family = "inet", prefixlen = 24, has_prefixlen = true, bytes = "\10\1\2\3", address = "10.1.2.3" }, t)
    t = inet.parse("fd00:0:0:0::1")
    assert.equals("inet6", t.family)
    assert.equals(128, t.prefixlen)
    assert.is_false(t.has_prefixlen)
    assert.equals("fd00::1", t.address)
  end)

  it("formats bytes as RFC 5952 text", function()
    local function v6(...) return string.pack(">I2I2I2I2I2I2I2I2", ...) end
    assert.equals("2001:db8:0:0:1::", inet.format(v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 0)))
    assert.equals("fd00:0:0:5::1", inet.format(string.pack(">I2I2I2I2I2I2I2I2", 0xfd00, 0, 0, 5, 0, 0, 0, 1)))
    assert.equals("10.0.0.255", inet.format("\10\0\0\255"))
  end)

  it("raises EINVAL error objects saying what is wrong", function()
    for _, bad in ipairs { "10.0.0.256", "10.0.0.1/33", "fd00::1/129", "nope", "" } do
      local ok, e = pcall(inet.parse, bad)
      assert.is_false(ok, bad)
      assert.equals("EINVAL", e.code, bad)
      assert.equals("inet.parse", e.op)
    end
    assert.has_error(function() inet.format("abc") end)
  end)
end)
