-- The one option-reader rule (issue 12): a wrong type or an unknown field is
-- an argument error naming the function and the field; a well-typed but
-- invalid value is an EINVAL error object naming the object and the range.
local H = require "helper"
local nslab = require "nslab"
local link, route, netns = nslab.link, nslab.route, nslab.netns

describe("option readers #root", function()
  H.guard()

  -- A fresh netns, deleted when the test ends.
  local function scratch()
    local ns = H.name()
    netns.add(ns)
    finally(function() pcall(netns.del, ns) end)
    return ns
  end

  it("gives an EINVAL object for an out-of-range link.add value", function()
    local ns = scratch()
    local e = H.raises("EINVAL", link.add, { name = "vx0", kind = "vxlan", netns = ns, id = 1, ttl = 300 })
    assert.matches("ttl 300 is out of range %(0..255%)", tostring(e))
    assert.is_nil(nslab.link.list({ netns = ns })[2])
  end)

  it("gives an EINVAL object for an out-of-range route.add value", function()
    local ns = scratch()
    local e = H.raises("EINVAL", route.add, { dst = "10.9.0.0/16", dev = "lo", metric = -1, netns = ns })
    assert.matches("metric", tostring(e))
  end)

  it("gives an EINVAL object naming the accepted words for an unknown mode", function()
    local ns = scratch()
    local ok = link.kind_available("macvlan")
    if not ok then return pending("no macvlan") end
    link.veth { name = "p0", peer = "p1", netns = ns, peer_netns = ns }
    local e = H.raises("EINVAL", link.add, { name = "m0", kind = "macvlan", netns = ns, link = "p0", mode = "nope" })
    assert.matches('unknown mode "nope" %(one of .*bridge', tostring(e))
  end)

  it("gives argument errors for a wrong type, naming the function and field", function()
    local ns = scratch()
    local ok, e = pcall(link.add, { name = "vx0", kind = "vxlan", netns = ns, id = 1, ttl = "x" })
    assert.is_false(ok)
    assert.is_string(e)
    assert.matches("link.add", e, 1, true)
    assert.matches("field 'ttl' must be an integer", e, 1, true)
    ok, e = pcall(route.add, { dst = "10.9.0.0/16", dev = "lo", metric = "x", netns = ns })
    assert.is_false(ok)
    assert.matches("route.add", e, 1, true)
    assert.matches("field 'metric'", e, 1, true)
  end)

  it("gives argument errors for an unknown field", function()
    local ns = scratch()
    local ok, e = pcall(route.add, { dst = "10.9.0.0/16", dev = "lo", colour = 1, netns = ns })
    assert.is_false(ok)
    assert.matches("unknown field 'colour'", e, 1, true)
  end)
end)

describe("nslab.opts, the Lua library's option readers", function()
  local opts = require "nslab.opts"
  local F = { quiet = "boolean", n = "integer", t = "number", s = "string|table", any = "any" }

  it("gives argument errors for a non-table, an unknown field and a wrong type, naming op and argument", function()
    local function check(o) return opts.check("lab:x", 2, o, F) end
    assert.same({}, check(nil))
    assert.has_error(function() check(1) end, "bad argument #2 to 'lab:x' (table expected, got number)")
    assert.has_error(function() check({ nope = 1 }) end, "bad argument #2 to 'lab:x' (unknown field 'nope')")
    assert.has_error(function() check({ quiet = 1 }) end,
      "bad argument #2 to 'lab:x' (field 'quiet' must be a boolean, not number)")
    assert.has_error(function() check({ n = 1.5 }) end,
      "bad argument #2 to 'lab:x' (field 'n' must be an integer, not a float)")
    assert.has_error(function() check({ s = true }) end,
      "bad argument #2 to 'lab:x' (field 's' must be a string or a table, not boolean)")
    local o = { quiet = true, n = 3, t = 0.5, s = {}, any = print }
    assert.equals(o, check(o))
  end)

  it("gives EINVAL error objects for a value out of range or not among the words", function()
    local e = H.raises("EINVAL", opts.range, "node:ping", '"a"', "count", 0, 1)
    assert.equals('node:ping "a": Invalid argument: count 0 is out of range (1..) (EINVAL)', tostring(e))
    e = H.raises("EINVAL", opts.range, "x.y", nil, "mtu", 70000, 68, 65535)
    assert.matches("mtu 70000 is out of range (68..65535)", tostring(e), 1, true)
    assert.equals(5, opts.range("x.y", nil, "n", 5, 1, 10))
    e = H.raises("EINVAL", opts.choice, "lab:pingall", nil, "family", "ipx", { "inet", "inet6" })
    assert.matches('unknown family "ipx" (one of inet, inet6)', tostring(e), 1, true)
    assert.equals("inet", opts.choice("lab:pingall", nil, "family", "inet", { "inet", "inet6" }))
  end)
end)
