-- The error object's printing under long and odd strings: every field of
-- every length, NUL bytes, invalid UTF-8. An error message must never be
-- what brings nslab down (issue 11, finding 3: a ~2 KB message crashed
-- __tostring with SIGSEGV).
local H = require "helper"
local nslab = require "nslab"
local core = require "nslab.core"

-- Lengths around Lua's buffer sizes (LUAL_BUFFERSIZE, its doublings) and
-- far past them.
local lengths = { 0, 1, 2, 15, 16, 17, 255, 256, 511, 512, 1023, 1024, 1025, 2000, 2047, 2048, 4096,
  8191, 8192, 16385, 65536, 70000 }

local odd = { "\0", "a\0b", "\xff\xfe", "\xc3", "\xe2\x82", "%s%d%%", "\n\t\r", "\"" }

local fields = { "step", "op", "object", "netns", "msg", "code" }

local function expected(t)
  local s = ""
  if type(t.step) == "string" then s = t.step .. ": " end
  if type(t.op) == "string" then s = s .. t.op end
  if type(t.object) == "string" then s = s .. " " .. t.object end
  if type(t.netns) == "string" then s = s .. ' in netns "' .. t.netns .. '"' end
  s = s .. ": "
  if type(t.msg) == "string" then s = s .. t.msg end
  if type(t.code) == "string" then s = s .. " (" .. t.code .. ")" end
  return s
end

describe("error object", function()
  describe("__tostring", function()
    it("prints every field at every length, byte for byte", function()
      for _, f in ipairs(fields) do
        for _, n in ipairs(lengths) do
          local t = { op = "x.op", object = "obj", netns = "ns", msg = "m", code = "EINVAL" }
          t[f] = string.rep("a", n)
          local e = core.error(t)
          assert.equals(expected(t), tostring(e))
        end
      end
    end)

    it("prints all fields long at once, and odd bytes as they are", function()
      for _, n in ipairs(lengths) do
        local t = {}
        for i, f in ipairs(fields) do t[f] = string.rep(string.char(64 + i), n) end
        assert.equals(expected(t), tostring(core.error(t)))
      end
      for _, s in ipairs(odd) do
        for _, n in ipairs { 1, 3000 } do
          local t = {}
          for _, f in ipairs(fields) do t[f] = string.rep(s, n) end
          assert.equals(expected(t), tostring(core.error(t)))
        end
      end
    end)

    it("skips fields that are not strings, and missing ones", function()
      assert.equals(": ", tostring(core.error {}))
      local e = core.error { op = 1, object = {}, netns = true, msg = string.rep("m", 5000), code = 2 }
      assert.equals(": " .. string.rep("m", 5000), tostring(e))
    end)

    it("fills msg and code from a long extack", function()
      local ext = string.rep("x", 10000)
      local e = core.error { op = "o", errno = 22, extack = ext }
      assert.equals("o: Invalid argument: " .. ext .. " (EINVAL)", tostring(e))
    end)
  end)
end)

describe("error object from real calls #root", function()
  H.guard()

  it("sysctl.set with a 2000-byte value the kernel refuses prints whole", function()
    local ns = H.name()
    nslab.netns.add(ns)
    finally(function() nslab.netns.del(ns) end)
    for _, n in ipairs { 2000, 5000, 70000 } do
      local v = string.rep("9", n)
      local ok, e = pcall(nslab.sysctl.set, ns, "net.ipv4.ip_forward", v)
      assert.is_false(ok)
      assert.equals("EINVAL", e.code)
      local s = tostring(e)
      assert.truthy(s:find(v, 1, true), "value printed whole")
      assert.truthy(s:find("sysctl.set net.ipv4.ip_forward in netns", 1, true))
    end
  end)

  it("exec of a 5000-byte program name raises ENOENT and prints it", function()
    local ns = H.name()
    nslab.netns.add(ns)
    finally(function() nslab.netns.del(ns) end)
    for _, n in ipairs { 255, 2000, 5000, 70000 } do
      local prog = string.rep("p", n)
      local ok, e = pcall(nslab.exec, ns, { prog })
      assert.is_false(ok)
      assert.is_true(core.is_error(e))
      assert.truthy(tostring(e):find(prog, 1, true))
    end
  end)
end)
