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

-- The lab layer's argument errors (nslab.opts.argerror) blame the user's
-- line however deep the library's own frames go: wrappers (nslab.attach's
-- lab:_node, lab:link), tail calls, checks run under the library's pcall
-- (nslab.expect), options checked before a router's step.
describe("lab argument errors #root", function()
  local H = require "helper"
  H.guard()

  it("name the method at the line that called it", function()
    local lab <close> = nslab.lab(H.name "arg")
    local a, b = lab:host(H.name "arga"), lab:host(H.name "argb")
    lab:link(a, b, { addrs = { "10.0.0.1/24", "10.0.0.2/24" } })
    local cases = {
      { function() lab:host(42) end, "lab:host", "#1 to 'lab:host' (name must be a string, got number)" },
      { function() lab:link(a, 42) end, "lab:link", "#2 to 'lab:link' (a node of lab \"" .. lab.name
        .. "\" expected, got 42)" },
      { function() lab:host("z", { dirs = { 1 } }) end, "lab:host",
        "#2 to 'lab:host' (field 'dirs' must hold strings, not number (entry 1))" },
      { function() lab:router("z", { frr = { daemons = { "zebra" }, conf = 1 } }) end, "lab:router",
        "#2 to 'lab:router' (field 'frr': unknown field 'conf')" },
      { function() lab:reachable(a, {}) end, "expect.reachable",
        "#2 to 'expect.reachable' (node, node name or address expected, got table)" },
      { function() require("nslab.expect").reachable(42, b) end, "expect.reachable",
        "#1 to 'expect.reachable' (node expected, got number)" },
      { function() lab:route_via(a, "10.0.0.2", {}) end, "expect.route_via",
        "#3 to 'expect.route_via' (node, address or ifname expected, got table)" },
      { function() lab:port_open(a, b, "x") end, "expect.port_open",
        "#3 to 'expect.port_open' (integer expected, got string)" },
      { function() a:iperf(42) end, "node:iperf", "#1 to 'node:iperf' (node or node name expected, got number)" },
      { function() a:ping({}) end, "node:ping", "#1 to 'node:ping' (node, node name or address expected, got table)" },
    }
    for _, c in ipairs(cases) do
      local line = debug.getinfo(c[1], "S").linedefined
      local e = err_of(c[1])
      assert.equals("spec/args_spec.lua:" .. line .. ": bad argument " .. c[3], e)
    end
    -- through the user's own pcall: no position, as for the primitives
    local ok, e = pcall(lab.host, lab, 42)
    assert.is_false(ok)
    assert.equals("bad argument #1 to 'lab:host' (name must be a string, got number)", e)
    assert.equals(2, #lab.nodes)
  end)

  it("refuse a relative dirs entry as lab:host, not nslab.exec.node", function()
    local lab <close> = nslab.lab(H.name "arg")
    local name = H.name "argx"
    local ok, e = pcall(lab.host, lab, name, { dirs = { "rel" } })
    assert.is_false(ok)
    assert.equals(string.format('lab:host "%s": Invalid argument: dirs entries must be absolute paths without ".." '
      .. '(got "rel") (EINVAL)', name), tostring(e))
    assert.is_false(nslab.netns.exists(name))
  end)
end)
