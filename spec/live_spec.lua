-- Live labs (issue 18): a running lab changed in place (lab:remove,
-- lab:unlink, lab:transaction), read as data (lab:spec), saved as a
-- script (lab:export) and reconciled to a spec (lab:diff, lab:apply).
local H = require "helper"
local nslab = require "nslab"
local record = require "nslab.record"
local declare = require "nslab.declare"
local fault = require "nslab.fault"

local q, raises = H.q, H.raises
local text = declare.lua_text

-- What `ip -j` says of netns ns (links, addresses, routes), ifindexes and
-- what names them left out, as comparable text.
-- (a bridge port's link-local address is tentative for its first second:
-- DAD runs there, a matter of when the state is read.)
local SKIP = { ifindex = true, link_index = true, link_netnsid = true, index = true, tentative = true }
local function strip(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do
    if not SKIP[k] then t[k] = strip(x) end
  end
  return t
end
local function by_name(list)
  local t = {}
  for _, x in ipairs(list) do t[#t + 1] = text(strip(x)) end
  table.sort(t)
  return t
end
local function ip_state(ns)
  return text {
    link = by_name(H.ipj("-n " .. q(ns) .. " link show")),
    addr = by_name(H.ipj("-n " .. q(ns) .. " addr show")),
    route = by_name(H.ipj("-n " .. q(ns) .. " route show")),
    route6 = by_name(H.ipj("-n " .. q(ns) .. " -6 route show")),
  }
end
local function lab_state(lab)
  local t = {}
  for _, n in ipairs(lab.nodes) do t[n.name] = ip_state(n.netns) end
  return t
end

local function ifindex(ns, ifname)
  return H.ipj("-n " .. q(ns) .. " link show dev " .. ifname)[1].ifindex
end
local function has_link(ns, ifname)
  local _, ok = H.sh("ip -n " .. q(ns) .. " link show dev " .. ifname)
  return ok
end

-- A small lab: router r, hosts a and b, bridge s with host c on it.
local function small(lname)
  local lab = nslab.lab(lname)
  local p = H.name("lv")
  local r, a, b = lab:router(p .. "r"), lab:host(p .. "a"), lab:host(p .. "b")
  local s, c = lab:bridge(p .. "s"), lab:host(p .. "c")
  lab:link(r, a, { addrs = { "10.31.1.1/24", "10.31.1.2/24" } })
  lab:link(r, b, { addrs = { { "10.31.2.1/24", "fd31:2::1/64" }, { "10.31.2.2/24", "fd31:2::2/64" } } })
  lab:link(r, s, { addrs = { "10.31.3.1/24" } })
  lab:link(c, s, { addrs = { "10.31.3.3/24" } })
  a:route("default", "10.31.1.1")
  b:route { dst = "10.31.0.0/16", via = "10.31.2.1" }
  r:route { dst = "10.99.0.0/16", via = "10.31.2.2" }
  return lab, { r = r, a = a, b = b, s = s, c = c, p = p }
end

local function records_netns(lname)
  local rec = assert(record.load(lname))
  local t = {}
  for _, n in ipairs(record.contents(rec).netns) do t[n] = true end
  return t
end

describe("live labs #root", function()
  H.guard()

  describe("lab:remove", function()
    it("removes a node, its links, its processes and its record line; the rest keeps its ifindexes", function()
      local lname = H.name("lvl")
      local lab, n = small(lname)
      finally(function() lab:close() end)
      local pa = n.a:spawn { "sleep", "60" }
      local pb = n.b:spawn { "sleep", "60" }
      local daemon = H.in_ns(n.a.netns, "sh -c 'sleep 60 >/dev/null 2>&1 &'")
      assert.is_string(daemon)
      local keep = { ifindex(n.r.netns, "eth1"), ifindex(n.b.netns, "eth0"), ifindex(n.r.netns, "eth2") }
      assert.is_true(records_netns(lname)[n.a.netns])
      lab:remove(n.a.name)
      assert.is_false(nslab.netns.exists(n.a.netns))
      assert.is_false(has_link(n.r.netns, "eth0"))
      assert.is_false(pa:running())
      assert.is_true(pb:running())
      assert.same(keep, { ifindex(n.r.netns, "eth1"), ifindex(n.b.netns, "eth0"), ifindex(n.r.netns, "eth2") })
      assert.is_nil(records_netns(lname)[n.a.netns])
      assert.is_true(records_netns(lname)[n.b.netns])
      assert.is_nil(lab:node(n.a.name))
      assert.equals(4, #lab:spec().nodes)
      assert.equals(3, #lab:spec().links)
      assert.matches("3 links", tostring(lab), 1, true)
      -- its name is free again, and its ethN on the router too
      local a2 = lab:host(n.a.name)
      lab:link(n.r, a2, { ifnames = { "eth0", "eth0" }, addrs = { "10.31.1.1/24", "10.31.1.2/24" } })
      assert.is_true(a2:ping "10.31.1.1")
      pb:kill()
      pb:wait()
    end)

    it("refuses what is no node of the lab", function()
      local lab <close> = nslab.lab(H.name("lvl"))
      assert.has_error(function() lab:remove "nope" end)
      assert.has_error(function() lab:remove(42) end)
    end)
  end)

  describe("lab:unlink", function()
    it("removes one link by its nodes or ifnames, forgetting its addresses and routes", function()
      local lab <close>, n = small(H.name("lvl"))
      local keep = ifindex(n.r.netns, "eth1")
      lab:unlink(n.r, n.a.name)
      assert.is_false(has_link(n.r.netns, "eth0"))
      assert.is_false(has_link(n.a.netns, "eth0"))
      assert.equals(keep, ifindex(n.r.netns, "eth1"))
      local spec = lab:spec()
      assert.equals(3, #spec.links)
      for _, node in ipairs(spec.nodes) do
        if node.name == n.a.name then assert.is_nil(node.routes) end
      end
      assert.is_nil(n.a:first_addr())
      lab:unlink(n.r.name .. ":eth1", n.b.name .. ":eth0")
      assert.is_false(has_link(n.b.netns, "eth0"))
      local e = raises("ENOENT", lab.unlink, lab, n.r, n.a)
      assert.matches("has no link", tostring(e), 1, true)
      -- the bridge's segment forgets the addresses: c's may be used again
      lab:unlink(n.c, n.s)
      lab:link(n.b, n.s, { addrs = { "10.31.3.3/24" } })
    end)
  end)

  describe("lab:export", function()
    it("writes a script that builds the same lab in a fresh process", function()
      local lname = H.name("lvl")
      local lab, n = small(lname)
      local ok, err = pcall(function()
        lab:link(n.a, n.b, { addrs = { "10.31.9.1/30", "10.31.9.2/30" }, mtu = 9000, rate = "20mbit",
          mac = { "02:00:00:31:09:01", "02:00:00:31:09:02" } })
        lab:link_state(n.a, n.b, "down")
        n.r:sysctl("net.ipv4.conf.all.rp_filter", 0)
        n.c:addr("lo", "10.31.255.3/32")
        n.c:route("default", "10.31.3.1")
      end)
      local before = ok and lab_state(lab)
      local script = lab:export()
      lab:close()
      assert(ok, tostring(err))
      assert.matches("from_spec", script, 1, true)
      local path = H.tmpfile(script)
      finally(function()
        os.remove(path)
        H.nslab("--clean " .. q(lname))
      end)
      local out, ran = H.nslab("--keep " .. q(path))
      assert(ran, out)
      for name, st in pairs(before) do assert.equals(st, ip_state(name), name) end
      assert.equals("0\n", H.in_ns(n.r.netns, "cat /proc/sys/net/ipv4/conf/all/rp_filter"))
      local _, cleaned = H.nslab("--clean " .. q(lname))
      assert.is_true(cleaned)
      assert.is_false(nslab.netns.exists(n.r.netns))
    end)
  end)

  describe("lab:diff", function()
    it("prints each kind of change, and nothing for the lab's own spec", function()
      local lab <close>, n = small(H.name("lvl"))
      local p = n.p
      local same = lab:diff(lab:spec(), { quiet = true })
      assert.equals("No changes: the lab matches the spec.\n", same:text())
      local s = lab:spec()
      s.nodes[#s.nodes + 1] = { name = p .. "d" }
      s.links[#s.links + 1] = { p .. "r", p .. "d", addrs = { "10.31.4.1/24", "10.31.4.2/24" } }
      for i, node in ipairs(s.nodes) do
        if node.name == p .. "c" then table.remove(s.nodes, i) break end
      end
      table.remove(s.links, 4) -- c -- s
      for _, node in ipairs(s.nodes) do
        if node.name == p .. "a" then node.kind = "router" end
        if node.name == p .. "r" then
          node.sysctls = { ["net.ipv4.conf.all.rp_filter"] = "0" }
          node.routes = nil
        end
        if node.name == p .. "b" then node.routes[1].via = "10.31.2.9" end
      end
      local l2 = s.links[2]
      l2.mtu, l2.mac, l2.state, l2.a_to_b = 9000, { "02:00:00:00:31:02" }, "down", { rate = "5mbit" }
      l2.addrs[2] = { "10.31.2.2/24", "10.31.2.5/24" }
      s.links[1].addrs = nil
      local plan = lab:diff(s, { quiet = true })
      local t = plan:text()
      assert.equals(string.format("plan: %d to add, %d to change, %d to remove", plan.adds, plan.changes_count,
        plan.removes), tostring(plan))
      p = p:gsub("%-", "%%-") -- a pattern from here on
      for _, want in ipairs {
        "\n%+ node " .. p .. "d %(host%)\n",
        "\n%- node " .. p .. "c %(host%)\n",
        "\n%-/%+ node " .. p .. "a %(router%): kind \"host\" %-> \"router\", replaced\n",
        "\n~ node " .. p .. "r: sysctl net.ipv4.conf.all.rp_filter = 0 %(was as it was%)\n",
        "\n%+ link " .. p .. "r:eth3 %-%- " .. p .. "d:eth0 %(10.31.4.1/24 %-%- 10.31.4.2/24%)\n",
        "\n%- link " .. p .. "c:eth0 %-%- " .. p .. "s:eth1\n",
        "\n~ link " .. p .. "r:eth1 %-%- " .. p .. "b:eth0: mtu 9000 %(was 1500%)\n",
        "\n~ link [^\n]*: mac of " .. p .. "r:eth1 02:00:00:00:31:02 %(was the kernel's%)\n",
        "\n~ link [^\n]*: shaping rate 5mbit / none %(was none / none%)\n",
        "\n~ link [^\n]*: down %(was up%)\n",
        "\n%+ addr 10.31.2.5/24 on " .. p .. "b:eth0\n",
        "\n%- addr fd31:2::2/64 on " .. p .. "b:eth0\n",
        "\n%- route " .. p .. "r: 10.99.0.0/16 via 10.31.2.2\n",
        "\n%+ route " .. p .. "a: default via 10.31.1.1\n",
        "\n~ route " .. p .. "b: 10.31.0.0/16 via 10.31.2.9 %(was 10.31.0.0/16 via 10.31.2.1%)\n",
        "\nPlan: %d+ to add, %d+ to change, %d+ to remove.\n$",
      } do
        assert.matches(want, "\n" .. t:sub(1, -1), nil, false)
      end
      -- nothing changed
      assert.equals("No changes: the lab matches the spec.\n", lab:diff(lab:spec(), { quiet = true }):text())
    end)
  end)

  describe("lab:apply", function()
    it("adds, removes and changes nodes, links, addresses and routes in place", function()
      local lab <close>, n = small(H.name("lvl"))
      local p = n.p
      local keep = { ifindex(n.r.netns, "eth1"), ifindex(n.r.netns, "eth2") }
      local pb = n.b:spawn { "sleep", "60" }
      local s = lab:spec()
      s.nodes[#s.nodes + 1] = { name = p .. "d", routes = { { dst = "default", via = "10.31.4.1" } } }
      s.links[#s.links + 1] = { p .. "r", p .. "d", addrs = { "10.31.4.1/24", "10.31.4.2/24" } }
      table.remove(s.links, 1) -- r -- a
      s.links[1].addrs[2][#s.links[1].addrs[2] + 1] = "10.31.2.7/24"
      s.links[1].mtu = 1400
      for _, node in ipairs(s.nodes) do
        if node.name == p .. "a" then node.routes = nil end
        if node.name == p .. "b" then node.routes = { { dst = "10.31.4.0/24", via = "10.31.2.1" } } end
      end
      local plan = lab:apply(s)
      assert.is_true(plan.adds > 0 and plan.removes > 0 and plan.changes_count > 0)
      assert.same(keep, { ifindex(n.r.netns, "eth1"), ifindex(n.r.netns, "eth2") })
      assert.is_true(pb:running())
      assert.is_false(has_link(n.a.netns, "eth0"))
      local d = lab:node(p .. "d")
      assert.is_true(d:ping "10.31.4.1")
      assert.is_true(d:ping "10.31.2.7") -- through r, by d's default route
      assert.equals(1400, H.ipj("-n " .. q(n.b.netns) .. " link show dev eth0")[1].mtu)
      assert.equals("No changes: the lab matches the spec.\n", lab:diff(s, { quiet = true }):text())
      -- a spec without ifnames keeps the links it names
      local bare, now = { nodes = {}, links = {} }, lab:spec()
      for i, node in ipairs(now.nodes) do bare.nodes[i] = node end
      for i, l in ipairs(now.links) do
        local c = declare.copy(l)
        c[1], c[2] = c[1]:match("^(.*):"), c[2]:match("^(.*):")
        bare.links[i] = c
      end
      assert.equals("No changes: the lab matches the spec.\n", lab:diff(bare, { quiet = true }):text())
      -- a new lab from nothing, then back to nothing
      lab:apply { nodes = {}, links = {} }
      assert.equals(0, #lab.nodes)
      assert.is_false(nslab.netns.exists(n.r.netns))
      assert.is_false(pb:running())
    end)

    it("takes a node's addrs on a link's ifname as that link end's: applied once, then no changes", function()
      local lab <close> = nslab.lab(H.name "lva")
      local p = H.name "va"
      local spec = { nodes = { { name = p .. "a", addrs = { eth0 = { "10.32.0.7/24" } } }, { name = p .. "b" } },
        links = { { p .. "a:eth0", p .. "b:eth0", addrs = { "10.32.0.1/24", "10.32.0.2/24" } } } }
      lab:apply(spec)
      local got = {}
      for _, a in ipairs(H.ipj("-n " .. q(lab:node(p .. "a").netns) .. " -4 addr show dev eth0")[1].addr_info) do
        got[#got + 1] = a["local"] .. "/" .. a.prefixlen
      end
      table.sort(got)
      assert.same({ "10.32.0.1/24", "10.32.0.7/24" }, got)
      assert.equals("No changes: the lab matches the spec.\n", lab:diff(spec, { quiet = true }):text())
      assert.same({ "10.32.0.1/24", "10.32.0.7/24" }, lab:spec().links[1].addrs[1])
      -- and the address rules see it: the same address on both ends is refused
      local bad = { nodes = { { name = p .. "a", addrs = { eth0 = "10.32.0.2/24" } }, { name = p .. "b" } },
        links = { { p .. "a:eth0", p .. "b:eth0", addrs = { "10.32.0.1/24", "10.32.0.2/24" } } } }
      H.raises("EINVAL", lab.diff, lab, bad, { quiet = true })
    end)

    it("rolls back after a failure at each kind of step, leaving the lab exactly as before", function()
      local lab <close>, n = small(H.name("lvl"))
      local p = n.p
      n.r:sysctl("net.ipv4.conf.all.rp_filter", 2)
      n.c:addr("lo", "10.31.255.3/32")
      local s = lab:spec()
      s.nodes[#s.nodes + 1] = { name = p .. "d" }
      s.links[#s.links + 1] = { p .. "r", p .. "d", addrs = { "10.31.4.1/24", "10.31.4.2/24" } }
      for i, node in ipairs(s.nodes) do
        if node.name == p .. "c" then table.remove(s.nodes, i) break end
      end
      table.remove(s.links, 4)
      for _, node in ipairs(s.nodes) do
        if node.name == p .. "r" then node.sysctls = { ["net.ipv4.conf.all.rp_filter"] = "1" } end
        if node.name == p .. "a" then node.routes = { { dst = "10.31.9.0/24", via = "10.31.1.1" } } end
        if node.name == p .. "b" then
          node.routes[1].via = "10.31.2.9"
          node.routes[2] = { dst = "10.31.8.0/24", via = "10.31.2.1" }
          node.addrs = { lo = { "10.31.255.2/32" } }
        end
      end
      local l2 = s.links[2]
      l2.mtu, l2.mac, l2.a_to_b = 9000, { "02:00:00:00:31:02" }, { rate = "5mbit" }
      l2.addrs[2] = { "10.31.2.2/24", "10.31.2.5/24" }
      s.links[3].state = "down"
      s.links[1].addrs = { {}, { "10.31.1.2/24" } }
      local before_spec, before = text(lab:spec()), lab_state(lab)
      local plan = lab:diff(s, { quiet = true })
      local points, seen = {}, {}
      for _, c in ipairs(plan.changes) do
        local pt = require("nslab.apply").point(c)
        if not seen[pt] then
          seen[pt] = true
          points[#points + 1] = pt
        end
      end
      assert.equals(14, #points, table.concat(points, " "))
      finally(function()
        for _, pt in ipairs(points) do fault.arm(pt, false) end
      end)
      for _, pt in ipairs(points) do
        fault.arm(pt)
        local e = raises("EIO", lab.apply, lab, s)
        assert.matches('apply: ', e.step, 1, true)
        assert.matches("injected fault at " .. pt, tostring(e), 1, true)
        assert.equals(before_spec, text(lab:spec()), pt)
        local now = lab_state(lab)
        for name, st in pairs(before) do assert.equals(st, now[name], pt .. ": " .. name) end
      end
      lab:apply(s)
      assert.equals("No changes: the lab matches the spec.\n", lab:diff(s, { quiet = true }):text())
    end)

    it("refuses a bad spec before anything changes", function()
      local lab <close>, n = small(H.name("lvl"))
      local p = n.p
      local before = text(lab:spec())
      local function refused(spec, pattern)
        local e = raises("EINVAL", lab.apply, lab, spec)
        assert.matches(pattern, tostring(e), 1, true)
        assert.equals(before, text(lab:spec()))
      end
      local s = lab:spec()
      s.links[#s.links + 1] = { p .. "r", p .. "zz" }
      refused(s, 'names no node of the spec')
      s = lab:spec()
      s.nodes[#s.nodes + 1] = { name = p .. "d" }
      s.nodes[#s.nodes + 1] = { name = p .. "d", kind = "router" }
      refused(s, string.format('two nodes are named %q', p .. "d"))
      s = lab:spec()
      s.nodes[#s.nodes + 1] = { name = p .. "d" }
      s.links[#s.links + 1] = { p .. "d", p .. "s", addrs = { "10.31.3.3/24" } }
      refused(s, "10.31.3.3 would be on both")
      s = lab:spec()
      s.links[#s.links + 1] = { p .. "a", p .. "b", addrs = { "10.31.7.1" } }
      refused(s, "is not an address with prefix length")
      -- one link more, each refused: {its two ends, what the error says}
      for _, c in ipairs {
        { p .. "a:eth0", "is on two links" },
        { { node = p .. "a", ifname = "eth0" }, "is on two links" },
        { { node = p .. "zz" }, "names no node of the spec" },
        { { node = p .. "a", ifname = "e:1" }, 'interface name "e:1"' },
        { { name = p .. "a" }, "a link end given as a table is" },
        { p .. "a:..", 'interface name ".."' },
        { p .. "a:lo", 'interface name "lo"' },
        { { node = p .. "a", ifname = "." }, 'interface name "."' },
        { p .. "a:eth7", "a node cannot be linked to itself", p .. "a:eth7" },
        { p .. "a:eth7", "mac[1] 01:00:5e:00:00:01 is multicast", nil, nil, { "01:00:5e:00:00:01" } },
        { p .. "a:eth7", 'mac[2] "02:00" is not a MAC address', nil, nil, { nil, "02:00" } },
        { p .. "a:eth7", "mac[2] 00:00:00:00:00:00 is all zeros", nil, nil, { nil, "00:00:00:00:00:00" } },
        { p .. "a:eth7", "links[" .. (#lab:spec().links + 1) .. "]: a_to_b: unknown field 'colour'", nil,
          { colour = 1 } },
      } do
        s = lab:spec()
        s.links[#s.links + 1] = { c[1], c[3] or p .. "b", a_to_b = c[4], mac = c[5] }
        if c[4] then
          assert.has_error(function() lab:apply(s) end)
          local _, e = pcall(lab.apply, lab, s)
          assert.matches(c[2], e, 1, true)
        else
          refused(s, c[2])
        end
      end
      assert.has_error(function() lab:apply(42) end)
      assert.has_error(function() lab:apply { nodes = { { name = "x", colour = "red" } } } end)
    end)
  end)

  describe("lab:transaction", function()
    it("undoes the lab's changes made inside it when it raises, then raises again", function()
      local lab <close>, n = small(H.name("lvl"))
      local p = n.p
      local before_spec, before = text(lab:spec()), lab_state(lab)
      local keep = ifindex(n.r.netns, "eth1")
      local ok, e = pcall(lab.transaction, lab, function(l)
        l:unlink(n.r, n.a)
        l:remove(n.c)
        local d = l:host(p .. "d")
        l:link(n.r, d, { addrs = { "10.31.4.1/24", "10.31.4.2/24" } })
        d:route("default", "10.31.4.1")
        n.b:addr("eth0", "10.31.2.9/24")
        l:link_mtu(n.r, n.b, 1400)
        l:link_state(n.r, n.s, "down")
        l:impair(n.r, n.b, { rate = "1mbit" })
        n.r:sysctl("net.ipv4.conf.all.rp_filter", 1)
        error("boom", 0)
      end)
      assert.is_false(ok)
      assert.equals("boom", e)
      assert.equals(before_spec, text(lab:spec()))
      local now = lab_state(lab)
      for name, st in pairs(before) do assert.equals(st, now[name], name) end
      assert.equals(keep, ifindex(n.r.netns, "eth1"))
      assert.is_false(nslab.netns.exists(p .. "d"))
      assert.equals(42, lab:transaction(function() return 42 end))
    end)
  end)
end)
