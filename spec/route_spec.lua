-- nslab.route: routes, checked against `ip -j route`.
local H = require "helper"
local nslab = require "nslab"
local route = nslab.route

local raises = H.raises

-- A netns with veth0 (10.123.0.1/24, fd00:123::1/64) and veth1 up, made
-- with ip. The caller deletes the netns in its finally.
local function fixture()
  local ns = H.name()
  nslab.netns.add(ns)
  local ip = "ip -n " .. ns .. " "
  local out, ok = H.sh(ip .. "link add name veth0 type veth peer name veth1 && " ..
    ip .. "link set dev veth0 up && " .. ip .. "link set dev veth1 up && " ..
    ip .. "addr add 10.123.0.1/24 dev veth0 && " ..
    ip .. "addr add fd00:123::1/64 dev veth0 nodad")
  assert(ok, out)
  return ns
end

-- ip's view of the routes of ns (args e.g. "-6 route show table 100").
local function ip_routes(ns, args)
  return H.ipj("-n " .. ns .. " " .. (args or "route show"))
end

local function ip_route(ns, dst, args)
  for _, r in ipairs(ip_routes(ns, args)) do
    if r.dst == dst then return r end
  end
end

describe("route #root", function()
  H.guard()

  describe("add", function()
    it("adds a default route via a gateway, as ip sees it", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      route.add { netns = ns, dst = "default", via = "10.123.0.254" }
      local r = ip_route(ns, "default")
      assert.is_not_nil(r)
      assert.equals("10.123.0.254", r.gateway)
      assert.equals("veth0", r.dev)
      assert.equals("boot", r.protocol or "boot")
    end)

    it("adds a route with dev, src, metric and table", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      route.add { netns = ns, dst = "10.123.5.0/24", dev = "veth0", src = "10.123.0.1", metric = 7 }
      route.add { netns = ns, dst = "10.123.6.0/24", via = "10.123.0.2", table = 100 }
      local r = ip_route(ns, "10.123.5.0/24")
      assert.same({ "veth0", "10.123.0.1", 7, "link" }, { r.dev, r.prefsrc, r.metric, r.scope })
      assert.is_nil(ip_route(ns, "10.123.6.0/24"))
      r = ip_route(ns, "10.123.6.0/24", "route show table 100")
      assert.equals("10.123.0.2", r.gateway)
    end)

    it("adds IPv6 routes, the family taken from dst or via", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      route.add { netns = ns, dst = "fd00:200::/64", via = "fd00:123::2" }
      route.add { netns = ns, dst = "default", via = "fd00:123::fe", metric = 5 }
      local r = ip_route(ns, "fd00:200::/64", "-6 route show")
      assert.equals("fd00:123::2", r.gateway)
      r = ip_route(ns, "default", "-6 route show")
      assert.equals("fd00:123::fe", r.gateway)
      assert.equals(5, r.metric)
      assert.is_nil(ip_route(ns, "default"))
    end)

    it("adds blackhole and unreachable routes with a proto", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      route.add { netns = ns, dst = "10.123.7.0/24", type = "blackhole", proto = "static" }
      route.add { netns = ns, dst = "fd00:7::/64", type = "unreachable" }
      local r = ip_route(ns, "10.123.7.0/24")
      assert.equals("blackhole", r.type)
      assert.equals("static", r.protocol)
      assert.equals("unreachable", ip_route(ns, "fd00:7::/64", "-6 route show").type)
    end)

    it("raises ENETUNREACH with the kernel's text for an unreachable gateway, changing nothing", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local before = ip_routes(ns)
      local e = raises("ENETUNREACH", route.add, { netns = ns, dst = "10.123.9.0/24", via = "10.99.0.1" })
      assert.equals("route.add", e.op)
      assert.equals("10.123.9.0/24 via 10.99.0.1", e.object)
      assert.equals(ns, e.netns)
      assert.is_string(e.extack)
      assert.matches("gateway", e.extack, 1, true)
      assert.matches(e.extack, tostring(e), 1, true)
      assert.same(before, ip_routes(ns))
    end)

    it("raises EEXIST for a route that is there, keeping it", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      route.add { netns = ns, dst = "10.123.8.0/24", via = "10.123.0.2" }
      raises("EEXIST", route.add, { netns = ns, dst = "10.123.8.0/24", via = "10.123.0.3" })
      assert.equals("10.123.0.2", ip_route(ns, "10.123.8.0/24").gateway)
    end)

    it("rejects bad input with EINVAL before touching anything", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local before = ip_routes(ns)
      local bad = {
        { dst = "10.123.9.0/33" }, { dst = "fd00::/129" }, { dst = "10.0.0.256/24" }, { dst = "nowhere" },
        { dst = "10.123.9.0/24", via = "fd00:123::2" }, { dst = "10.123.9.0/24", via = "10.123.0.2/24" },
        { dst = "10.123.9.0/24", via = "10.123.0.2", table = "bogus" },
        { dst = "10.123.9.0/24", via = "10.123.0.2", metric = -1 },
        { dst = "10.123.9.0/24", via = "10.123.0.2", metric = 2 ^ 32 },
        { dst = "10.123.9.0/24", via = "10.123.0.2", scope = "galaxy" },
        { dst = "10.123.9.0/24", via = "10.123.0.2", type = "wormhole" },
        { dst = "10.123.9.0/24", via = "10.123.0.2", proto = 256 },
        { dst = "10.123.9.0/24", src = "fd00::1", dev = "veth0" },
        { dst = "10.123.9.0/24", dev = "veth0123456789ab" },
      }
      for _, r in ipairs(bad) do
        r.netns = ns
        local e = raises("EINVAL", route.add, r)
        assert.equals("route.add", e.op)
      end
      -- host bits set: the kernel refuses, and says why
      local e = raises("EINVAL", route.add, { netns = ns, dst = "10.123.9.1/24", via = "10.123.0.2" })
      assert.is_string(e.extack)
      assert.same(before, ip_routes(ns))
    end)

    it("raises ENODEV for a missing dev and ENOENT for a missing netns", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local e = raises("ENODEV", route.add, { netns = ns, dst = "10.123.9.0/24", dev = "nosuch0" })
      assert.matches("nosuch0", e.msg, 1, true)
      raises("ENOENT", route.add, { netns = H.name(), dst = "default", via = "10.123.0.2" })
      assert.is_nil(ip_route(ns, "10.123.9.0/24"))
    end)

    it("rejects unknown fields, a missing dst and wrong types", function()
      local ok, e = pcall(route.add, { dst = "default", gateway = "10.0.0.1" })
      assert.is_false(ok)
      assert.matches("unknown field 'gateway'", e, 1, true)
      ok, e = pcall(route.add, { via = "10.0.0.1" })
      assert.is_false(ok)
      assert.matches("field 'dst' is required", e, 1, true)
      assert.has_error(function() route.add("default") end)
      assert.has_error(function() route.add { dst = "default", metric = "high" } end)
    end)
  end)

  describe("replace", function()
    it("changes the gateway of a route, and adds one that is missing", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      route.add { netns = ns, dst = "default", via = "10.123.0.2" }
      route.replace { netns = ns, dst = "default", via = "10.123.0.3" }
      route.replace { netns = ns, dst = "10.123.4.0/24", via = "10.123.0.4" }
      local n = 0
      for _, r in ipairs(ip_routes(ns)) do
        if r.dst == "default" then n = n + 1 end
      end
      assert.equals(1, n)
      assert.equals("10.123.0.3", ip_route(ns, "default").gateway)
      assert.equals("10.123.0.4", ip_route(ns, "10.123.4.0/24").gateway)
    end)

    it("raises ENETUNREACH for an unreachable gateway, keeping the old route", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      route.add { netns = ns, dst = "default", via = "10.123.0.2" }
      raises("ENETUNREACH", route.replace, { netns = ns, dst = "default", via = "10.99.0.1" })
      assert.equals("10.123.0.2", ip_route(ns, "default").gateway)
    end)
  end)

  describe("del", function()
    it("deletes routes, made by nslab or by ip, in any table", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      route.add { netns = ns, dst = "default", via = "10.123.0.2" }
      route.add { netns = ns, dst = "10.123.6.0/24", via = "10.123.0.2", table = 100 }
      assert(select(2, H.sh("ip -n " .. ns .. " route add 10.123.3.0/24 via 10.123.0.3")))
      route.del { netns = ns, dst = "default" }
      route.del { netns = ns, dst = "10.123.6.0/24", table = 100 }
      route.del { netns = ns, dst = "10.123.3.0/24", via = "10.123.0.3" }
      assert.is_nil(ip_route(ns, "default"))
      assert.is_nil(ip_route(ns, "10.123.3.0/24"))
      assert.same({}, ip_routes(ns, "route show table 100"))
    end)

    it("raises ESRCH for a route that does not exist, changing nothing", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      route.add { netns = ns, dst = "10.123.6.0/24", via = "10.123.0.2" }
      local before = ip_routes(ns)
      local e = raises("ESRCH", route.del, { netns = ns, dst = "10.123.77.0/24" })
      assert.equals("route.del", e.op)
      raises("ESRCH", route.del, { netns = ns, dst = "10.123.6.0/24", table = 100 })
      raises("ESRCH", route.del, { netns = ns, dst = "10.123.6.0/24", via = "10.123.0.9" })
      -- IPv6 too (the kernel says ENOENT there)
      e = raises("ESRCH", route.del, { netns = ns, dst = "default", family = "inet6" })
      assert.matches("no such route", tostring(e), 1, true)
      raises("ESRCH", route.del, { netns = ns, dst = "fd00:77::/64" })
      assert.same(before, ip_routes(ns))
    end)
  end)

  describe("list", function()
    it("takes its options table as optional (nslab's own netns)", function()
      assert.is_table(nslab.route.list())
      assert.is_table(nslab.route.list(nil))
    end)

    it("lists what ip -j route shows, by family, table and dev", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      route.add { netns = ns, dst = "default", via = "10.123.0.254" }
      route.add { netns = ns, dst = "10.123.5.0/24", dev = "veth1", metric = 3 }
      route.add { netns = ns, dst = "10.123.6.0/24", via = "10.123.0.2", table = 100 }
      route.add { netns = ns, dst = "fd00:200::/64", via = "fd00:123::2" }
      local v4 = route.list { netns = ns, family = "inet" }
      assert.equals(#ip_routes(ns), #v4)
      local by = {}
      for _, r in ipairs(v4) do by[r.dst] = r end
      assert.same({ "10.123.0.254", "veth0", "main", "global", "boot", "unicast", "inet" },
        { by.default.via, by.default.dev, by.default.table, by.default.scope, by.default.proto,
          by.default.type, by.default.family })
      assert.same({ "veth1", 3, "link" }, { by["10.123.5.0/24"].dev, by["10.123.5.0/24"].metric,
        by["10.123.5.0/24"].scope })
      assert.equals("kernel", by["10.123.0.0/24"].proto)
      assert.equals("10.123.0.1", by["10.123.0.0/24"].src)
      assert.is_nil(by["10.123.6.0/24"])
      local t100 = route.list { netns = ns, table = 100 }
      assert.equals(1, #t100)
      assert.same({ "10.123.6.0/24", 100 }, { t100[1].dst, t100[1].table })
      local v6 = route.list { netns = ns, family = "inet6" }
      assert.equals(#ip_routes(ns, "-6 route show"), #v6)
      local found
      for _, r in ipairs(v6) do
        if r.dst == "fd00:200::/64" then found = r end
      end
      assert.equals("fd00:123::2", found.via)
      local all = route.list { netns = ns, table = "all" }
      -- ip shows both families for "table all"
      assert.equals(#ip_routes(ns, "route show table all"), #all)
      local dev1 = route.list { netns = ns, dev = "veth1", family = "inet" }
      assert.equals(1, #dev1)
      assert.equals("10.123.5.0/24", dev1[1].dst)
    end)

    it("raises ENOENT for a missing netns, ENODEV for a missing dev", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      raises("ENOENT", route.list, { netns = H.name() })
      raises("ENODEV", route.list, { netns = ns, dev = "nosuch0" })
      assert.has_error(function() route.list { netns = ns, family = "ipx" } end)
      assert.has_error(function() route.list { netns = ns, via = "10.0.0.1" } end)
    end)
  end)
end)
