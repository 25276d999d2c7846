-- nslab.lab and nslab.node: labs that own what they build and remove it
-- whatever happens (scope end, errors, signals, SIGKILL then --clean).
local H = require "helper"
local nslab = require "nslab"
local lab_mod = require "nslab.lab"
local record = require "nslab.record"
local view = require "nslab.view"

local raises, q, tmpfile = H.raises, H.q, H.tmpfile

local pid_in = H.pid_in

local function gone(pid) return record.proc_start(pid) == nil end

local in_ns = H.in_ns

local function record_exists(name)
  local f = io.open(record.path_of(name))
  if f then f:close() end
  return f ~= nil
end

describe("nslab.lab module", function()
  it("is a callable table with new, clean and active", function()
    assert.is_table(lab_mod)
    assert.is_function(lab_mod.new)
    assert.is_function(lab_mod.clean)
    assert.is_function(lab_mod.active)
    assert.equals(lab_mod, nslab.lab)
    assert.is_function(getmetatable(lab_mod).__call)
  end)

  it("rejects bad lab names before touching anything", function()
    for _, bad in ipairs { "", ".", "..", "a/b", ("x"):rep(201) } do
      local e = raises("EINVAL", nslab.lab, bad)
      assert.matches("invalid name", tostring(e), 1, true)
    end
    assert.has_error(function() nslab.lab(42) end)
  end)

  it("rejects unknown options and options of the wrong type with argument errors (nslab.opts)", function()
    assert.has_error(function() nslab.lab("x", { kep = true }) end,
      "bad argument #2 to 'nslab.lab' (unknown field 'kep')")
    assert.has_error(function() nslab.lab("x", { keep = "yes" }) end,
      "bad argument #2 to 'nslab.lab' (field 'keep' must be a boolean, not string)")
    assert.has_error(function() nslab.lab("x", 5) end, "bad argument #2 to 'nslab.lab' (table expected, got number)")
  end)
end)

describe("nslab.record", function()
  it("reads back a record cut short by SIGKILL (a last line without its newline)", function()
    local text = "nslab-record 1\nlab x\nowner 5 7 1\nnetns a\nnetns b\nnetns-id b 3 4026532\n"
      .. "drop netns a\nproc 99 12\nnetns c"
    local rec = assert(record.parse(text, "x"))
    assert.equals("x", rec.lab)
    local c = record.contents(rec)
    assert.same({ "b" }, c.netns)
    assert.same({ b = { dev = 3, ino = 4026532 } }, c.ids)
    assert.same({ { pid = 99, start = 12 } }, c.procs)
  end)

  it("runs no code from a record (empty environment)", function()
    local rec, err = record.parse('return os.exit(3)', "evil")
    assert.is_nil(rec)
    assert.is_string(err)
  end)

  it("knows this process is alive and a made-up start time is not", function()
    local pid = nslab.core.getpid()
    local start = record.proc_start(pid)
    assert.is_true(record.alive(pid, start))
    assert.is_false(record.alive(pid, start + 1))
  end)
end)

describe("nslab.view", function()
  it("formats a boxed table", function()
    assert.equals("+---+----+\n| a | bb |\n+---+----+\n| 1 |    |\n+---+----+\n",
      view.table({ "a", "bb" }, { { "1" } }))
  end)

  it("writes Graphviz DOT with shapes per kind and interface labels", function()
    local a = { name = "red", kind = "host", _addrs = { { address = "10.0.0.1", prefixlen = 24 } } }
    local b = { name = 's"1', kind = "bridge", _addrs = {} }
    local dot = view.dot { name = "x", nodes = { a, b }, _links = { { a = a, b = b, ifnames = { "eth0", "eth3" } } } }
    assert.matches('^graph "x" {\n', dot)
    assert.matches('"red" [shape=box, label="red\\n10.0.0.1/24"];', dot, 1, true)
    assert.matches('"s\\"1" [shape=ellipse', dot, 1, true)
    assert.matches('"red" -- "s\\"1" [taillabel="eth0", headlabel="eth3"];', dot, 1, true)
  end)
end)

