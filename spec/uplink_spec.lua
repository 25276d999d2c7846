-- lab:uplink (nslab.uplink): a way out of a lab to the namespace nslab
-- runs in (issue 14). The specs run in the spec sandbox, so "nslab's
-- namespace" is the sandbox's own netns: never the host's.
local H = require "helper"
local nslab = require "nslab"
local record = require "nslab.record"

local q, raises = H.q, H.raises

local FORWARD = "net.ipv4.ip_forward"

local function forward() return nslab.sysctl.get(nil, FORWARD) end

-- nft tables in nslab's netns whose name starts nslab_uplink_.
local function uplink_tables()
  local out = H.sh("nft list tables")
  local t = {}
  for name in out:gmatch("table ip (nslab_uplink_%x+)") do t[#t + 1] = name end
  return t
end

-- A netns beyond nslab's: `far`, joined to nslab's netns by a veth with
-- 198.18.7.1/30 on nslab's end and 198.18.7.2/30 on far's. Returns the
-- name of nslab's end; removed by close_far.
local function far(name, pfx)
  nslab.netns.add(name)
  local ifname = pfx .. "f"
  nslab.link.veth { name = ifname, peer = "eth0", peer_netns = name, up = true }
  nslab.addr.add(ifname, "198.18.7.1/30")
  nslab.addr.add("eth0", "198.18.7.2/30", { netns = name })
  nslab.link.set("lo", { up = true }, { netns = name })
  return ifname
end

-- Serves one TCP connection on addr:5000 in netns (nil: nslab's), then
-- returns what the server printed (nc -v says where it came from).
local function serve(netns, addr)
  local srv = nslab.spawn(netns, { "nc", "-v", "-n", "-l", addr, "5000" }, { timeout = 10 })
  local ready = H.wait_for(function()
    return nslab.sh(netns, "ss -Htln 'sport = :5000'").stdout:find("5000", 1, true)
  end, 5)
  assert(ready, "nc is not listening")
  return srv
end

describe("lab:uplink #root", function()
  H.guard()

  local old
  before_each(function() old = forward() end)
  after_each(function() assert.equal(old, forward(), "net.ipv4.ip_forward not put back") end)

  it("joins a node to nslab's namespace: a server there answers it, nothing is left at close", function()
    local lname = H.name("lab")
    local lab = nslab.lab(lname)
    local ok, e = pcall(function()
      local red = lab:host(H.name())
      local up = lab:uplink(red)
      assert.equal("eth0", up.ifname)
      assert.equal("100.64.", up.via:sub(1, 7))
      assert.is_false(up.nat)
      -- nslab's end is up, addressed, in this (the sandbox's) netns
      local l = nslab.link.get(up.peer)
      assert.is_true(l.up)
      local a = H.ipj("addr show dev " .. up.peer)[1].addr_info
      assert.equal(up.via, a[1]["local"])
      -- the node's default route goes through it
      local r = H.ipj("-n " .. q(red.netns) .. " route show default")[1]
      assert.equal(up.via, r.gateway)
      assert.equal("eth0", r.dev)
      -- without nat: no table, forwarding untouched
      assert.same({}, uplink_tables())
      assert.equal(old, forward())
      -- a server listening in nslab's netns answers, seeing the node's address
      local srv = serve(nil, up.via)
      local c = red:run("echo hello | nc -N -w 3 " .. up.via .. " 5000")
      assert.is_true(c.ok, c.stderr)
      local res = srv:wait(5)
      assert.equal("hello\n", res.stdout)
      assert.truthy(res.stderr:find(up.addrs[1]:match("^[^/]+"), 1, true), res.stderr)
      -- the record says it first
      local text = H.read_all(record.path_of(lname))
      assert.truthy(text:find("\nlink " .. up.peer .. "\nlink%-id " .. up.peer .. " %d+\n"), text)
    end)
    lab:close()
    assert(ok, tostring(e))
    assert.equal("", H.sh("ip -o link | grep ' nsu' || true"))
  end)

  it("with nat masquerades the node's traffic leaving nslab's netns, forwarding on; all undone at close", function()
    local lname, fname, pfx = H.name("lab"), H.name("far"), string.format("u%06x", math.random(0, 0xffffff))
    local lab = nslab.lab(lname)
    local ok, e = pcall(function()
      far(fname, pfx)
      local red = lab:host(H.name())
      local up = lab:uplink(red.name, { nat = true, addrs = { "10.255.3.1/30", "10.255.3.2/30" }, ifname = "up0" })
      assert.equal("up0", up.ifname)
      assert.equal("10.255.3.2", up.via)
      assert.equal("1", forward())
      assert.same({ up.table }, uplink_tables())
      local text = H.read_all(record.path_of(lname))
      assert.truthy(text:find("\nsysctl " .. FORWARD .. " " .. old .. "\n", 1, true), text)
      assert.truthy(text:find("\nnft " .. up.table .. "\nnft%-id " .. up.table .. " %d+\n"), text)
      -- the far server sees nslab's address on its link, not the node's
      local srv = serve(fname, "198.18.7.2")
      local c = red:run("echo far | nc -N -w 3 198.18.7.2 5000")
      assert.is_true(c.ok, c.stderr)
      local res = srv:wait(5)
      assert.equal("far\n", res.stdout)
      assert.truthy(res.stderr:find("198.18.7.1", 1, true), res.stderr)
      assert.falsy(res.stderr:find("10.255.3.1", 1, true), res.stderr)
    end)
    lab:close()
    pcall(nslab.link.del, pfx .. "f")
    pcall(nslab.netns.del, fname)
    assert(ok, tostring(e))
    assert.same({}, uplink_tables())
  end)

  it("without nat the far side cannot answer (no route back): masquerading is what makes it work", function()
    local lname, fname, pfx = H.name("lab"), H.name("far"), string.format("u%06x", math.random(0, 0xffffff))
    local lab = nslab.lab(lname)
    local saved = forward()
    local ok, e = pcall(function()
      far(fname, pfx)
      nslab.sysctl.set(nil, FORWARD, "1")
      local red = lab:host(H.name())
      lab:uplink(red)
      local c = red:run("echo x | nc -N -w 1 198.18.7.2 5000")
      assert.is_false(c.ok)
    end)
    lab:close()
    nslab.sysctl.set(nil, FORWARD, saved)
    pcall(nslab.link.del, pfx .. "f")
    pcall(nslab.netns.del, fname)
    assert(ok, tostring(e))
  end)

  it("refuses a second uplink (EEXIST), bad addrs and a taken ifname (EINVAL, EEXIST), making nothing", function()
    local lab <close> = nslab.lab(H.name("lab"))
    local red, blue = lab:host(H.name()), lab:host(H.name())
    lab:link(red, blue, { addrs = { "100.64.0.1/24", "100.64.0.2/24" } })
    local up = lab:uplink(red)
    -- the lab's own 100.64.0.0/24 is skipped
    assert.equal("100.64.1.2", up.via)
    local e = raises("EEXIST", lab.uplink, lab, red)
    assert.truthy(tostring(e):find("has an uplink already", 1, true))
    raises("EINVAL", lab.uplink, lab, blue, { addrs = { "10.255.0.1/30" } })
    raises("EINVAL", lab.uplink, lab, blue, { addrs = { "10.255.0.1/30", "10.255.0.9/30" } })
    raises("EINVAL", lab.uplink, lab, blue, { addrs = { "10.255.0.1", "10.255.0.2" } })
    raises("EINVAL", lab.uplink, lab, blue, { addrs = { "fd00::1/64", "fd00::2/64" } })
    raises("EINVAL", lab.uplink, lab, blue, { addrs = { "100.64.0.5/30", "100.64.0.6/30" } }) -- in use
    raises("EEXIST", lab.uplink, lab, blue, { ifname = "eth0" })
    assert.has_error(function() lab:uplink("nosuch") end)
    assert.has_error(function() lab:uplink(blue, { nat = "yes" }) end)
    assert.has_error(function() lab:uplink(blue, { bogus = 1 }) end)
    -- none of them made anything: one nsu link only, and blue can still get one
    assert.equal(1, select(2, H.sh("ip -o link"):gsub(" nsu", "")))
    lab:uplink(blue, { nat = true })
  end)

  it("refuses a node with a default route already, and nat without nft, before making anything", function()
    local lab <close> = nslab.lab(H.name("lab"))
    local red, blue = lab:host(H.name()), lab:host(H.name())
    lab:link(red, blue, { addrs = { { "10.77.0.1/24", "fd00:77::1/64" }, { "10.77.0.2/24", "fd00:77::2/64" } } })
    red:route("default", "10.77.0.2")
    blue:route("default", "fd00:77::1")
    local e = raises("EEXIST", lab.uplink, lab, red, { nat = true })
    assert.equal(string.format('lab:uplink "%s": File exists: node "%s" has an IPv4 default route already (via '
      .. "10.77.0.2 dev eth0): the uplink adds its own; remove that one first, or give the node no default route "
      .. "(EEXIST)", red.name, red.name), tostring(e))
    e = raises("EEXIST", lab.uplink, lab, blue, { ipv6 = true })
    assert.matches("has an IPv6 default route already (via fd00:77::1 dev eth0)", tostring(e), 1, true)
    assert.equal(0, select(2, H.sh("ip -o link"):gsub(" nsu", "")))
    assert.same({}, uplink_tables())
    assert.equal(2, #red:links())
    -- without ipv6 = true an IPv6 default route is no obstacle
    lab:uplink(blue)
    -- nat without nft: ENOENT naming the package, nothing made
    local dir, rm = H.path_without("nft")
    finally(rm)
    local out, ok = H.sh("env PATH=" .. H.q(dir) .. " " .. H.q(H.bin) .. " -e " .. H.q(string.format([[
local lab <close> = require("nslab").lab(%q)
local a = lab:host(%q)
local ok, e = pcall(lab.uplink, lab, a, { nat = true })
print(e.code, e.msg, #a:links())
]], H.name("lab"), H.name())))
    assert.is_true(ok, out)
    assert.equal("ENOENT\tNo such file or directory: nft is missing: install the Debian package nftables "
      .. "(make deps)\t1\n", out)
  end)

  it("undoes a step that fails midway whole: no veth end left, the record drops it", function()
    local lname = H.name("lab")
    local lab <close> = nslab.lab(lname)
    -- IPv6 off on red's new interfaces: its IPv6 address fails, after the
    -- veth, the IPv4 addresses and route are made (a default route
    -- already there is refused before anything, see above)
    local red = lab:host(H.name(), { sysctls = { ["net.ipv6.conf.default.disable_ipv6"] = 1 } })
    local blue = lab:host(H.name())
    lab:link(red, blue, { addrs = { "10.77.0.1/24", "10.77.0.2/24" } })
    local ok, e = pcall(lab.uplink, lab, red, { nat = true, ipv6 = true })
    assert.is_false(ok)
    assert.truthy(type(e) == "table" and e.step and e.step:find("uplink", 1, true), tostring(e))
    assert.equal("addr.add", e.op, tostring(e))
    assert.equal("", H.sh("ip -o link | grep ' nsu' || true"))
    assert.same({}, uplink_tables())
    local text = H.read_all(record.path_of(lname))
    assert.truthy(text:find("\ndrop link nsu%x+\n"), text)
    -- red can still get one, without IPv6
    assert.equal("eth1", lab:uplink(red).ifname)
  end)

  it("a SIGINT right after the veth is made unwinds the lab: nothing left, no record", function()
    local lname, node = H.name("lab"), H.name()
    local script = H.tmpfile(string.format([[
local lab <close> = require('nslab').lab(%q)
lab:uplink(lab:host(%q), {nat = true})
print("not reached")
]], lname, node))
    local out, ok = H.sh("NSLAB_TEST_SIGNAL_AT=uplink-added " .. H.bin .. " " .. script)
    os.remove(script)
    assert.is_false(ok, out)
    assert.truthy(out:find("interrupted (SIGINT)", 1, true), out)
    assert.falsy(out:find("not reached", 1, true), out)
    assert.is_false(nslab.netns.exists(node))
    assert.equal("", H.sh("ip -o link | grep ' nsu' || true"))
    assert.same({}, uplink_tables())
    assert.equal("", H.read_all(record.path_of(lname)))
  end)

  it("after SIGKILL, nslab --clean removes the veth end and the table and puts the sysctl back", function()
    local lname, node = H.name("lab"), H.name()
    local script = H.tmpfile(string.format([[
local lab = require('nslab').lab(%q)
lab:uplink(lab:host(%q), {nat = true})
os.execute('kill -9 ' .. require('nslab').core.getpid())
]], lname, node))
    local out = H.nslab(script)
    os.remove(script)
    local ok, e = pcall(function()
      assert.equal("1", forward(), out)
      assert.equal(1, #uplink_tables(), out)
      local cout, cok = H.nslab("--clean " .. q(lname))
      assert.is_true(cok, cout)
    end)
    if not ok then H.nslab("--clean " .. q(lname)) end
    assert(ok, tostring(e))
    assert.is_false(nslab.netns.exists(node))
    assert.same({}, uplink_tables())
    assert.equal("", H.sh("ip -o link | grep ' nsu' || true"))
  end)

  it("--clean leaves alone a table of the same name made since, and the sysctl a running lab needs", function()
    local lname, node = H.name("lab"), H.name()
    local script = H.tmpfile(string.format([[
local lab = require('nslab').lab(%q)
local up = lab:uplink(lab:host(%q), {nat = true})
io.stdout:write(up.table, "\n") io.stdout:flush()
os.execute('kill -9 ' .. require('nslab').core.getpid())
]], lname, node))
    local out = H.nslab(script)
    os.remove(script)
    local tbl = out:match("(nslab_uplink_%x+)")
    local lab = nslab.lab(H.name("lab"))
    local ok, e = pcall(function()
      assert(tbl, out)
      -- the dead lab's table replaced by another of the same name
      H.sh("nft delete table ip " .. tbl .. " && nft add table ip " .. tbl)
      lab:uplink(lab:host(H.name()), { nat = true })
      local cout, cok = H.nslab("--clean " .. q(lname))
      assert.is_true(cok, cout)
      assert.truthy(H.sh("nft list tables"):find("table ip " .. tbl, 1, true), cout)
      -- the running lab still forwards
      assert.equal("1", forward())
    end)
    lab:close()
    H.sh("nft delete table ip " .. tostring(tbl))
    if not ok then H.nslab("--clean " .. q(lname)) end
    assert(ok, tostring(e))
    assert.same({}, uplink_tables())
  end)
end)

describe("lab record lines of lab:uplink", function()
  it("parses link, nft and sysctl lines with their identities, and drops", function()
    local text = table.concat({ "nslab-record 1", "lab x", "owner 1 2 3", "netns red",
      "link nsu1", "link-id nsu1 7", "sysctl net.ipv4.ip_forward 0", "nft t1", "nft-id t1 4",
      "link nsu2", "drop link nsu2", "nft t2", "" }, "\n")
    local rec = assert(record.parse(text, "x"))
    assert.same({ { "link", "nsu1", 7 }, { "sysctl", "net.ipv4.ip_forward", "0" }, { "nft", "t1", 4 },
      { "nft", "t2" } }, record.contents(rec).outside)
    assert.same({ "red" }, record.contents(rec).netns)
  end)

  it("keeps them when a close cut short rewrites the record", function()
    local dir, saved = os.tmpname(), record.dir
    os.remove(dir)
    record.dir = dir
    local ok, e = pcall(function()
      local r = record.create("x")
      r:rewrite { netns = { "a" }, lines = { { "link", "nsu1" }, { "link-id", "nsu1", 5 },
        { "sysctl", "net.ipv4.ip_forward", "0" } } }
      local rec = assert(record.load("x"))
      assert.same({ { "link", "nsu1", 5 }, { "sysctl", "net.ipv4.ip_forward", "0" } }, record.contents(rec).outside)
    end)
    record.dir = saved
    os.remove(dir .. "/x.rec")
    os.remove(dir)
    assert(ok, tostring(e))
  end)

  it("refuses a malformed uplink line", function()
    for _, l in ipairs { "link", "link-id nsu1 x", "sysctl net.ipv4.ip_forward", "nft-id t1" } do
      assert.is_nil(record.parse("nslab-record 1\nlab x\nowner 1 2 3\n" .. l .. "\n", "x"), l)
    end
  end)
end)
