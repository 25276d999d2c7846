-- nslab.topo: topologies as data with automatic addressing, then built.
local H = require "helper"
local nslab = require "nslab"
local topo = require "nslab.topo"


local function routes_of(t, name)
  local out = {}
  for _, r in ipairs(t.routes[name] or {}) do out[#out + 1] = r.dst .. " via " .. r.via end
  return out
end

describe("topo", function()
  describe("blocks", function()
    it("covers an index range with the fewest aligned blocks", function()
      assert.same({ { 3, 0 }, { 4, 2 }, { 8, 3 }, { 16, 0 } }, topo.blocks(3, 17))
      assert.same({ { 0, 4 } }, topo.blocks(0, 16))
      assert.same({}, topo.blocks(5, 5))
    end)
  end)

  describe("line", function()
    it("chains routers with a /30 per link and summarised routes", function()
      local t = topo.line(4)
      assert.equals(4, #t.nodes)
      assert.same({ name = "h1", kind = "router" }, t.nodes[1])
      assert.equals(3, #t.links)
      assert.same({ a = "h2", b = "h3", addrs = { "10.0.0.5/30", "10.0.0.6/30" } }, t.links[2])
      assert.same({ "default via 10.0.0.2" }, routes_of(t, "h1"))
      assert.same({ "default via 10.0.0.10", "10.0.0.0/30 via 10.0.0.5" }, routes_of(t, "h3"))
      assert.same({ "default via 10.0.0.9" }, routes_of(t, "h4"))
    end)

    it("takes a prefix, a base and IPv6, or no routes", function()
      local t = topo.line(2, { prefix = "x-", base = "192.168.0.0/24", ipv6 = "fd00:1::/48" })
      assert.equals("x-h1", t.nodes[1].name)
      assert.same({ "192.168.0.1/30", "fd00:1::1/64" }, t.links[1].addrs[1])
      assert.same({ "default via 192.168.0.2", "default via fd00:1::2" }, routes_of(t, "x-h1"))
      local plain = topo.line(3, { routes = false })
      assert.equals("host", plain.nodes[1].kind)
      assert.same({}, plain.routes)
    end)

    it("refuses bad sizes and options", function()
      -- nslab.opts' rule: wrong types and unknown fields are argument
      -- errors; bad values EINVAL error objects naming what is allowed
      local e = H.raises("EINVAL", topo.line, 1)
      assert.matches("n 1 is out of range (2..)", tostring(e), 1, true)
      assert.has_error(function() topo.line(2.5) end,
        "bad argument #1 to 'topo.line' (n must be an integer, not a float)")
      assert.has_error(function() topo.line(3, { colour = 1 }) end,
        "bad argument #2 to 'topo.line' (unknown field 'colour')")
      assert.has_error(function() topo.star(3, { routes = false }) end,
        "bad argument #2 to 'topo.star' (unknown field 'routes')")
      assert.has_error(function() topo.line(3, { base = 10 }) end,
        "bad argument #2 to 'topo.line' (field 'base' must be a string, not number)")
      H.raises("EINVAL", topo.line, 3, { base = "10.0.0.0" })
      H.raises("EINVAL", topo.line, 3, { ipv6 = "fd00::/64" })
      e = H.raises("EINVAL", topo.line, 100, { base = "10.0.0.0/28" })
      assert.matches("99 /30 subnets do not fit in base", tostring(e), 1, true)
      H.raises("EINVAL", topo.tree, 2, 0)
    end)
  end)

  describe("ring", function()
    it("closes the chain and sends each node the short way round", function()
      local t = topo.ring(5)
      assert.equals(5, #t.links)
      assert.same({ a = "h5", b = "h1", addrs = { "10.0.0.17/30", "10.0.0.18/30" } }, t.links[5])
      -- h1: right to h2 by default; subnet 3 (h4-h5) is shorter leftwards via h5
      assert.same({ "default via 10.0.0.2", "10.0.0.12/30 via 10.0.0.17" }, routes_of(t, "h1"))
      assert.has_error(function() topo.ring(2) end)
    end)
  end)

  describe("star and tree", function()
    it("star: one bridge, hosts on one subnet", function()
      local t = topo.star(3)
      assert.same({ name = "s1", kind = "bridge" }, t.nodes[1])
      assert.equals(4, #t.nodes)
      assert.same({ a = "h3", b = "s1", addrs = { "10.0.0.3/24" } }, t.links[3])
      assert.equals("10.0.1.44/23", topo.star(300).links[300].addrs[1])
    end)

    it("tree: Mininet's shape, fanout^depth hosts", function()
      local t = topo.tree(2, 3, { ipv6 = true })
      local kinds = {}
      for _, n in ipairs(t.nodes) do kinds[n.kind] = (kinds[n.kind] or 0) + 1 end
      assert.same({ bridge = 4, host = 9 }, kinds)
      assert.equals(12, #t.links)
      assert.same({ a = "h1", b = "s2", addrs = { { "10.0.0.1/24", "fd00::1/64" } } }, t.links[1])
      assert.same({ a = "s2", b = "s1" }, t.links[4])
    end)
  end)

  describe("hop limit", function()
    it("raises TTL and hop limit to 255 in routed topologies longer than 60 hops", function()
      local ttl = { ["net.ipv4.ip_default_ttl"] = "255", ["net.ipv6.conf.default.hop_limit"] = "255",
        ["net.ipv6.conf.all.hop_limit"] = "255" }
      assert.same(ttl, topo.line(62).sysctls)
      assert.same(ttl, topo.ring(124).sysctls)
      assert.is_nil(topo.line(61).sysctls)
      assert.is_nil(topo.ring(120).sysctls)
      assert.is_nil(topo.line(100, { routes = false }).sysctls)
    end)
  end)

  describe("build #root", function()
    H.guard()

    it("routes a line of 80 nodes end to end, past the default TTL of 64", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local p = H.name("t") .. "-"
      local n = topo.line(80, { prefix = p, ipv6 = true }):build(lab)
      local first, last = n[p .. "h1"], n[p .. "h80"]
      assert.is_true((first:ping(last, { timeout = 5 })))
      assert.is_true((first:ping(last, { timeout = 5, family = "inet6" })))
      assert.is_true((last:ping(first, { timeout = 5 })))
    end)

    for _, case in ipairs {
      { "line", function(p) return topo.line(4, { prefix = p, ipv6 = true }) end },
      { "ring", function(p) return topo.ring(5, { prefix = p }) end },
      { "star", function(p) return topo.star(3, { prefix = p }) end },
      { "tree", function(p) return topo.tree(2, 2, { prefix = p, ipv6 = true }) end },
    } do
      it("builds " .. case[1] .. " where every host reaches every other", function()
        local lab <close> = nslab.lab(H.name("lab"))
        local t = case[2](H.name("t") .. "-")
        local nodes = t:build(lab)
        assert.equals(#t.nodes, #lab.nodes)
        assert.equals(lab:node(t.nodes[2].name), nodes[t.nodes[2].name])
        local _, got, sent = lab:pingall { quiet = true }
        assert.is_true(sent > 0)
        assert.equals(sent, got)
        if case[1] == "line" or case[1] == "tree" then
          _, got, sent = lab:pingall { quiet = true, family = "inet6" }
          assert.equals(sent, got)
        end
      end)
    end
  end)
end)
