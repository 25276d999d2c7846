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
