-- nslab.addr: addresses on links, checked against `ip -j addr`.
local H = require "helper"
local nslab = require "nslab"
local addr = nslab.addr

local raises = H.raises

-- A netns holding the veth pair veth0/veth1 (made with ip, not nslab.link),
-- both up when up is true. The caller deletes the netns in its finally.
local function fixture(up)
  local ns = H.name()
  nslab.netns.add(ns)
  local cmd = "ip -n " .. ns .. " link add name veth0 type veth peer name veth1"
  if up then
    cmd = cmd .. " && ip -n " .. ns .. " link set dev veth0 up && ip -n " .. ns .. " link set dev veth1 up"
  end
  local out, ok = H.sh(cmd)
  assert(ok, out)
  return ns
end

-- ip's view: the addr_info entries of dev in ns (family "inet"/"inet6").
local function ip_addrs(ns, dev, family)
  local out = {}
  for _, l in ipairs(H.ipj("-n " .. ns .. " addr show dev " .. dev)) do
    for _, a in ipairs(l.addr_info or {}) do
      if not family or a.family == family then out[#out + 1] = a end
    end
  end
  return out
end

local function ip_find(ns, dev, address)
  for _, a in ipairs(ip_addrs(ns, dev)) do
    if a["local"] == address then return a end
  end
end

local function global6(ns, dev)
  local n = 0
  for _, a in ipairs(ip_addrs(ns, dev, "inet6")) do
    if a.scope ~= "link" then n = n + 1 end
  end
  return n
end

describe("addr #root", function()
  H.guard()

  describe("add", function()
    it("adds an IPv4 address with the broadcast of brd +, as ip sees it", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local a = addr.add("veth0", "10.123.0.1/24", { netns = ns })
      assert.same({ "veth0", "inet", "10.123.0.1", 24, "10.123.0.255", "global", false },
        { a.ifname, a.family, a.address, a.prefixlen, a.broadcast, a.scope, a.tentative })
      local ip = ip_find(ns, "veth0", "10.123.0.1")
      assert.is_not_nil(ip)
      assert.equals(24, ip.prefixlen)
      assert.equals("10.123.0.255", ip.broadcast)
      assert.equals("global", ip.scope)
      assert.equals(a.ifindex, H.ipj("-n " .. ns .. " link show dev veth0")[1].ifindex)
    end)

    it("sets no broadcast for /31 and /32, the given one, or none when false", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      addr.add("veth0", "10.123.1.0/31", { netns = ns })
      addr.add("veth0", "10.123.2.1/32", { netns = ns })
      addr.add("veth0", "10.123.3.1/24", { netns = ns, broadcast = "10.123.3.9" })
      addr.add("veth0", "10.123.4.1/24", { netns = ns, broadcast = false })
      assert.is_nil(ip_find(ns, "veth0", "10.123.1.0").broadcast)
      assert.is_nil(ip_find(ns, "veth0", "10.123.2.1").broadcast)
      assert.equals("10.123.3.9", ip_find(ns, "veth0", "10.123.3.1").broadcast)
      assert.is_nil(ip_find(ns, "veth0", "10.123.4.1").broadcast)
    end)

    it("reads an address without /prefixlen as /32 or /128", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      assert.equals(32, addr.add("veth0", "10.123.0.7", { netns = ns }).prefixlen)
      assert.equals(128, addr.add("veth0", "fd00:123::7", { netns = ns, nodad = true }).prefixlen)
      assert.equals(32, ip_find(ns, "veth0", "10.123.0.7").prefixlen)
      assert.equals(128, ip_find(ns, "veth0", "fd00:123::7").prefixlen)
    end)

    it("sets scope, peer, label and noprefixroute as ip does", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      addr.add("veth0", "10.123.0.1/24", { netns = ns, scope = "link", label = "veth0:lab" })
      addr.add("veth0", "10.123.9.1/32", { netns = ns, peer = "10.123.9.2" })
      addr.add("veth0", "10.123.8.1/24", { netns = ns, noprefixroute = true })
      local a = ip_find(ns, "veth0", "10.123.0.1")
      assert.equals("link", a.scope)
      assert.equals("veth0:lab", a.label)
      assert.equals("10.123.9.2", ip_find(ns, "veth0", "10.123.9.1").address)
      assert.is_true(ip_find(ns, "veth0", "10.123.8.1").noprefixroute)
      local routes = H.sh("ip -n " .. ns .. " route show 10.123.8.0/24")
      assert.equals("", routes)
    end)

    it("gives 127.0.0.0/8 host scope, as ip does", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      assert.equals("host", addr.add("lo", "127.0.0.2/8", { netns = ns }).scope)
      assert.equals("host", ip_find(ns, "lo", "127.0.0.2").scope)
    end)

    it("makes a nodad IPv6 address usable at once, not tentative (P2)", function()
      -- veth1 in a second netns, so the ping crosses the pair
      local ns, ns2 = H.name(), H.name()
      nslab.netns.add(ns)
      finally(function()
        nslab.netns.del(ns)
        pcall(nslab.netns.del, ns2)
      end)
      nslab.netns.add(ns2)
      local out, made = H.sh(("ip -n %s link add name veth0 up type veth peer name veth1 netns %s" ..
        " && ip -n %s link set dev veth1 up"):format(ns, ns2, ns2))
      assert(made, out)
      local a = addr.add("veth0", "fd00:123::1/64", { netns = ns, nodad = true })
      addr.add("veth1", "fd00:123::2/64", { netns = ns2, nodad = true })
      assert.is_false(a.tentative)
      assert.is_true(a.nodad)
      local ip = ip_find(ns, "veth0", "fd00:123::1")
      assert.is_nil(ip.tentative)
      assert.is_true(ip.nodad)
      -- usable right now: ping from it to the other end
      local pong, ok = H.sh("ip netns exec " .. ns .. " ping -6 -c1 -W2 -I fd00:123::1 fd00:123::2")
      assert.is_true(ok, pong)
    end)

    it("waits for DAD so an IPv6 address is no longer tentative when add returns (P2)", function()
      local ns = fixture(true)
      finally(function() nslab.netns.del(ns) end)
      local a = addr.add("veth0", "fd00:123::1/64", { netns = ns })
      assert.is_false(a.tentative)
      assert.is_false(a.dadfailed)
      local ip = ip_find(ns, "veth0", "fd00:123::1")
      assert.is_nil(ip.tentative)
      assert.is_nil(ip.dadfailed)
    end)

    it("raises EADDRNOTAVAIL when DAD finds the address on the peer; list shows dadfailed (P2)", function()
      local ns = fixture(true)
      finally(function() nslab.netns.del(ns) end)
      addr.add("veth1", "fd00:123::1/64", { netns = ns, nodad = true })
      local e = raises("EADDRNOTAVAIL", addr.add, "veth0", "fd00:123::1/64", { netns = ns })
      assert.equals("addr.add", e.op)
      assert.equals("fd00:123::1/64 dev veth0", e.object)
      assert.equals(ns, e.netns)
      assert.matches("duplicate address detected", tostring(e), 1, true)
      local ip = ip_find(ns, "veth0", "fd00:123::1")
      assert.is_true(ip.dadfailed)
      local l = addr.list { netns = ns, ifname = "veth0", family = "inet6" }
      local found
      for _, x in ipairs(l) do
        if x.address == "fd00:123::1" then found = x end
      end
      assert.is_true(found.dadfailed)
      assert.is_true(found.tentative)
    end)

    it("returns at once with tentative=true when wait=false", function()
      local ns = fixture(true)
      finally(function() nslab.netns.del(ns) end)
      local a = addr.add("veth0", "fd00:123::1/64", { netns = ns, wait = false })
      assert.is_true(a.tentative)
      assert.is_true(ip_find(ns, "veth0", "fd00:123::1").tentative)
    end)

    it("returns at once on a link that is down: DAD waits for carrier", function()
      local ns = fixture(false)
      finally(function() nslab.netns.del(ns) end)
      local t0 = nslab.core.monotime()
      local a = addr.add("veth0", "fd00:123::1/64", { netns = ns })
      assert.is_true(nslab.core.monotime() - t0 < 0.5)
      assert.is_true(a.tentative)
      assert.is_true(ip_find(ns, "veth0", "fd00:123::1").tentative)
    end)

    it("rejects bad addresses and prefixlens with EINVAL, changing nothing", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      for _, bad in ipairs { "10.0.0.1/33", "fd00::1/129", "10.0.0.256/24", "garbage", "", "/24",
        "10.0.0.1/", "10.0.0.1/x", "10.0.0.1/-1", "10.0.0.1/24/2", "fd00::1::2/64" } do
        local e = raises("EINVAL", addr.add, "veth0", bad, { netns = ns })
        assert.equals("addr.add", e.op)
        assert.equals(bad .. " dev veth0", e.object)
      end
      local e = raises("EINVAL", addr.add, "veth0", "10.0.0.1/33", { netns = ns })
      assert.matches("prefixlen \"33\" out of range 0..32 for inet", e.msg, 1, true)
      e = raises("EINVAL", addr.add, "veth0", "fd00::1/129", { netns = ns })
      assert.matches("0..128 for inet6", e.msg, 1, true)
      assert.same({}, ip_addrs(ns, "veth0"))
    end)

    it("says what is wrong with trailing characters and zone indexes", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local e = raises("EINVAL", addr.add, "veth0", "10.0.0.1/24 ", { netns = ns })
      assert.matches('invalid address "10.0.0.1/24 ": trailing characters after the prefix length', e.msg, 1, true)
      assert.not_matches("out of range", e.msg, 1, true)
      e = raises("EINVAL", addr.add, "veth0", "10.0.0.1/24x", { netns = ns })
      assert.matches("trailing characters after the prefix length", e.msg, 1, true)
      e = raises("EINVAL", addr.add, "veth0", "fe80::1%eth0/64", { netns = ns })
      assert.matches("zone index (%eth0) not allowed here", e.msg, 1, true)
      e = raises("EINVAL", addr.add, "veth0", "fe80::1%eth0", { netns = ns })
      assert.matches("zone index (%eth0) not allowed here", e.msg, 1, true)
      e = raises("EINVAL", addr.add, "veth0", "10.0.0.1 /24", { netns = ns })
      assert.matches("whitespace in the address", e.msg, 1, true)
      e = raises("EINVAL", addr.add, "veth0", "10.0.0.1/x", { netns = ns })
      assert.matches('the prefix length "x" is not a number 0..32', e.msg, 1, true)
      assert.same({}, ip_addrs(ns, "veth0"))
    end)

    it("raises EEXIST for an address already on the link, keeping it", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      addr.add("veth0", "10.123.0.1/24", { netns = ns })
      local e = raises("EEXIST", addr.add, "veth0", "10.123.0.1/24", { netns = ns })
      assert.matches('addr.add 10.123.0.1/24 dev veth0 in netns "' .. ns .. '"', tostring(e), 1, true)
      assert.equals(1, #ip_addrs(ns, "veth0"))
    end)

    it("raises ENODEV for a missing link and ENOENT for a missing netns", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local e = raises("ENODEV", addr.add, "nosuch0", "10.123.0.1/24", { netns = ns })
      assert.matches("nosuch0", e.msg, 1, true)
      e = raises("ENOENT", addr.add, "veth0", "10.123.0.1/24", { netns = H.name() })
      assert.matches("does not exist", e.msg, 1, true)
      assert.same({}, ip_addrs(ns, "veth0"))
    end)

    it("rejects options meant for the other family or with bad values (EINVAL)", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local cases = {
        { "10.123.0.1/24", { nodad = true } },
        { "fd00:123::1/64", { scope = "link" } },
        { "fd00:123::1/64", { broadcast = "10.0.0.255" } },
        { "fd00:123::1/64", { label = "veth0:x" } },
        { "10.123.0.1/24", { scope = "galaxy" } },
        { "10.123.0.1/24", { scope = 256 } },
        { "10.123.0.1/24", { peer = "fd00::2" } },
        { "10.123.0.1/24", { peer = "10.123.0.2/24" } },
        { "10.123.0.1/24", { broadcast = "10.123.0.256" } },
        { "10.123.0.1/24", { label = "other:x" } },
      }
      for _, c in ipairs(cases) do
        c[2].netns = ns
        raises("EINVAL", addr.add, "veth0", c[1], c[2])
      end
      local e = raises("EINVAL", addr.add, "veth0123456789ab", "10.123.0.1/24", { netns = ns })
      assert.matches("is 16 bytes (max 15)", e.msg, 1, true)
      raises("EINVAL", addr.add, "veth0", "10.123.0.1/24", { netns = "../x" })
      assert.same({}, ip_addrs(ns, "veth0"))
    end)

    it("rejects unknown option fields and wrong types", function()
      local ok, e = pcall(addr.add, "veth0", "10.123.0.1/24", { netsn = "x" })
      assert.is_false(ok)
      assert.matches("bad argument #3 to '.*' %(unknown field 'netsn'%)", e)
      assert.has_error(function() addr.add("veth0", "10.123.0.1/24", { nodad = "yes" }) end)
      assert.has_error(function() addr.add("veth0", "10.123.0.1/24", "red") end)
      assert.has_error(function() addr.add("veth0") end)
    end)
  end)

  describe("del", function()
    it("removes the address, as ip sees it", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      addr.add("veth0", "10.123.0.1/24", { netns = ns })
      addr.add("veth0", "fd00:123::1/64", { netns = ns, nodad = true })
      addr.del("veth0", "10.123.0.1/24", { netns = ns })
      addr.del("veth0", "fd00:123::1/64", { netns = ns })
      assert.same({}, ip_addrs(ns, "veth0"))
    end)

    it("deletes an address made by ip", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      assert(select(2, H.sh("ip -n " .. ns .. " addr add 10.123.0.1/24 dev veth0")))
      addr.del("veth0", "10.123.0.1/24", { netns = ns })
      assert.same({}, ip_addrs(ns, "veth0"))
    end)

    it("raises EADDRNOTAVAIL for an address that is not there, changing nothing", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      addr.add("veth0", "10.123.0.1/24", { netns = ns })
      local e = raises("EADDRNOTAVAIL", addr.del, "veth0", "10.123.0.2/24", { netns = ns })
      assert.equals("addr.del", e.op)
      raises("EADDRNOTAVAIL", addr.del, "veth0", "10.123.0.1/25", { netns = ns })
      raises("EADDRNOTAVAIL", addr.del, "veth0", "fd00:123::1/64", { netns = ns })
      assert.equals(1, #ip_addrs(ns, "veth0"))
    end)

    it("raises EINVAL, ENODEV and ENOENT for bad input", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      raises("EINVAL", addr.del, "veth0", "10.0.0.1/33", { netns = ns })
      raises("ENODEV", addr.del, "nosuch0", "10.0.0.1/24", { netns = ns })
      raises("ENOENT", addr.del, "veth0", "10.0.0.1/24", { netns = H.name() })
      assert.has_error(function() addr.del("veth0", "10.0.0.1/24", { netns = ns, nodad = true }) end)
    end)
  end)

  describe("list", function()
    it("lists what ip -j addr shows, filtered by ifname and family", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      addr.add("veth0", "10.123.0.1/24", { netns = ns })
      assert(select(2, H.sh("ip -n " .. ns .. " addr add 10.123.1.1/24 dev veth1")))
      assert(select(2, H.sh("ip -n " .. ns .. " addr add fd00:123::1/64 dev veth1 nodad")))
      local all = addr.list { netns = ns }
      local seen = {}
      for _, a in ipairs(all) do seen[a.ifname .. " " .. a.address .. "/" .. a.prefixlen] = a end
      assert.is_not_nil(seen["veth0 10.123.0.1/24"])
      assert.is_not_nil(seen["veth1 10.123.1.1/24"])
      assert.is_not_nil(seen["veth1 fd00:123::1/64"])
      assert.equals("inet6", seen["veth1 fd00:123::1/64"].family)
      assert.is_true(seen["veth1 fd00:123::1/64"].nodad)
      local n = 0
      for _, dev in ipairs { "lo", "veth0", "veth1" } do n = n + #ip_addrs(ns, dev) end
      assert.equals(n, #all)
      local v1 = addr.list { netns = ns, ifname = "veth1" }
      assert.equals(2, #v1)
      for _, a in ipairs(v1) do assert.equals("veth1", a.ifname) end
      local v6 = addr.list { netns = ns, family = "inet6" }
      assert.equals(1, #v6)
      assert.equals("fd00:123::1", v6[1].address)
      assert.equals(0, global6(ns, "veth0"))
    end)

    it("raises ENODEV for a missing ifname and rejects a bad family", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      raises("ENODEV", addr.list, { netns = ns, ifname = "nosuch0" })
      raises("ENOENT", addr.list, { netns = H.name() })
      assert.has_error(function() addr.list { netns = ns, family = "ipx" } end)
      assert.has_error(function() addr.list { netns = ns, dev = "veth0" } end)
    end)
  end)

  describe("settle", function()
    it("waits until no address on the links is tentative; false at its timeout", function()
      local ns = fixture(true)
      finally(function() nslab.netns.del(ns) end)
      local idx = H.ipj("-n " .. ns .. " link show dev veth0")[1].ifindex
      -- DAD on (the default): a new address stays tentative for about a second
      nslab.sysctl.set(ns, "net.ipv6.conf.veth0.accept_dad", "1")
      addr.add("veth0", "fd00:124::1/64", { netns = ns, wait = false })
      local t0 = nslab.core.monotime()
      assert.is_false(addr.settle { netns = ns, ifindexes = { idx }, timeout = 0.05 })
      assert.is_true(nslab.core.monotime() - t0 < 0.5)
      assert.is_true(ip_find(ns, "veth0", "fd00:124::1").tentative)
      assert.is_true(addr.settle { netns = ns, ifindexes = { idx }, timeout = 5 })
      assert.is_nil(ip_find(ns, "veth0", "fd00:124::1").tentative)
      -- another link's tentative address is not waited for
      nslab.sysctl.set(ns, "net.ipv6.conf.veth1.accept_dad", "1")
      addr.add("veth1", "fd00:124::2/64", { netns = ns, wait = false })
      t0 = nslab.core.monotime()
      assert.is_true(addr.settle { netns = ns, ifindexes = { idx } })
      assert.is_true(nslab.core.monotime() - t0 < 0.2)
    end)

    it("refuses bad arguments and a missing netns", function()
      raises("ENOENT", addr.settle, { netns = H.name(), ifindexes = { 1 } })
      for _, bad in ipairs { {}, { ifindexes = {} }, { ifindexes = { 0 } }, { ifindexes = { "x" } },
        { ifindexes = { 1 }, timeout = -1 }, { ifindexes = { 1 }, timeout = "1" },
        { ifindexes = { 1 }, colour = 1 } } do
        assert.has_error(function() addr.settle(bad) end)
      end
    end)
  end)
end)
