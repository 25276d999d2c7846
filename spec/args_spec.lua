-- Argument errors of the primitives name the module's function
-- ('netns.add', not bare 'add') at the caller's line, however called.
local nslab = require "nslab"

local function err_of(f)
  local ok, e = pcall(f)
  assert.is_false(ok)
  return e
end

describe("argument errors", function()
  local cases = {
    { "netns.add", function() nslab.netns.add({}) end, "#1", "string expected, got table" },
    { "netns.del", function() nslab.netns.del() end, "#1", "string expected, got no value" },
    { "netns.exists", function() nslab.netns.exists(true) end, "#1", "string expected, got boolean" },
    { "netns.kill", function() nslab.netns.kill("x", "SIGFOO") end, "#2", "invalid option 'SIGFOO'" },
    { "link.set", function() nslab.link.set("eth0", 3) end, "#2", "table expected, got number" },
    { "link.get", function() nslab.link.get({}) end, "#1", "" },
    { "link.add", function() nslab.link.add { name = "k9" } end, "#1", "field 'kind' is required" },
    { "addr.add", function() nslab.addr.add("eth0") end, "#2", "string expected, got no value" },
    { "route.add", function() nslab.route.add(7) end, "#1", "" },
    { "sysctl.get", function() nslab.sysctl.get(nil) end, "#2", "string expected, got no value" },
    { "sysctl.set", function() nslab.sysctl.set(nil, "net.ipv4.ip_forward", {}) end, "#3",
      "string or number expected" },
    { "nslab.exec", function() nslab.exec(nil, "ls") end, "#2", "table expected, got string" },
    { "nslab.sh", function() nslab.sh(nil, {}) end, "#2", "string expected, got table" },
  }
  for _, c in ipairs(cases) do
    local name, f, arg, why = c[1], c[2], c[3], c[4]
    it("names " .. name .. " at the caller's line", function()
      local e = err_of(f)
      assert.is_string(e)
      assert.matches("^spec/args_spec%.lua:%d+: bad argument " .. arg .. " to '" .. name:gsub("%.", "%%.") .. "'", e)
      assert.truthy(e:find(why, 1, true), e)
    end)
  end

  it("names the function when called through pcall, without a position", function()
    local ok, e = pcall(nslab.netns.add)
    assert.is_false(ok)
    assert.equals("bad argument #1 to 'netns.add' (string expected, got no value)", e)
  end)

  it("leaves error objects alone", function()
    local ok, e = pcall(nslab.netns.add, "a/b")
    assert.is_false(ok)
    assert.equals("EINVAL", e.code)
    assert.equals("netns.add", e.op)
  end)
end)
