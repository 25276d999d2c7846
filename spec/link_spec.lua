-- nslab.link: veth pairs and other links, checked against `ip -j`.
local H = require "helper"
local nslab = require "nslab"
local link, netns = nslab.link, nslab.netns

local raises = H.raises

-- n fresh namespaces and the function that deletes them (for finally).
local function scratch(n)
  local names = {}
  for i = 1, n do
    names[i] = H.name()
    netns.add(names[i])
  end
  return names, function()
    for _, ns in ipairs(names) do pcall(netns.del, ns) end
  end
end

-- `ip -d -j link show` in ns (nil: ours), keyed by ifname.
local function ip_links(ns)
  local t = {}
  for _, l in ipairs(H.ipj((ns and ("-n '" .. ns .. "' ") or "") .. "-d link show")) do
    t[l.ifname] = l
  end
  return t
end

-- The ifnames of ip_links(ns), sorted and joined: a "nothing changed" view.
local function names_in(ns)
  local t = {}
  for n in pairs(ip_links(ns)) do t[#t + 1] = n end
  table.sort(t)
  return table.concat(t, " ")
end

-- Whether the kernel has a kind, with a pending() reason when it has not.
local function need_kind(kind)
  local ok, why = link.kind_available(kind)
  if not ok then pending(why) end
  return ok
end

describe("link #root", function()
  H.guard()

  describe("veth", function()
    it("makes both ends in their own namespaces with the mtu and MACs asked", function()
      local ns, done = scratch(2)
      finally(done)
      local before = names_in(nil)
      local v = link.veth {
        name = "a0", netns = ns[1], peer = "b0", peer_netns = ns[2], mtu = 1400,
        address = "02:00:00:00:aa:01", peer_address = "02:00:00:00:bb:01",
      }
      local a, b = ip_links(ns[1]).a0, ip_links(ns[2]).b0
      assert.is_not_nil(a)
      assert.is_not_nil(b)
      assert.is_nil(ip_links(ns[1]).b0)
      assert.is_nil(ip_links(ns[2]).a0)
      assert.equals(before, names_in(nil))
      assert.equals("veth", a.linkinfo.info_kind)
      assert.equals(1400, a.mtu)
      assert.equals(1400, b.mtu)
      assert.equals("02:00:00:00:aa:01", a.address)
      assert.equals("02:00:00:00:bb:01", b.address)
      -- the returned table describes both ends as ip sees them
      assert.equals("a0", v.name)
      assert.equals(a.ifindex, v.ifindex)
      assert.equals("b0", v.peer)
      assert.equals(b.ifindex, v.peer_ifindex)
      assert.equals(a.link_index, v.peer_ifindex)
      assert.equals(ns[2], v.peer_netns)
      assert.equals(ns[1], v.netns)
      assert.equals(a.link_netnsid, v.link_netnsid)
      assert.equals("veth", v.kind)
      assert.is_false(v.up)
    end)

    it("puts the peer in netns too when peer_netns is absent", function()
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "x0", peer = "x1", netns = ns[1] }
      local l = ip_links(ns[1])
      assert.is_not_nil(l.x0)
      assert.is_not_nil(l.x1)
    end)

    it("with up=true brings both ends up, operstate UP on each side", function()
      local ns, done = scratch(2)
      finally(done)
      local v = link.veth { name = "a0", netns = ns[1], peer = "b0", peer_netns = ns[2], up = true }
      assert.is_true(v.up)
      assert.is_truthy(H.wait_for(function()
        return ip_links(ns[1]).a0.operstate == "UP" and ip_links(ns[2]).b0.operstate == "UP"
      end))
      assert.equals("UP", link.get("a0", { netns = ns[1] }).operstate)
    end)

    it("with up=true brings both ends up when they share a namespace", function()
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "p0", peer = "p1", netns = ns[1], up = true }
      local l = ip_links(ns[1])
      assert.is_truthy(l.p0.flags[1] and table.concat(l.p0.flags, ","):find("UP", 1, true))
      assert.is_truthy(table.concat(l.p1.flags, ","):find(",UP", 1, true))
    end)

    it("raises EEXIST for a duplicate pair and changes nothing", function()
      local ns, done = scratch(2)
      finally(done)
      local opts = { name = "a0", netns = ns[1], peer = "b0", peer_netns = ns[2], mtu = 1400 }
      link.veth(opts)
      local b1, b2 = names_in(ns[1]), names_in(ns[2])
      local e = raises("EEXIST", link.veth, opts)
      assert.equals("link.veth", e.op)
      assert.matches('link.veth "a0" in netns "' .. ns[1] .. '"', tostring(e), 1, true)
      assert.equals(b1, names_in(ns[1]))
      assert.equals(b2, names_in(ns[2]))
    end)

    it("raises EEXIST when only the peer's name is taken, leaving no first end", function()
      local ns, done = scratch(2)
      finally(done)
      link.veth { name = "taken", peer = "other", netns = ns[2] }
      raises("EEXIST", link.veth, { name = "fresh", netns = ns[1], peer = "taken", peer_netns = ns[2] })
      assert.equals("lo", names_in(ns[1]))
    end)

    it("rejects a 16-byte ifname, for either end, without truncating (P5)", function()
      local ns, done = scratch(1)
      finally(done)
      local long = ("x"):rep(16)
      local e = raises("EINVAL", link.veth, { name = long, peer = "ok0", netns = ns[1] })
      assert.matches('"' .. long .. '" is 16 bytes (max 15)', tostring(e), 1, true)
      raises("EINVAL", link.veth, { name = "ok0", peer = long, netns = ns[1] })
      assert.equals("lo", names_in(ns[1]))
    end)

    it("rejects ifnames with '/', ':' or whitespace (P5)", function()
      local ns, done = scratch(1)
      finally(done)
      for _, bad in ipairs { "a/b", "a:b", "a b", "a\tb", "" } do
        raises("EINVAL", link.veth, { name = bad, peer = "ok0", netns = ns[1] })
        raises("EINVAL", link.veth, { name = "ok0", peer = bad, netns = ns[1] })
      end
      assert.equals("lo", names_in(ns[1]))
      local e = raises("EINVAL", link.veth, { name = "a\tb", peer = "ok0", netns = ns[1] })
      assert.matches("contains a tab", tostring(e), 1, true)
    end)

    it("rejects the reserved ifnames all and default with the reason", function()
      local ns, done = scratch(1)
      finally(done)
      for _, bad in ipairs { "all", "default" } do
        local e = raises("EINVAL", link.veth, { name = bad, peer = "ok0", netns = ns[1] })
        assert.matches("reserved", tostring(e), 1, true)
        raises("EINVAL", link.veth, { name = "ok0", peer = bad, netns = ns[1] })
      end
      assert.equals("lo", names_in(ns[1]))
    end)

    it("rejects mtu 10 and 70000 before touching anything", function()
      local ns, done = scratch(1)
      finally(done)
      for _, mtu in ipairs { 10, 67, 65536, 70000 } do
        local e = raises("EINVAL", link.veth, { name = "m0", peer = "m1", netns = ns[1], mtu = mtu })
        assert.matches(mtu < 68 and "mtu " .. mtu .. " is below 68" or "mtu " .. mtu .. " is out of range 68..65535",
          tostring(e), 1, true)
      end
      assert.equals("lo", names_in(ns[1]))
      link.veth { name = "m0", peer = "m1", netns = ns[1], mtu = 68 }
      link.veth { name = "n0", peer = "n1", netns = ns[1], mtu = 65535 }
      assert.equals(68, ip_links(ns[1]).m1.mtu)
      assert.equals(65535, ip_links(ns[1]).n1.mtu)
    end)

    it("gives each end one queue each way unless queues asks for more", function()
      local ns, done = scratch(2)
      finally(done)
      link.veth { name = "q0", netns = ns[1], peer = "q1", peer_netns = ns[2] }
      link.veth { name = "r0", netns = ns[1], peer = "r1", peer_netns = ns[2], queues = 3 }
      local a, b = ip_links(ns[1]), ip_links(ns[2])
      for _, l in ipairs { a.q0, b.q1 } do
        assert.equals(1, l.num_tx_queues)
        assert.equals(1, l.num_rx_queues)
      end
      for _, l in ipairs { a.r0, b.r1 } do
        assert.equals(3, l.num_tx_queues)
        assert.equals(3, l.num_rx_queues)
      end
    end)

    it("rejects queues outside 1..4096 before touching anything", function()
      local ns, done = scratch(1)
      finally(done)
      for _, n in ipairs { 0, -1, 4097 } do
        local e = raises("EINVAL", link.veth, { name = "m0", peer = "m1", netns = ns[1], queues = n })
        assert.matches("queues " .. n .. " is out of range 1..4096", tostring(e), 1, true)
      end
      assert.has_error(function() link.veth { name = "m0", peer = "m1", netns = ns[1], queues = 1.5 } end)
      assert.equals("lo", names_in(ns[1]))
    end)

    it("rejects bad MAC addresses (syntax, multicast, zero)", function()
      local ns, done = scratch(1)
      finally(done)
      for _, mac in ipairs { "02:00:00:00:00", "02-00-00-00-00-01", "zz:00:00:00:00:01",
                             "01:00:5e:00:00:01", "00:00:00:00:00:00", "02:00:00:00:00:001" } do
        raises("EINVAL", link.veth, { name = "m0", peer = "m1", netns = ns[1], address = mac })
        raises("EINVAL", link.veth, { name = "m0", peer = "m1", netns = ns[1], peer_address = mac })
      end
      assert.equals("lo", names_in(ns[1]))
    end)

    it("raises ENOENT for a missing netns and makes nothing in the other", function()
      local ns, done = scratch(1)
      finally(done)
      local missing = H.name()
      local e = raises("ENOENT", link.veth, { name = "a0", netns = ns[1], peer = "b0", peer_netns = missing })
      assert.matches("does not exist", tostring(e), 1, true)
      raises("ENOENT", link.veth, { name = "a0", netns = missing, peer = "b0", peer_netns = ns[1] })
      assert.equals("lo", names_in(ns[1]))
      assert.is_false(netns.exists(missing))
    end)

    it("rejects bad netns names (P4)", function()
      raises("EINVAL", link.veth, { name = "a0", peer = "b0", netns = "../x" })
      raises("EINVAL", link.veth, { name = "a0", peer = "b0", peer_netns = "a/b" })
    end)

    it("rejects unknown fields, missing names and wrong types", function()
      assert.error_matches(function() link.veth { name = "a0", peer = "b0", colour = "red" } end,
        "unknown field 'colour'", 1, true)
      assert.has_error(function() link.veth { peer = "b0" } end)
      assert.has_error(function() link.veth { name = "a0" } end)
      assert.has_error(function() link.veth { name = "a0", peer = "b0", mtu = "1500" } end)
      assert.has_error(function() link.veth { name = "a0", peer = "b0", up = 1 } end)
      assert.has_error(function() link.veth "a0" end)
    end)
  end)

  describe("add", function()
    it("makes a bridge with its options, up", function()
      local ns, done = scratch(1)
      finally(done)
      local br = link.add { name = "br0", kind = "bridge", netns = ns[1], stp = true,
                            mcast_snooping = false, mtu = 1400, up = true }
      local l = ip_links(ns[1]).br0
      assert.equals("bridge", l.linkinfo.info_kind)
      assert.equals(1, l.linkinfo.info_data.stp_state)
      assert.equals(0, l.linkinfo.info_data.mcast_snooping)
      assert.equals(1400, l.mtu)
      assert.equals(l.ifindex, br.ifindex)
      assert.equals("bridge", br.kind)
      assert.is_true(br.up)
    end)

    it("says which kernel option vlan_filtering needs when the bridge lacks it", function()
      local ns, done = scratch(1)
      finally(done)
      local ok, e = pcall(link.add, { name = "br0", kind = "bridge", netns = ns[1], vlan_filtering = true })
      if ok then
        assert.equals(1, ip_links(ns[1]).br0.linkinfo.info_data.vlan_filtering)
        return
      end
      assert.equals("EOPNOTSUPP", e.code, tostring(e))
      assert.matches("CONFIG_BRIDGE_VLAN_FILTERING", tostring(e), 1, true)
      assert.equals("lo", names_in(ns[1]))
    end)

    it("makes a vxlan with id, remote, local, dstport, dev and ttl", function()
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "u0", peer = "u1", netns = ns[1] }
      local vx = link.add { name = "vx0", kind = "vxlan", netns = ns[1], id = 4242,
                            remote = "10.123.0.2", ["local"] = "10.123.0.1", dev = "u0",
                            dstport = 4790, ttl = 9 }
      local l = ip_links(ns[1]).vx0
      local d = l.linkinfo.info_data
      assert.equals("vxlan", l.linkinfo.info_kind)
      assert.equals(4242, d.id)
      assert.equals("10.123.0.2", d.remote)
      assert.equals("10.123.0.1", d["local"])
      assert.equals(4790, d.port)
      assert.equals(9, d.ttl)
      assert.equals("u0", d.link)
      assert.equals(l.ifindex, vx.ifindex)
    end)

    it("makes an IPv6 vxlan on the IANA port 4789 by default", function()
      local ns, done = scratch(1)
      finally(done)
      link.add { name = "vx6", kind = "vxlan", netns = ns[1], id = 7, remote = "fd00:123::2" }
      local d = ip_links(ns[1]).vx6.linkinfo.info_data
      assert.equals("fd00:123::2", d.remote6)
      assert.equals(4789, d.port)
    end)

    it("rejects vxlan addresses that do not parse or are of the wrong cast", function()
      local ns, done = scratch(1)
      finally(done)
      raises("EINVAL", link.add, { name = "vx0", kind = "vxlan", netns = ns[1], id = 1, remote = "10.0.0.256" })
      raises("EINVAL", link.add, { name = "vx0", kind = "vxlan", netns = ns[1], id = 1, remote = "239.1.1.1" })
      raises("EINVAL", link.add, { name = "vx0", kind = "vxlan", netns = ns[1], id = 1, group = "10.0.0.1" })
      assert.has_error(function() link.add { name = "vx0", kind = "vxlan", netns = ns[1] } end)
      assert.has_error(function() link.add { name = "vx0", kind = "vxlan", netns = ns[1], id = 1 << 24 } end)
      assert.equals("lo", names_in(ns[1]))
    end)

    it("makes a macvlan on a parent, in the mode asked", function()
      local ns, done = scratch(1)
      finally(done)
      local parent = link.veth { name = "u0", peer = "u1", netns = ns[1] }
      local mv = link.add { name = "mv0", kind = "macvlan", netns = ns[1], link = "u0", mode = "bridge" }
      local l = ip_links(ns[1]).mv0
      assert.equals("macvlan", l.linkinfo.info_kind)
      assert.equals("bridge", l.linkinfo.info_data.mode)
      assert.equals("u0", l.link)
      assert.equals(parent.ifindex, mv.link_ifindex)
    end)

    it("raises ENODEV naming a missing parent, creating nothing", function()
      local ns, done = scratch(1)
      finally(done)
      local e = raises("ENODEV", link.add, { name = "mv0", kind = "macvlan", netns = ns[1], link = "nope" })
      assert.matches('link "nope"', tostring(e), 1, true)
      assert.equals("lo", names_in(ns[1]))
      assert.has_error(function() link.add { name = "mv0", kind = "macvlan", netns = ns[1] } end)
      assert.has_error(function()
        link.add { name = "mv0", kind = "macvlan", netns = ns[1], link = "lo", mode = "fast" }
      end)
    end)

    it("makes an ipvlan on a parent, in the mode asked", function()
      if not need_kind("ipvlan") then return end
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "u0", peer = "u1", netns = ns[1] }
      link.add { name = "iv0", kind = "ipvlan", netns = ns[1], link = "u0", mode = "l3" }
      assert.equals("l3", ip_links(ns[1]).iv0.linkinfo.info_data.mode)
    end)

    it("makes a vxlan on a multicast group over a dev", function()
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "u0", peer = "u1", netns = ns[1] }
      link.add { name = "vx0", kind = "vxlan", netns = ns[1], id = 9, group = "239.1.1.1", dev = "u0" }
      assert.equals("239.1.1.1", ip_links(ns[1]).vx0.linkinfo.info_data.group)
    end)

    it("makes an ifb", function()
      if not need_kind("ifb") then return end
      local ns, done = scratch(1)
      finally(done)
      link.add { name = "ifb0", kind = "ifb", netns = ns[1] }
      assert.equals("ifb", ip_links(ns[1]).ifb0.linkinfo.info_kind)
    end)

    it("makes a vlan on a parent", function()
      if not need_kind("vlan") then return end
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "u0", peer = "u1", netns = ns[1] }
      link.add { name = "u0.5", kind = "vlan", netns = ns[1], link = "u0", id = 5 }
      assert.equals(5, ip_links(ns[1])["u0.5"].linkinfo.info_data.id)
    end)

    it("raises EOPNOTSUPP naming CONFIG_DUMMY when the kernel has no dummy", function()
      if link.kind_available("dummy") then
        pending("this kernel has dummy links: nothing to refuse")
        return
      end
      local ns, done = scratch(1)
      finally(done)
      local e = raises("EOPNOTSUPP", link.add, { name = "d0", kind = "dummy", netns = ns[1] })
      assert.matches('no link kind "dummy"', tostring(e), 1, true)
      assert.matches("CONFIG_DUMMY", tostring(e), 1, true)
      assert.equals("lo", names_in(ns[1]))
    end)

    it("raises EOPNOTSUPP naming CONFIG_VLAN_8021Q when the kernel has no 8021q", function()
      if link.kind_available("vlan") then
        pending("this kernel has vlan links: nothing to refuse")
        return
      end
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "u0", peer = "u1", netns = ns[1] }
      local before = names_in(ns[1])
      local e = raises("EOPNOTSUPP", link.add, { name = "u0.5", kind = "vlan", netns = ns[1], link = "u0", id = 5 })
      assert.matches("CONFIG_VLAN_8021Q", tostring(e), 1, true)
      assert.equals(before, names_in(ns[1]))
    end)

    it("raises EEXIST for a name already taken, changing nothing", function()
      local ns, done = scratch(1)
      finally(done)
      link.add { name = "br0", kind = "bridge", netns = ns[1] }
      local before = names_in(ns[1])
      raises("EEXIST", link.add, { name = "br0", kind = "bridge", netns = ns[1] })
      raises("EEXIST", link.add, { name = "lo", kind = "bridge", netns = ns[1] })
      assert.equals(before, names_in(ns[1]))
    end)

    it("rejects fields the kind does not take, and bad names or mtu", function()
      local ns, done = scratch(1)
      finally(done)
      assert.error_matches(function() link.add { name = "br0", kind = "bridge", netns = ns[1], id = 5 } end,
        "unknown field 'id'", 1, true)
      assert.has_error(function() link.add { name = "br0", netns = ns[1] } end)
      assert.has_error(function() link.add { name = "br0", kind = "a b", netns = ns[1] } end)
      raises("EINVAL", link.add, { name = ("b"):rep(16), kind = "bridge", netns = ns[1] })
      raises("EINVAL", link.add, { name = "br0", kind = "bridge", netns = ns[1], mtu = 10 })
      raises("EINVAL", link.add, { name = "br0", kind = "bridge", netns = ns[1], mtu = 70000 })
      raises("ENOENT", link.add, { name = "br0", kind = "bridge", netns = H.name() })
      assert.equals("lo", names_in(ns[1]))
    end)

    it("passes kind=veth on to link.veth", function()
      local ns, done = scratch(1)
      finally(done)
      local ok, e = pcall(link.add, { name = "k9", netns = ns[1] })
      assert.is_false(ok)
      -- names the function the user called, not a library line
      assert.equals("bad argument #1 to 'link.add' (field 'kind' is required)", e)
      local v = link.add { kind = "veth", name = "k0", peer = "k1", netns = ns[1] }
      assert.equals("k1", v.peer)
      assert.is_not_nil(ip_links(ns[1]).k1)
    end)
  end)

  describe("tun and tap", function()
    -- /dev/net/tun is root's (0600): rootless nslab cannot open it, and
    -- kind_available says so.
    local function tun_or_pending()
      local ok, why = link.kind_available("tun")
      if not ok then
        assert.matches("/dev/net/tun", why, 1, true)
        pending(why)
      end
      return ok
    end

    it("creates them through /dev/net/tun in the netns, set up as asked", function()
      if not tun_or_pending() then return end
      assert.is_true(link.kind_available("tap"))
      local ns, done = scratch(1)
      finally(done)
      local t = link.add { kind = "tun", name = "tun0", netns = ns[1], mtu = 1400, up = true }
      assert.equals("tun0", t.name)
      assert.equals(1400, t.mtu)
      assert.is_true(t.up)
      local p = link.add { kind = "tap", name = "tap0", netns = ns[1], address = "02:00:00:00:00:01" }
      assert.equals("02:00:00:00:00:01", p.address)
      local l = ip_links(ns[1])
      assert.equals("tun", l.tun0.linkinfo.info_kind)
      assert.equals("tun", l.tun0.linkinfo.info_data.type)
      assert.equals("tap", l.tap0.linkinfo.info_data.type)
      assert.is_true(l.tap0.linkinfo.info_data.persist)
      assert.is_nil(ip_links().tun0) -- nothing in nslab's own netns
      link.del("tun0", { netns = ns[1] })
      assert.equals("lo tap0", names_in(ns[1]))
    end)

    it("refuses a taken name and leaves nothing after a refusal", function()
      if not tun_or_pending() then return end
      local ns, done = scratch(1)
      finally(done)
      link.add { kind = "tap", name = "tap0", netns = ns[1] }
      raises("EEXIST", link.add, { kind = "tap", name = "tap0", netns = ns[1] })
      raises("EEXIST", link.add, { kind = "tun", name = "lo", netns = ns[1] })
      raises("EINVAL", link.add, { kind = "tun", name = "t1", netns = ns[1], mtu = 70000 })
      raises("ENOENT", link.add, { kind = "tun", name = "t1", netns = H.name() })
      assert.equals("lo tap0", names_in(ns[1]))
    end)
  end)

  describe("kind_available", function()
    it("is true for kinds this kernel has, leaving nothing anywhere", function()
      local before = netns.list()
      for _, k in ipairs { "veth", "bridge", "vxlan", "macvlan" } do
        local ok, why = link.kind_available(k)
        assert.is_true(ok, k)
        assert.is_nil(why)
      end
      assert.same(before, netns.list())
    end)

    it("is false with the kernel option for a kind it lacks", function()
      if link.kind_available("dummy") then
        pending("this kernel has dummy links")
        return
      end
      local ok, why = link.kind_available("dummy")
      assert.is_false(ok)
      assert.matches("CONFIG_DUMMY", why, 1, true)
      local ok2, why2 = link.kind_available("nosuchkind")
      assert.is_false(ok2)
      assert.matches('no link kind "nosuchkind"', why2, 1, true)
    end)

    it("rejects a malformed kind name", function()
      assert.has_error(function() link.kind_available("a/b") end)
      assert.has_error(function() link.kind_available("") end)
    end)
  end)

  describe("set", function()
    it("sets up, mtu and MAC in one call", function()
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "s0", peer = "s1", netns = ns[1] }
      link.set("s0", { up = true, mtu = 9000, address = "02:12:34:56:78:9a" }, { netns = ns[1] })
      local l = ip_links(ns[1]).s0
      assert.equals(9000, l.mtu)
      assert.equals("02:12:34:56:78:9a", l.address)
      assert.is_truthy(table.concat(l.flags, ","):find(",UP", 1, true))
      link.set("s0", { up = false }, { netns = ns[1] })
      assert.is_falsy(table.concat(ip_links(ns[1]).s0.flags, ","):find(",UP", 1, true))
    end)

    it("enslaves to a bridge with master and frees with nomaster", function()
      local ns, done = scratch(1)
      finally(done)
      link.add { name = "br0", kind = "bridge", netns = ns[1] }
      link.veth { name = "s0", peer = "s1", netns = ns[1] }
      link.set("s0", { master = "br0" }, { netns = ns[1] })
      assert.equals("br0", ip_links(ns[1]).s0.master)
      local g = link.get("s0", { netns = ns[1] })
      assert.equals("br0", g.master)
      assert.equals("bridge", g.port_kind)
      link.set("s0", { nomaster = true }, { netns = ns[1] })
      assert.is_nil(ip_links(ns[1]).s0.master)
      assert.is_nil(link.get("s0", { netns = ns[1] }).master)
    end)

    it("renames a link", function()
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "s0", peer = "s1", netns = ns[1] }
      link.set("s0", { name = "eth0" }, { netns = ns[1] })
      local l = ip_links(ns[1])
      assert.is_nil(l.s0)
      assert.is_not_nil(l.eth0)
    end)

    it("moves, renames and brings up in one call (netns_to)", function()
      local ns, done = scratch(2)
      finally(done)
      link.veth { name = "s0", peer = "s1", netns = ns[1] }
      link.set("s1", { netns_to = ns[2], name = "eth0", up = true }, { netns = ns[1] })
      assert.is_nil(ip_links(ns[1]).s1)
      local l = ip_links(ns[2]).eth0
      assert.is_not_nil(l)
      assert.is_truthy(table.concat(l.flags, ","):find(",UP", 1, true))
      assert.equals(ip_links(ns[1]).s0.ifindex, l.link_index)
    end)

    it("names the target netns in a move's errors", function()
      local ns, done = scratch(2)
      finally(done)
      link.veth { name = "s0", peer = "s1", netns = ns[1] }
      link.veth { name = "s1", peer = "x1", netns = ns[2] }
      local e = raises("EEXIST", link.set, "s1", { netns_to = ns[2] }, { netns = ns[1] })
      assert.matches('(target netns "' .. ns[2] .. '": name "s1")', tostring(e), 1, true)
      assert.equals(ns[1], e.netns)
      local nope = H.name()
      e = raises("ENOENT", link.set, "s1", { netns_to = nope }, { netns = ns[1] })
      assert.equals(ns[1], e.netns) -- the link is in its own netns...
      assert.matches('link.set "s1" in netns "' .. ns[1] .. '": No such file or directory: target netns "' .. nope ..
        '" does not exist (ENOENT)', tostring(e), 1, true) -- ...the target is missing
      assert.is_not_nil(ip_links(ns[1]).s1)
    end)

    it("raises ENODEV for a missing link or master, changing nothing", function()
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "s0", peer = "s1", netns = ns[1] }
      local e = raises("ENODEV", link.set, "nope", { up = true }, { netns = ns[1] })
      assert.matches('link.set "nope" in netns "' .. ns[1] .. '": No such device: no such link', tostring(e), 1, true)
      e = raises("ENODEV", link.set, "nope", { name = "nope2" }, { netns = ns[1] })
      assert.matches("no such link", tostring(e), 1, true)
      e = raises("ENODEV", link.set, "s0", { master = "nobr", mtu = 1400 }, { netns = ns[1] })
      assert.matches('master "nobr"', tostring(e), 1, true)
      assert.equals(1500, ip_links(ns[1]).s0.mtu)
    end)

    it("rejects a bad new name, mtu or target netns before changing anything", function()
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "s0", peer = "s1", netns = ns[1] }
      raises("EINVAL", link.set, "s0", { name = ("n"):rep(16), mtu = 1400 }, { netns = ns[1] })
      raises("EINVAL", link.set, "s0", { name = "a:b" }, { netns = ns[1] })
      raises("EINVAL", link.set, "s0", { mtu = 10 }, { netns = ns[1] })
      local e = raises("EINVAL", link.set, "s0", { mtu = 70000 }, { netns = ns[1] })
      assert.matches("maximum", tostring(e), 1, true) -- the kernel's extack names it
      raises("EINVAL", link.set, "s0", { address = "nope" }, { netns = ns[1] })
      raises("EINVAL", link.set, "s0", { netns_to = "../x" }, { netns = ns[1] })
      raises("ENOENT", link.set, "s0", { netns_to = H.name(), mtu = 1400 }, { netns = ns[1] })
      raises("EEXIST", link.set, "s0", { name = "s1" }, { netns = ns[1] })
      assert.equals(1500, ip_links(ns[1]).s0.mtu)
      assert.equals("lo s0 s1", names_in(ns[1]))
      assert.has_error(function() link.set("s0", { colour = 1 }, { netns = ns[1] }) end)
      assert.has_error(function() link.set("s0", { master = "br0", nomaster = true }, { netns = ns[1] }) end)
      assert.has_error(function() link.set("s0", { up = true }, { netns = ns[1], x = 1 }) end)
    end)
  end)

  describe("del", function()
    it("deletes both ends of a veth", function()
      local ns, done = scratch(2)
      finally(done)
      link.veth { name = "d0", netns = ns[1], peer = "d1", peer_netns = ns[2] }
      link.del("d0", { netns = ns[1] })
      assert.equals("lo", names_in(ns[1]))
      assert.equals("lo", names_in(ns[2]))
    end)

    it("raises ENODEV for a link that does not exist, changing nothing", function()
      local ns, done = scratch(1)
      finally(done)
      link.veth { name = "d0", peer = "d1", netns = ns[1] }
      local e = raises("ENODEV", link.del, "nope", { netns = ns[1] })
      assert.matches('link.del "nope" in netns "' .. ns[1] .. '"', tostring(e), 1, true)
      assert.equals("d0 d1 lo", names_in(ns[1]))
      raises("ENOENT", link.del, "d0", { netns = H.name() })
      raises("EINVAL", link.del, "a/b", { netns = ns[1] })
    end)
  end)

  describe("del{wait = false}", function()
    -- nslab's children now (a background deletion is one until settled)
    local function children()
      local f = io.open("/proc/self/task/" .. nslab.core.getpid() .. "/children")
      local t = f and f:read("a") or ""
      if f then f:close() end
      return t
    end

    it("frees both names at once and deletes the pair in the background; settle waits for it", function()
      local ns, done = scratch(2)
      finally(done)
      link.veth { name = "w0", netns = ns[1], peer = "w1", peer_netns = ns[2], up = true }
      local before = children()
      link.del("w0", { netns = ns[1], wait = false, peer_netns = ns[2] })
      -- the same names again, at once (the old pair renamed nsx..., down)
      link.veth { name = "w0", netns = ns[1], peer = "w1", peer_netns = ns[2] }
      local n, failed = link.settle()
      assert.equals(1, n)
      assert.equals(0, failed)
      assert.equals("lo w0", names_in(ns[1]))
      assert.equals("lo w1", names_in(ns[2]))
      assert.equals(before, children())
      assert.same({ 0, 0 }, { link.settle() })
    end)

    it("renames a peer in the same netns too; a peer elsewhere not given keeps its name until the end", function()
      local ns, done = scratch(2)
      finally(done)
      link.veth { name = "s0", peer = "s1", netns = ns[1] }
      link.del("s0", { netns = ns[1], wait = false })
      link.veth { name = "s0", peer = "s1", netns = ns[1] }
      link.veth { name = "o0", netns = ns[1], peer = "o1", peer_netns = ns[2] }
      link.del("o0", { netns = ns[1], wait = false })
      assert.equals(2, link.settle())
      assert.equals("lo s0 s1", names_in(ns[1]))
      assert.equals("lo", names_in(ns[2]))
    end)

    it("deletes a link of another kind alone (a bridge; never a macvlan's parent)", function()
      local ns, done = scratch(1)
      finally(done)
      link.add { kind = "bridge", name = "br9", netns = ns[1] }
      link.veth { name = "p0", peer = "p1", netns = ns[1] }
      link.set("p0", { master = "br9" }, { netns = ns[1] })
      link.del("br9", { netns = ns[1], wait = false })
      link.add { kind = "bridge", name = "br9", netns = ns[1] }
      assert.equals(1, link.settle())
      assert.equals("br9 lo p0 p1", names_in(ns[1]))
      assert.is_nil(ip_links(ns[1]).p0.master)
    end)

    it("refuses lo as the waiting del does, renaming nothing", function()
      local ns, done = scratch(1)
      finally(done)
      raises("EOPNOTSUPP", link.del, "lo", { netns = ns[1] })
      raises("EOPNOTSUPP", link.del, "lo", { netns = ns[1], wait = false })
      assert.equals("lo", names_in(ns[1]))
      assert.same({ 0, 0 }, { link.settle() })
    end)

    it("counts in settle the deletions that ended before it was called", function()
      local ns, done = scratch(2)
      finally(done)
      for i = 1, 3 do
        link.veth { name = "c" .. i, netns = ns[1], peer = "d" .. i, peer_netns = ns[2] }
        link.del("c" .. i, { netns = ns[1], wait = false, peer_netns = ns[2] })
      end
      nslab.core.sleep(0.3) -- (each done by now, reaped at the next del)
      link.veth { name = "c9", netns = ns[1], peer = "d9", peer_netns = ns[2] }
      link.del("c9", { netns = ns[1], wait = false, peer_netns = ns[2] })
      assert.same({ 4, 0 }, { link.settle() })
      assert.equals("lo", names_in(ns[1]))
    end)

    it("refuses a peer_netns where the peer's ifindex belongs to another veth, waiting or not", function()
      local ns, done = scratch(4)
      finally(done)
      -- every end has ifindex 2 in its own netns
      link.veth { name = "v1", netns = ns[1], peer = "v2", peer_netns = ns[2] }
      link.veth { name = "w1", netns = ns[3], peer = "w2", peer_netns = ns[4] }
      for _, wait in ipairs { false, true } do
        local e = raises("EINVAL", link.del, "v1", { netns = ns[1], wait = wait, peer_netns = ns[3] })
        assert.matches("is not in netns \"" .. ns[3] .. "\"", tostring(e), 1, true)
        raises("EINVAL", link.del, "v1", { netns = ns[1], wait = wait, peer_netns = ns[1] })
      end
      assert.equals("lo w1", names_in(ns[3]))
      assert.equals("lo v1", names_in(ns[1]))
      assert.same({ 0, 0 }, { link.settle() })
    end)

    it("checks peer_netns in the waiting del too, deleting nothing when it is wrong", function()
      local ns, done = scratch(2)
      finally(done)
      link.veth { name = "v1", netns = ns[1], peer = "v2", peer_netns = ns[2] }
      local missing = H.name()
      local e = raises("ENOENT", link.del, "v1", { netns = ns[1], peer_netns = missing })
      assert.matches(string.format('link.del "v1" in netns "%s": ', ns[1]), tostring(e), 1, true)
      assert.matches(string.format('peer_netns "%s": no such netns', missing), tostring(e), 1, true)
      assert.equals("lo v1", names_in(ns[1]))
      -- both ends in one netns: peer_netns must be that one
      link.veth { name = "s1", netns = ns[1], peer = "s2" }
      for _, wait in ipairs { true, false } do
        e = raises("EINVAL", link.del, "s1", { netns = ns[1], peer_netns = ns[2], wait = wait })
        assert.matches("is not in netns \"" .. ns[2] .. "\"", tostring(e), 1, true)
      end
      assert.equals("lo s1 s2 v1", names_in(ns[1]))
      link.del("s1", { netns = ns[1], peer_netns = ns[1] })
      -- no veth: no peer to check
      link.add { name = "br7", kind = "bridge", netns = ns[1] }
      e = raises("EINVAL", link.del, "br7", { netns = ns[1], peer_netns = ns[2] })
      assert.matches("peer_netns is for a veth's peer", tostring(e), 1, true)
      link.del("br7", { netns = ns[1] })
      link.del("v1", { netns = ns[1], peer_netns = ns[2] })
      assert.equals("lo", names_in(ns[1]))
      assert.equals("lo", names_in(ns[2]))
      raises("EOPNOTSUPP", link.del, "lo", { netns = ns[1], peer_netns = ns[2] })
      assert.same({ 0, 0 }, { link.settle() })
    end)

    it("raises as the waiting del does, changing nothing and leaving no child", function()
      local ns, done = scratch(3)
      finally(done)
      link.veth { name = "d0", peer = "d1", netns = ns[1] }
      local before = children()
      local e = raises("ENODEV", link.del, "nope", { netns = ns[1], wait = false })
      assert.matches('link.del "nope" in netns "' .. ns[1] .. '"', tostring(e), 1, true)
      raises("ENOENT", link.del, "d0", { netns = ns[1], wait = false, peer_netns = H.name() })
      assert.equals("d0 d1 lo", names_in(ns[1]))
      -- peer_netns naming a netns where that ifindex is someone else
      local other = { ns[2], ns[3] }
      link.veth { name = "x0", netns = other[1], peer = "x1", peer_netns = other[2] }
      link.veth { name = "y0", peer = "y1", netns = ns[1] } -- (x1's ifindex in ns[1] may be one of these)
      e = raises("EINVAL", link.del, "x0", { netns = other[1], wait = false, peer_netns = ns[1] })
      assert.matches("is not in netns", tostring(e), 1, true)
      assert.equals("d0 d1 lo y0 y1", names_in(ns[1]))
      assert.equals("lo x0", names_in(other[1]))
      assert.has_error(function() link.del("d0", { netns = ns[1], wait = "no" }) end)
      assert.has_error(function() link.del("d0", { netns = ns[1], later = true }) end)
      assert.equals("d0 d1 lo y0 y1", names_in(ns[1]))
      assert.equals(before, children())
      assert.same({ 0, 0 }, { link.settle() })
    end)
  end)

  describe("get", function()
    it("lets set give lo an mtu above the Ethernet maximum, as the kernel allows", function()
      local ns, done = scratch(1)
      finally(done)
      link.set("lo", { mtu = 65536 }, { netns = ns[1] })
      assert.equals(65536, ip_links(ns[1]).lo.mtu)
      link.set("lo", { mtu = 100000 }, { netns = ns[1] })
      assert.equals(100000, ip_links(ns[1]).lo.mtu)
    end)

    it("takes its options table as optional (nslab's own netns)", function()
      local lo = nslab.link.get("lo")
      assert.equals("lo", lo.name)
      assert.equals(1, lo.ifindex)
    end)

    it("shows lo down in a new netns (P1)", function()
      local ns, done = scratch(1)
      finally(done)
      local lo = link.get("lo", { netns = ns[1] })
      assert.is_false(lo.up)
      assert.equals("DOWN", lo.operstate)
      assert.equals(1, lo.ifindex)
      assert.is_nil(lo.kind)
      assert.same({ "LOOPBACK" }, lo.flags)
    end)

    it("agrees with ip -j on every field", function()
      local ns, done = scratch(2)
      finally(done)
      link.add { name = "br0", kind = "bridge", netns = ns[1] }
      link.veth { name = "g0", netns = ns[1], peer = "g1", peer_netns = ns[2], mtu = 1300, up = true }
      link.set("g0", { master = "br0" }, { netns = ns[1] })
      local l = ip_links(ns[1]).g0
      local g = link.get("g0", { netns = ns[1] })
      assert.equals(l.ifindex, g.ifindex)
      assert.equals("g0", g.name)
      assert.equals("veth", g.kind)
      assert.equals(l.mtu, g.mtu)
      assert.equals(l.min_mtu, g.min_mtu)
      assert.equals(l.max_mtu, g.max_mtu)
      assert.equals(l.address, g.address)
      assert.equals(l.broadcast, g.broadcast)
      assert.equals(l.master, g.master)
      assert.equals(l.link_index, g.peer_ifindex)
      assert.equals(l.link_netnsid, g.link_netnsid)
      assert.equals(ns[1], g.netns)
      assert.same(l.flags, g.flags)
      assert.equals(l.operstate, g.operstate)
      -- by ifindex too
      assert.equals("g0", link.get(l.ifindex, { netns = ns[1] }).name)
    end)

    it("raises ENODEV for a link that does not exist", function()
      local ns, done = scratch(1)
      finally(done)
      local e = raises("ENODEV", link.get, "nope", { netns = ns[1] })
      assert.matches('link.get "nope"', tostring(e), 1, true)
      raises("ENODEV", link.get, 999, { netns = ns[1] })
      raises("ENOENT", link.get, "lo", { netns = H.name() })
      raises("EINVAL", link.get, ("x"):rep(16), { netns = ns[1] })
    end)
  end)

  describe("list", function()
    it("lists what ip lists, in ifindex order, with master names", function()
      local ns, done = scratch(1)
      finally(done)
      link.add { name = "br0", kind = "bridge", netns = ns[1] }
      link.veth { name = "l0", peer = "l1", netns = ns[1] }
      link.set("l0", { master = "br0" }, { netns = ns[1] })
      local ip = H.ipj("-n " .. ns[1] .. " link show")
      local ls = link.list { netns = ns[1] }
      assert.equals(#ip, #ls)
      for i, l in ipairs(ip) do
        assert.equals(l.ifname, ls[i].name)
        assert.equals(l.ifindex, ls[i].ifindex)
        assert.equals(l.master, ls[i].master)
        assert.equals(l.operstate, ls[i].operstate)
      end
      for i = 2, #ls do assert.is_true(ls[i - 1].ifindex < ls[i].ifindex) end
    end)

    it("raises ENOENT for a missing netns", function()
      raises("ENOENT", link.list, { netns = H.name() })
      assert.has_error(function() link.list { netns = "x", y = 1 } end)
    end)
  end)
end)
