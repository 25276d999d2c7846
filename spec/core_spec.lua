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