describe("lab #root", function()
  H.guard()

  describe("host", function()
    it("makes a netns named like the node, with lo up and both loopbacks answering (P1)", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local name = H.name()
      local h = lab:host(name)
      assert.equals(name, h.name)
      assert.equals(name, h.netns)
      assert.equals("host", h.kind)
      assert.equals(h, lab:node(name))
      assert.same({ h }, lab.nodes)
      local out, ok = in_ns(name, "ping -c1 -W1 127.0.0.1")
      assert.is_true(ok, out)
      out, ok = in_ns(name, "ping -c1 -W1 ::1")
      assert.is_true(ok, out)
    end)

    it("opens ping_group_range so ping works as uid 65534 (P8)", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local name = H.name()
      lab:host(name)
      local out = in_ns(name, "cat /proc/sys/net/ipv4/ping_group_range")
      if H.rootless() then -- only gid 0 exists: no other user to ping as
        assert.equals("0\t0\n", out)
        return
      end
      assert.equals("0\t2147483647\n", out)
      local ok
      out, ok = in_ns(name, "setpriv --reuid 65534 --regid 65534 --clear-groups ping -c1 -W1 127.0.0.1")
      assert.is_true(ok, out)
    end)

    it("sets the sysctls given", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local name = H.name()
      lab:host(name, { sysctls = { ["net.ipv4.ip_default_ttl"] = 33 } })
      assert.equals("33\n", in_ns(name, "cat /proc/sys/net/ipv4/ip_default_ttl"))
    end)

    it("refuses a name the lab already has", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local name = H.name()
      lab:host(name)
      local e = raises("EEXIST", lab.host, lab, name)
      assert.matches("already has a node", tostring(e), 1, true)
    end)
  end)

  describe("router", function()
    it("turns IPv4 and IPv6 forwarding on explicitly (P7)", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local name = H.name()
      local r = lab:router(name)
      assert.equals("router", r.kind)
      assert.equals("1\n", in_ns(name, "cat /proc/sys/net/ipv4/ip_forward"))
      assert.equals("1\n", in_ns(name, "cat /proc/sys/net/ipv6/conf/all/forwarding"))
    end)
  end)

  describe("bridge and link", function()
    it("names interfaces eth0, eth1, ... per node and enslaves bridge ports", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local s, a, b = lab:bridge(H.name()), lab:host(H.name()), lab:host(H.name())
      assert.equals("bridge", s.kind)
      lab:link(a, s, { addrs = { "10.9.0.1/24" } })
      lab:link(b, s, { addrs = { "10.9.0.2/24" } })
      lab:link(a, b)
      local br = H.ipj("-n " .. q(s.netns) .. " -d link show br0")[1]
      assert.equals("bridge", br.linkinfo.info_kind)
      for _, port in ipairs { "eth0", "eth1" } do
        assert.equals("br0", H.ipj("-n " .. q(s.netns) .. " link show " .. port)[1].master)
      end
      assert.equals(1, #H.ipj("-n " .. q(a.netns) .. " link show eth1"))
      assert.equals(1, #H.ipj("-n " .. q(b.netns) .. " link show eth1"))
      assert.equals("10.9.0.1", a:first_addr())
      assert.is_nil(b:first_addr("inet6"))
    end)

    it("makes IPv6, link-local too, usable the moment link returns (no DAD, P2), with mtu and mac", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a, b = lab:host(H.name()), lab:host(H.name())
      lab:link(a, b, { addrs = { { "10.9.1.1/24", "fd00:9::1/64" }, "fd00:9::2/64" }, mtu = 1400,
        mac = { "02:00:00:00:00:01", "02:00:00:00:00:02" } })
      local ai = H.ipj("-n " .. q(a.netns) .. " addr show dev eth0")[1]
      assert.equals(1400, ai.mtu)
      assert.equals("02:00:00:00:00:01", ai.address)
      for _, x in ipairs(ai.addr_info) do
        assert.is_nil(x.tentative, x["local"] .. " is tentative")
      end
      local out, ok = in_ns(a.netns, "ping -c1 -W1 fd00:9::2")
      assert.is_true(ok, out)
      assert.equals("fd00:9::2", b:first_addr())
      assert.equals("fd00:9::1", a:first_addr("inet6"))
    end)

    it("leaves no link-local address tentative when link or link_state up returns (P2)", function()
      -- the kernel marks a new link-local tentative until its addrconf
      -- work runs, even without DAD: about one time in five, unwaited
      local lab <close> = nslab.lab(H.name("lab"))
      local function tentative(node)
        local n = 0
        for _, x in ipairs(nslab.addr.list { netns = node.netns, family = "inet6" }) do
          if x.tentative then n = n + 1 end
        end
        return n
      end
      local hub = lab:router(H.name())
      for _ = 1, 20 do
        local h = lab:host(H.name())
        lab:link(hub, h, { addrs = { nil, "fd00:77::" .. #lab.nodes .. "/64" } })
        assert.equals(0, tentative(h))
        assert.equals(0, tentative(hub))
      end
      local h = lab.nodes[#lab.nodes]
      for _ = 1, 20 do
        lab:link_state(hub, h, "down")
        lab:link_state(hub, h, "up")
        assert.equals(0, tentative(h))
      end
    end)

    it("spells its addresses as the kernel does (inet_ntop, RFC 5952), whatever text was given", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a, b = lab:host(H.name()), lab:host(H.name())
      lab:link(a, b, { addrs = { "FD00:0009:0::0001/64", "fd00:9::2/64" } })
      assert.equals("fd00:9::1", a:first_addr())
      assert.matches("fd00:9::1/64", lab:dot(), 1, true)
      -- ping accepts the same spellings (and a zone), through inet_pton
      assert.is_true((b:ping("FD00:9:0::1")))
      assert.has_no.errors(function() b:ping("fe80::1%eth0", { timeout = 0.2 }) end)
      assert.has_error(function() b:ping("fd00::9::1") end)
    end)

    it("refuses a taken ifname, an address on a bridge port and a self link", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local s, a, b = lab:bridge(H.name()), lab:host(H.name()), lab:host(H.name())
      lab:link(a, b)
      raises("EEXIST", lab.link, lab, a, b, { ifnames = { "eth0", "x1" } })
      raises("EINVAL", lab.link, lab, a, s, { addrs = { nil, "10.0.0.1/24" } })
      raises("EINVAL", lab.link, lab, a, a)
      assert.has_error(function() lab:link(a, "nope") end)
      assert.has_error(function() lab:link(a, b, { mtus = 1 }) end)
      assert.equals(2, #H.ipj("-n " .. q(a.netns) .. " link show")) -- lo, eth0
    end)

    it("gives each bridge a fixed, locally administered MAC that ports joining do not change (13)", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local s = lab:bridge(H.name())
      local function mac() return H.ipj("-n " .. q(s.netns) .. " link show br0")[1].address end
      local first = mac()
      local b0 = tonumber(first:sub(1, 2), 16)
      assert.equals(2, b0 & 3, first .. " is not locally administered unicast")
      for i = 1, 4 do
        -- low MACs first: the kernel would take the lowest port's address
        lab:link(lab:host(H.name()), s, { mac = { nil, string.format("02:00:00:00:00:%02x", 5 - i) } })
        assert.equals(first, mac(), "bridge MAC changed after port " .. i)
      end
    end)

    it("refuses an address without prefix length, suggesting one; /32 and /128 stay allowed (12a)", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a, b = lab:host(H.name()), lab:host(H.name())
      local e = raises("EINVAL", lab.link, lab, a, b, { addrs = { "10.9.3.1", "10.9.3.2/24" } })
      assert.matches("10.9.3.1 has no prefix length: write 10.9.3.1/24", tostring(e), 1, true)
      e = raises("EINVAL", lab.link, lab, a, b, { addrs = { nil, { "10.9.3.2/24", "fd00:9::2" } } })
      assert.matches("fd00:9::2 has no prefix length: write fd00:9::2/64", tostring(e), 1, true)
      assert.equals(1, #H.ipj("-n " .. q(a.netns) .. " link show")) -- lo only: refused before building
      lab:link(a, b, { addrs = { { "10.9.3.1/32", "fd00:9::1/128" }, "10.9.3.2/32" } })
    end)

    it("refuses one address on two nodes of a segment, naming both (12b)", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a, b, c, s = lab:host(H.name()), lab:host(H.name()), lab:host(H.name()), lab:bridge(H.name())
      local e = raises("EINVAL", lab.link, lab, a, b, { addrs = { "10.9.4.1/24", "10.9.4.1/24" } })
      assert.matches(a.name, tostring(e), 1, true)
      assert.matches(b.name, tostring(e), 1, true)
      raises("EINVAL", lab.link, lab, a, b, { addrs = { "fd00:9::1/64", "FD00:9:0::1/64" } })
      lab:link(a, s, { addrs = { "10.9.5.1/24" } })
      e = raises("EINVAL", lab.link, lab, b, s, { addrs = { "10.9.5.1/24" } })
      assert.matches(a.name, tostring(e), 1, true)
      assert.matches(b.name, tostring(e), 1, true)
      -- through a second bridge linked to the first: the same segment
      local s2 = lab:bridge(H.name())
      lab:link(s, s2)
      raises("EINVAL", lab.link, lab, c, s2, { addrs = { "10.9.5.1/24" } })
      lab:link(c, s2, { addrs = { "10.9.5.3/24" } })
      -- another segment may reuse it
      lab:link(b, c, { addrs = { "10.9.5.1/24", "10.9.6.2/24" } })
    end)

    it("removes a half-made link and names the step in the original error", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a, b = lab:host(H.name()), lab:host(H.name())
      local ok, e = pcall(lab.link, lab, a, b, { addrs = { "10.9.2.1/24", "10.9.2.300/24" } })
      assert.is_false(ok)
      local text = tostring(e)
      assert.matches('lab "' .. lab.name .. '": link ' .. a.name .. ":eth0 -- " .. b.name .. ":eth0", text, 1, true)
      assert.equals(1, #H.ipj("-n " .. q(a.netns) .. " link show")) -- lo only
      assert.equals(1, #H.ipj("-n " .. q(b.netns) .. " link show"))
      local l = lab:link(a, b, { addrs = { "10.9.2.1/24", "10.9.2.2/24" } })
      assert.same({ "eth0", "eth0" }, l.ifnames)
    end)
  end)

  describe("node", function()
    it("runs commands, pings nodes and addresses, and prints itself", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a, b = lab:host(H.name()), lab:host(H.name())
      lab:link(a, b, { addrs = { "10.9.3.1/24", "10.9.3.2/24" } })
      assert.matches("eth0", a:run({ "cat", "/proc/net/dev" }).stdout, 1, true)
      assert.equals("hi\n", a:run("echo hi").stdout)
      local ok, rtt = a:ping(b)
      assert.is_true(ok)
      assert.is_number(rtt)
      assert.is_true(rtt > 0 and rtt < 1)
      assert.is_false((a:ping("10.9.4.1", { timeout = 1 })))
      a:route("10.9.4.0/24", "10.9.3.2")
      local found = false
      for _, r in ipairs(a:route()) do
        if tostring(r.dst):find("10.9.4.0", 1, true) then found = true end
      end
      assert.is_true(found)
      a:addr("eth0", "fd00:9:3::1/64")
      local names = {}
      for _, l in ipairs(a:links()) do names[l.name] = true end
      assert.is_true(names.eth0 and names.lo)
      assert.equals(string.format("host %s (netns %s): eth0 10.9.3.1/24 -> %s:eth0", a.name, a.name, b.name),
        tostring(a))
    end)

    it("names node:run and node:spawn, and the user's argument, in their argument errors", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a = lab:host(H.name())
      local ok, e = pcall(function() a:run("true", { foo = 1 }) end)
      assert.is_false(ok)
      assert.matches("lab_spec.lua:%d+: bad argument #2 to 'node:run' %(unknown field 'foo'%)$", e)
      ok, e = pcall(function() a:spawn({ "true" }, { bogus = 1 }) end)
      assert.is_false(ok)
      assert.matches("lab_spec.lua:%d+: bad argument #2 to 'node:spawn' %(unknown field 'bogus'%)$", e)
      assert.equals("ok\n", a:run({ "echo", "ok" }).stdout)
    end)

    it("rejects a ping count below 1 and a family that does not match the address", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a = lab:host(H.name())
      local e = raises("EINVAL", a.ping, a, "127.0.0.1", { count = 0 })
      assert.matches("count 0 is out of range (1..)", tostring(e), 1, true)
      assert.has_error(function() a:ping("127.0.0.1", { count = 1.5 }) end,
        "bad argument #2 to 'node:ping' (field 'count' must be an integer, not a float)")
      e = raises("EINVAL", a.ping, a, "127.0.0.1", { family = "inet6" })
      assert.matches("family inet6 does not match address 127.0.0.1", tostring(e), 1, true)
      assert.is_true((a:ping("::1", { family = "inet6" })))
    end)

    it("rejects a lab:link mac, ifnames or addrs that is not a pair, and an IPv6 link below mtu 1280", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a, b = lab:host(H.name()), lab:host(H.name())
      assert.has_error(function() lab:link(a, b, { mac = "02:00:00:00:00:09" }) end,
        "bad argument #3 to 'lab:link' (field 'mac' must be a table, not string)")
      assert.has_error(function() lab:link(a, b, { mtu = "1400" }) end,
        "bad argument #3 to 'lab:link' (field 'mtu' must be an integer, not string)")
      assert.has_error(function() lab:host(H.name(), { sysctls = "x" }) end,
        "bad argument #2 to 'lab:host' (field 'sysctls' must be a table, not string)")
      assert.has_error(function() lab:link(a, b, { addrs = "10.1.1.1/24" }) end)
      local e = raises("EINVAL", lab.link, lab, a, b, { mtu = 1000, addrs = { "fd01::1/64", "fd01::2/64" } })
      assert.matches("below 1280", tostring(e), 1, true)
      assert.equals(0, #a:links() - 1) -- nothing made: lo only
    end)

    it("raises on a ping target that is neither a node nor an address, and on a bad family", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a, b, s = lab:host(H.name()), lab:host(H.name()), lab:bridge(H.name())
      lab:link(a, b, { addrs = { "10.9.5.1/24", "10.9.5.2/24" } })
      lab:link(a, s)
      local e = raises("EINVAL", a.ping, a, "banana")
      assert.matches(string.format('"banana" is neither a node of lab %q nor an IPv4/IPv6 address', lab.name),
        tostring(e), 1, true)
      assert.has_error(function() a:ping("10.0.0.300") end)
      assert.has_error(function() a:ping({}) end,
        "bad argument #1 to 'node:ping' (node, node name or address expected, got table)")
      e = raises("EINVAL", a.first_addr, a, "ipx")
      assert.matches('unknown family "ipx" (one of inet, inet6)', tostring(e), 1, true)
      assert.has_error(function() a:first_addr(4) end,
        "bad argument #1 to 'node:first_addr' (string expected, got number)")
      raises("EINVAL", a.ping, a, b, { family = "ipx" })
      raises("EINVAL", lab.pingall, lab, { family = "ipx" })
      raises("EINVAL", lab.pingall, lab, { timeout = 0 })
      -- a node name of the same lab is a node; an address works as before
      assert.is_true((a:ping(b.name)))
      assert.is_true((a:ping("10.9.5.2")))
      e = raises("EINVAL", s.ping, s, a)
      assert.matches(string.format("bridge %q has no address to ping from", s.name), tostring(e), 1, true)
      e = raises("EINVAL", a.ping, a, s)
      local msg = string.format("bridge %q has no address (EINVAL)", s.name)
      assert.equals(msg, tostring(e):sub(-#msg))
    end)

    it("kills spawned processes when the lab closes", function()
      local lab = nslab.lab(H.name("lab"))
      local a = lab:host(H.name())
      local p = a:spawn { "sleep", "100" }
      assert.is_true(p:running())
      lab:close()
      assert.is_false(p:running())
    end)
  end)

  describe("pingall, show and dot", function()
    it("rejects an unknown ping option instead of ignoring it", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a = lab:host(H.name())
      assert.has_error(function() a:ping("127.0.0.1", { timout = 1 }) end,
        "bad argument #2 to 'node:ping' (unknown field 'timout')")
      assert.is_true((a:ping("127.0.0.1")))
    end)

    it("prints reachability as Mininet does and returns the matrix", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local s = lab:bridge(H.name())
      local hs = {}
      for i = 1, 3 do
        hs[i] = lab:host(H.name())
        lab:link(hs[i], s, { addrs = { "10.9.5." .. i .. "/24" } })
      end
      local far = lab:host(H.name())
      lab:link(far, hs[1], { addrs = { "10.9.6.2/24", "10.9.6.1/24" } })
      far:route("default", "10.9.6.1") -- reaches hs1, which does not forward
      local printed = {}
      local out = io.stdout
      rawset(io, "stdout", { write = function(_, ...) for _, v in ipairs { ... } do printed[#printed + 1] = v end end })
      local ok, m, got, sent = pcall(lab.pingall, lab, { timeout = 1 })
      rawset(io, "stdout", out)
      assert.is_true(ok, tostring(m))
      local text = table.concat(printed)
      assert.matches("^%*%*%* Ping: testing ping reachability\n", text)
      assert.matches(hs[1].name .. " -> " .. hs[2].name .. " " .. hs[3].name .. " " .. far.name .. "\n", text, 1, true)
      assert.matches(far.name .. " -> " .. hs[1].name .. " X X\n", text, 1, true)
      assert.equals(12, sent)
      assert.equals(8, got)
      assert.matches("*** Results: 33% dropped (8/12 received)\n", text, 1, true)
      assert.is_true(m[hs[2].name][hs[3].name])
      assert.is_false(m[far.name][hs[2].name])
    end)

    it("shows nodes, interfaces, state and addresses as a table, and DOT", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a, b = lab:host(H.name()), lab:router(H.name())
      lab:link(a, b, { addrs = { "10.9.7.1/24", "10.9.7.2/24" } })
      local out, printed = io.stdout, {}
      rawset(io, "stdout", { write = function(_, s) printed[#printed + 1] = s end })
      local ok, ret = pcall(lab.show, lab)
      rawset(io, "stdout", out)
      assert.is_true(ok, tostring(ret))
      assert.is_nil(ret) -- printed only, so the REPL shows it once
      local text = table.concat(printed)
      assert.equals(text, lab:show { quiet = true })
      assert.matches("lab " .. lab.name .. ": 2 nodes, 1 link\n", text, 1, true)
      assert.matches("| # | Node", text, 1, true)
      assert.matches("| 1 | " .. a.name .. " | host   | eth0      | " .. b.name .. ":eth0 | up", text, 1, true)
      assert.matches("10.9.7.2/24", text, 1, true)
      local dot = lab:dot()
      assert.matches('"' .. b.name .. '" [shape=diamond', dot, 1, true)
      assert.matches('"' .. a.name .. '" -- "' .. b.name .. '"', dot, 1, true)
    end)
  end)

  describe("cleanup", function()
    it("refuses to guess from an unreadable record: clean and a new lab of that name say so", function()
      local name = H.name("lab")
      local path = record.path_of(name)
      finally(function() os.remove(path) end)
      local f = assert(io.open(path, "w"))
      f:write("garbage {")
      f:close()
      local e = raises("EBADMSG", lab_mod.clean, name)
      assert.matches("cannot be used", tostring(e), 1, true)
      raises("EBADMSG", nslab.lab, name)
      local fh = io.open(path) -- left for the user to inspect
      assert.is_not_nil(fh)
      fh:close()
      -- the command line prints the one line, no traceback
      local out, ok = H.nslab("--clean " .. name)
      assert.is_false(ok)
      assert.matches("cannot be used", out, 1, true)
      assert.not_matches("stack traceback", out, 1, true)
    end)

    it("removes everything and the record at close, once, and forgets the lab", function()
      local lab = nslab.lab(H.name("lab"))
      local a, b = lab:host(H.name()), lab:host(H.name())
      lab:link(a, b)
      assert.is_true(record_exists(lab.name))
      assert.equals(lab, lab_mod.active()[#lab_mod.active()])
      lab:close()
      lab:close()
      assert.is_false(nslab.netns.exists(a.name))
      assert.is_false(nslab.netns.exists(b.name))
      assert.is_false(record_exists(lab.name))
      for _, l in ipairs(lab_mod.active()) do assert.are_not.equal(lab, l) end
      raises("EINVAL", lab.host, lab, H.name())
    end)

    it("names every error by the call the user typed, a closed lab by its name", function()
      local lab = nslab.lab(H.name("lab"))
      local a = lab:host(H.name())
      assert.equals("lab:host", raises("EEXIST", lab.host, lab, a.name).op)
      assert.equals("lab:link", raises("EINVAL", lab.link, lab, a, a).op)
      assert.equals("nslab.lab", raises("EEXIST", nslab.lab, lab.name).op)
      assert.equals("nslab.lab", raises("EINVAL", nslab.lab, "a/b").op)
      lab:close()
      for _, call in ipairs {
        { "lab:host", lab.host, "y" }, { "lab:router", lab.router, "y" }, { "lab:bridge", lab.bridge, "y" },
      } do
        local e = raises("EINVAL", call[2], lab, call[3])
        assert.equals(string.format('%s "y": lab "%s" is closed (EINVAL)', call[1], lab.name), tostring(e))
      end
      local e = raises("EINVAL", lab.link, lab, a, a)
      assert.equals(string.format('lab:link: lab "%s" is closed (EINVAL)', lab.name), tostring(e))
      e = raises("EINVAL", lab.pingall, lab)
      assert.equals(string.format('lab:pingall: lab "%s" is closed (EINVAL)', lab.name), tostring(e))
      assert.equals("nslab.lab.clean", raises("ENOENT", lab_mod.clean, H.name("nolab")).op)
      -- its nodes say so too, rather than "netns does not exist"
      assert.matches('lab "' .. lab.name .. '" is closed', tostring(a), 1, true)
      e = raises("EINVAL", a.run, a, { "true" })
      assert.equals(string.format('node:run "%s": lab "%s" is closed (EINVAL)', a.name, lab.name), tostring(e))
      assert.equals("node:spawn", raises("EINVAL", a.spawn, a, { "true" }).op)
    end)

    it("kills processes that daemonised into its namespaces, then removes them", function()
      local pidfile = os.tmpname()
      finally(function() os.remove(pidfile) end)
      local lab = nslab.lab(H.name("lab"))
      local a = lab:host(H.name())
      -- setsid -f: a new session, parent exits at once: nothing tracks it
      -- (the sleep 0.5: the end of a command kills its group, which the
      -- forked child of setsid -f is in until it calls setsid)
      a:run(string.format("setsid -f sh -c 'echo $$ > %s; exec sleep 300' </dev/null >/dev/null 2>&1; sleep 0.5",
        pidfile))
      local pid = pid_in(pidfile)
      assert.is_false(gone(pid))
      lab:close()
      assert.is_true(gone(pid), "the daemon survived the lab")
      assert.is_false(nslab.netns.exists(a.name))
      assert.is_false(record_exists(lab.name))
    end)

    it("removes everything at the end of scope, and when an error leaves it", function()
      local name1, name2 = H.name(), H.name()
      do
        local lab <close> = nslab.lab(H.name("lab"))
        lab:host(name1)
      end
      assert.is_false(nslab.netns.exists(name1))
      local ok, e = pcall(function()
        local lab <close> = nslab.lab(H.name("lab"))
        lab:host(name2)
        error("boom in the experiment")
      end)
      assert.is_false(ok)
      assert.matches("boom in the experiment", e)
      assert.is_false(nslab.netns.exists(name2))
    end)

    it("refuses a netns nslab did not make, and leaves it untouched", function()
      local name = H.name()
      assert(select(2, H.sh("ip netns add " .. name)))
      finally(function() H.sh("ip netns del " .. name) end)
      assert(select(2, in_ns(name, "ip link set lo up")))
      do
        local lab <close> = nslab.lab(H.name("lab"))
        local e = raises("EEXIST", lab.host, lab, name)
        assert.matches("not made by nslab", tostring(e), 1, true)
      end
      local out = H.nslab("--clean")
      assert.is_true(nslab.netns.exists(name), out)
      assert.equals("UNKNOWN", H.ipj("-n " .. name .. " link show lo")[1].operstate)
    end)

    it("never cleans a running lab", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local a = lab:host(H.name())
      local out, ok = H.nslab("--clean")
      assert.is_true(ok, out)
      assert.matches("is running", out, 1, true)
      assert.is_true(nslab.netns.exists(a.name))
      raises("EBUSY", lab_mod.clean, lab.name)
      raises("EEXIST", nslab.lab, lab.name)
    end)

    it("keeps a lab on lab:keep() and nslab --keep, for --clean NAME later", function()
      local lname, h = H.name("lab"), H.name()
      local script = tmpfile(string.format("local lab <close> = require('nslab').lab(%q)\nlab:host(%q)\n", lname, h))
      finally(function() os.remove(script) end)
      local out, ok = H.nslab("--keep " .. script)
      assert.is_true(ok, out)
      assert.matches("nslab --clean " .. lname, out, 1, true)
      assert.is_true(nslab.netns.exists(h))
      out, ok = H.nslab("--clean " .. lname)
      assert.is_true(ok, out)
      assert.is_false(nslab.netns.exists(h), out)
      assert.is_false(record_exists(lname))
    end)
  end)

  describe("in a separate process", function()
    -- A child nslab builds a lab, prints "ready", then does `tail`.
    local function start(tail, lname, hosts)
      local lines = { string.format("local lab <close> = require('nslab').lab(%q)", lname) }
      for _, h in ipairs(hosts) do lines[#lines + 1] = string.format("lab:host(%q)", h) end
      lines[#lines + 1] = "io.stdout:write('ready\\n') io.stdout:flush()"
      lines[#lines + 1] = tail
      local script = tmpfile(table.concat(lines, "\n") .. "\n")
      local log = os.tmpname()
      local pid = tonumber(H.sh(string.format("%s %s >%s 2>&1 & echo $!", H.bin, script, log)):match("%d+"))
      local function output() return H.read_all(log) end
      assert.is_truthy(H.wait_for(function() return output():find("ready", 1, true) end, 10), output())
      return pid, output, function() os.remove(script) os.remove(log) end
    end

    for _, sig in ipairs { "INT", "TERM" } do
      it("removes everything on SIG" .. sig .. " and dies of it", function()
        local lname, h1, h2 = H.name("lab"), H.name(), H.name()
        local pid, output, rm = start("while true do require('nslab').core.sleep(0.05) end", lname, { h1, h2 })
        finally(rm)
        assert.is_true(nslab.netns.exists(h1))
        H.sh("kill -" .. sig .. " " .. pid)
        assert.is_true(H.wait_for(function() return gone(pid) end, 10), output())
        assert.is_false(nslab.netns.exists(h1), output())
        assert.is_false(nslab.netns.exists(h2))
        assert.is_false(record_exists(lname))
        assert.matches("interrupted (", output(), 1, true)
      end)
    end

    it("after SIGKILL, refuses the names naming --clean, which then removes them", function()
      local lname, h1 = H.name("lab"), H.name()
      local pid, output, rm = start("os.execute('kill -9 ' .. require('nslab').core.getpid())", lname, { h1 })
      finally(rm)
      assert.is_true(H.wait_for(function() return gone(pid) end, 10), output())
      assert.is_true(nslab.netns.exists(h1))
      local e = raises("EEXIST", nslab.lab, lname)
      assert.matches("nslab --clean " .. lname, tostring(e), 1, true)
      do
        local other <close> = nslab.lab(H.name("lab"))
        e = raises("EEXIST", other.host, other, h1)
        assert.matches("left over from lab", tostring(e), 1, true)
        assert.matches("nslab --clean " .. lname, tostring(e), 1, true)
      end
      local out, ok = H.nslab("--clean " .. lname)
      assert.is_true(ok, out)
      assert.is_false(nslab.netns.exists(h1), out)
      assert.is_false(record_exists(lname))
    end)

    it("after SIGKILL, --clean kills spawned commands, their children and daemons in the lab's netns", function()
      local lname, h1 = H.name("lab"), H.name()
      local child, daemon = os.tmpname(), os.tmpname()
      local pid, output, rm = start(string.format([[
local a = lab.nodes[1]
local leader = a:spawn("sleep 500 & echo $! > %s; wait")
a:run("setsid -f sh -c 'echo $$ > %s; exec sleep 300' </dev/null >/dev/null 2>&1; sleep 0.5")
io.stdout:write("leader ", leader.pid, "\n") io.stdout:flush()
while true do require('nslab').core.sleep(0.05) end
]], child, daemon), lname, { h1 })
      finally(function() rm() os.remove(child) os.remove(daemon) end)
      local spid, dpid = pid_in(child), pid_in(daemon)
      assert.is_truthy(H.wait_for(function() return output():match("leader (%d+)") end), output())
      local leader = math.tointeger(tonumber(output():match("leader (%d+)")))
      H.sh("kill -KILL " .. pid)
      assert.is_true(H.wait_for(function() return gone(pid) end, 10), output())
      assert.is_false(gone(spid), "the spawned command's child died with nslab")
      local out, ok = H.nslab("--clean " .. lname)
      assert.is_true(ok, out)
      for _, p in ipairs { leader, spid, dpid } do
        assert.is_true(H.wait_for(function() return gone(p) end, 5), "process " .. p .. " survived --clean: " .. out)
      end
      assert.is_false(nslab.netns.exists(h1), out)
      assert.is_false(record_exists(lname))
    end)

    it("with lab:keep(), leaves spawned commands running for --clean to kill", function()
      local lname, h1 = H.name("lab"), H.name()
      local pidfile = os.tmpname()
      local script = tmpfile(string.format([[
local lab <close> = require('nslab').lab(%q)
local a = lab:host(%q)
a:spawn{"sh", "-c", "echo $$ > %s; exec sleep 300"}
a:spawn("sleep 301")
lab:keep()
]], lname, h1, pidfile))
      finally(function() os.remove(script) os.remove(pidfile) end)
      local out, ok = H.nslab(script)
      assert.is_true(ok, out)
      local spid = pid_in(pidfile)
      assert.is_false(gone(spid), "a kept lab's spawned command was killed: " .. out)
      assert.is_true(nslab.netns.exists(h1))
      out, ok = H.nslab("--clean " .. lname)
      assert.is_true(ok, out)
      assert.is_true(H.wait_for(function() return gone(spid) end, 5), out)
      assert.is_false(nslab.netns.exists(h1), out)
    end)

    it("removes what was built when building fails, exiting 1 with the step", function()
      local lname, h1 = H.name("lab"), H.name()
      local script = tmpfile(string.format(
        "local lab <close> = require('nslab').lab(%q)\nlocal a = lab:host(%q)\nlab:host('bad/name')\n", lname, h1))
      finally(function() os.remove(script) end)
      local out, ok, code = H.nslab(script)
      assert.is_false(ok)
      assert.equals(1, code)
      assert.matches("invalid name", out, 1, true)
      assert.is_false(nslab.netns.exists(h1))
      assert.is_false(record_exists(lname))
    end)

    it("removes a lab held in a global when the script errors (normal exit, __gc)", function()
      local lname, h1 = H.name("lab"), H.name()
      local script = tmpfile(string.format("LAB = require('nslab').lab(%q)\nLAB:host(%q)\nerror('experiment failed')\n",
        lname, h1))
      finally(function() os.remove(script) end)
      local out, ok = H.nslab(script)
      assert.is_false(ok)
      assert.matches("experiment failed", out, 1, true)
      assert.is_false(nslab.netns.exists(h1), out)
      assert.is_false(record_exists(lname))
    end)

    it("shows a progress line for 100+ nodes only on a terminal", function()
      local lname = H.name("lab")
      local script = tmpfile(string.format([[
local lab <close> = require('nslab').lab(%q, {progress = arg[1] == "on" or nil})
for i = 1, 100 do lab:host(%q .. i) end
]], lname, H.name() .. "-"))
      local err = os.tmpname()
      finally(function() os.remove(script) os.remove(err) end)
      local function stderr_of(args)
        local out, ok = H.sh("(" .. H.bin .. " " .. script .. args .. " 2>" .. err .. " >/dev/null)")
        assert.is_true(ok, out)
        local f = io.open(err)
        local text = f:read("a")
        f:close()
        return H.without_asan_noise(text)
      end
      assert.equals("", stderr_of(""))
      local out = stderr_of(" on")
      assert.matches("lab " .. lname .. ": 100 nodes, 0 links", out, 1, true)
    end)
  end)
end)
