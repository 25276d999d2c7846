-- Routing daemons (issue 15): BIRD 2 in lab routers (nslab.bird,
-- nslab.daemon), node:birdc, node:birdc_routes, node:log, lab:converge.
-- Runs as root and rootless (BIRD needs only capabilities over the
-- router's netns).
local H = require "helper"
local nslab = require "nslab"
local bird = require "nslab.bird"
local record = require "nslab.record"

local q, raises = H.q, H.raises

local function have_bird() return H.which("bird") ~= nil end
local NO_BIRD = "bird is missing: install the Debian package bird2 (make deps)"

-- A minimal BIRD config with router id id and a static route to 192.0.2.0/24.
local function conf(id)
  return string.format([[
router id %s;
protocol device {}
protocol static { ipv4; route 192.0.2.0/24 blackhole; }
]], id)
end

-- Two routers speaking OSPF over one point-to-point link, fast timers.
local function ospf(node)
  return string.format([[
router id 10.255.0.%s;
protocol device { scan time 1; }
protocol kernel { ipv4 { export all; }; }
protocol ospf v2 {
  tick 1;
  ipv4 { import all; };
  area 0 {
    interface "eth*" { type ptp; hello 1; dead 3; retransmit 2; };
    interface "lo" { stub yes; };
  };
}
]], node.name:match("(%d+)$"))
end

-- pids of the processes named comm in netns (`ip netns pids`, /proc).
local function pids_named(netns, comm)
  local out = {}
  for pid in H.sh("ip netns pids " .. q(netns)):gmatch("%d+") do
    if H.read_all("/proc/" .. pid .. "/comm"):gsub("%s+$", "") == comm then out[#out + 1] = pid end
  end
  return out
end

-- Runs a script in a new nslab (stderr with stdout) whose first lines
-- make a lab and a router r running a minimal BIRD, then body; checks it
-- exited 0. Returns its output, the lab's and the router's names.
local function bird_script(body)
  local lname, rname = H.name("lab"), H.name()
  local script = H.tmpfile(string.format([[
local nslab = require "nslab"
local lab <close> = nslab.lab(%q)
local r = lab:router(%q, { bird = "router id 10.0.0.1;\nprotocol device {}\n" })
local rname = %q
]], lname, rname, rname) .. body)
  local out, ok, code = H.nslab(script .. " 2>&1")
  os.remove(script)
  assert.is_true(ok, "exit " .. tostring(code) .. ": " .. out)
  return out, lname, rname
end

describe("nslab.bird.parse_routes", function()
  it("reads routes, next hops and attributes of show route all", function()
    local routes = bird.parse_routes(table.concat({
      "Table master4:",
      "192.0.2.0/24         unicast [peer 19:45:52.903 from 10.0.0.1] * (100) [AS65001i]",
      "\tvia 10.0.0.1 on eth0",
      "\tType: BGP univ",
      "\tBGP.as_path: 65001",
      "\tBGP.next_hop: 10.0.0.1",
      "10.0.3.0/24          unicast [ospf1 19:41:38.405] * I (150/30) [10.255.0.3]",
      "\tvia 10.0.1.2 on eth0 weight 1",
      "\tvia 10.0.4.1 on eth1 weight 1",
      "                     unicast [static1 19:41:38.400] (200)",
      "\tdev eth2",
      "Table master6:",
      "fd00::/64            unreachable [static2 19:41:38.400] * (200)",
    }, "\n"))
    assert.equal(4, #routes)
    local b = routes[1]
    assert.same({ "master4", "192.0.2.0/24", "unicast", "peer", true, 100, "65001", "10.0.0.1", "eth0" },
      { b.table, b.dst, b.type, b.proto, b.primary, b.pref, b.attrs["BGP.as_path"], b.via, b.dev })
    assert.equal("AS65001i", b.info)
    local o = routes[2]
    assert.same({ 150, 30, "I", "10.255.0.3" }, { o.pref, o.metric, o.flags, o.info })
    assert.same({ { via = "10.0.1.2", dev = "eth0" }, { via = "10.0.4.1", dev = "eth1" } }, o.nexthops)
    local s = routes[3]
    assert.same({ "10.0.3.0/24", "static1", false, "eth2" }, { s.dst, s.proto, s.primary, s.dev })
    assert.is_nil(s.via)
    assert.same({ "master6", "fd00::/64", "unreachable" }, { routes[4].table, routes[4].dst, routes[4].type })
  end)
end)

describe("routers with BIRD #root", function()
  H.guard()

  it("start BIRD in the router, answering on its own socket; birdc, birdc_routes, log; stopped at close", function()
    if not have_bird() then pending(NO_BIRD) return end
    local lname = H.name("lab")
    local lab = nslab.lab(lname)
    local ok, e = pcall(function()
      local r = lab:router(H.name(), { bird = function(node) return conf("10.9.9.9") .. "# " .. node.name .. "\n" end })
      -- running in the router's netns, as bird, its socket not on nslab's /run
      assert.equal(1, #pids_named(r.netns, "bird"))
      assert.is_false((select(2, H.sh("test -e /run/bird/bird.ctl"))))
      assert.matches("Router ID is 10.9.9.9", r:birdc "show status", 1, true)
      -- plain birdc in the router reaches it: the default socket is the router's
      assert.matches("Router ID is 10.9.9.9", r:run("birdc show status").stdout, 1, true)
      local routes = r:birdc_routes()
      assert.equal(1, #routes)
      assert.same({ "master4", "192.0.2.0/24", "blackhole", "static1", true, 200 },
        { routes[1].table, routes[1].dst, routes[1].type, routes[1].proto, routes[1].primary, routes[1].pref })
      assert.same({}, r:birdc_routes "table master6")
      assert.matches("Started", r:log "bird", 1, true)
      -- refused commands raise with BIRD's reply
      local be = raises("EINVAL", r.birdc, r, "show nonsense")
      assert.matches("No such command", tostring(be), 1, true)
      assert.equal("node:birdc", be.op)
      assert.matches("Network not found", tostring(raises("EINVAL", r.birdc_routes, r, "for 10.1.2.3")), 1, true)
      assert.has_error(function() r:birdc(42) end, "bad argument #1 to 'node:birdc' (string expected, got number)")
      assert.matches('runs no daemon "ospfd" %(it runs bird%)', tostring(raises("EINVAL", r.log, r, "ospfd")))
      local h = lab:host(H.name())
      assert.matches("runs no daemon", tostring(raises("EINVAL", h.birdc, h, "show status")), 1, true)
      local proc = r._daemons.bird.proc
      lab:close()
      -- stopped with SIGTERM, which BIRD takes as a clean shutdown
      local res = proc:wait()
      assert.equal(0, res.status, tostring(res.signal) .. " " .. res.stderr)
    end)
    pcall(lab.close, lab)
    assert(ok, tostring(e))
    assert.equal("", H.read_all(record.path_of(lname)))
  end)

  it("refuse a config BIRD rejects, with its message and the line, and remove the router", function()
    if not have_bird() then pending(NO_BIRD) return end
    local lab <close> = nslab.lab(H.name("lab"))
    local name = H.name()
    local e = raises("EINVAL", lab.router, lab, name, { bird = "router id 10.0.0.1;\nprotocol devize {}\n" })
    local msg = tostring(e)
    assert.matches("bird.conf:2:", msg, 1, true)
    assert.matches("syntax error", msg, 1, true)
    assert.matches('line 2: "protocol devize {}"', msg, 1, true)
    assert.equal("lab:router", e.op)
    assert.is_false(nslab.netns.exists(name))
    assert.is_nil(lab:node(name))
    assert.same({}, lab.nodes)
    -- the name is free again
    assert.equal(name, lab:router(name, { bird = conf("10.0.0.1") }).name)
  end)

  it("raise EIO with BIRD's message when it exits during its start, and remove the router", function()
    if not have_bird() then pending(NO_BIRD) return end
    local lab <close> = nslab.lab(H.name("lab"))
    local name = H.name()
    -- bird -p accepts it; only the running BIRD opens the log file
    local e = raises("EIO", lab.router, lab, name,
      { bird = 'router id 10.0.0.1;\nlog "/nonexistent/x.log" all;\nprotocol device {}\n' })
    assert.matches("bird exited during its start (status 1)", tostring(e), 1, true)
    assert.matches("Unable to open log file '/nonexistent/x.log'", tostring(e), 1, true)
    assert.is_false(nslab.netns.exists(name))
    assert.same({}, lab.nodes)
  end)

  it("name the Debian package when bird is missing, and remove the router", function()
    -- PATH without /usr/sbin: nslab finds no bird
    local rname = H.name()
    local out, ok = H.sh("env PATH=/bin " .. q(H.bin) .. " -e " .. q(string.format([[
local lab <close> = require("nslab").lab(%q)
local ok, e = pcall(lab.router, lab, %q, { bird = "router id 10.0.0.1;\nprotocol device {}\n" })
print(e.code, e, #lab.nodes, require("nslab").netns.exists(%q))
]], H.name("lab"), rname, rname)))
    assert.is_true(ok, out)
    assert.matches("^ENOENT\t", out)
    assert.matches("bird is missing: install the Debian package bird2 (make deps)", out, 1, true)
    assert.matches("\t0\tfalse\n$", out)
  end)

  it("check the bird option", function()
    if not have_bird() then pending(NO_BIRD) return end
    local lab <close> = nslab.lab(H.name("lab"))
    assert.has_error(function() lab:router(H.name(), { bird = 42 }) end,
      "bad argument #2 to 'lab:router' (field 'bird' must be a string or a function, not number)")
    local name = H.name()
    assert.matches("returned nil, not a string", tostring(raises("EINVAL", lab.router, lab, name,
      { bird = function() end })), 1, true)
    assert.is_false(nslab.netns.exists(name))
  end)

  it("keep two routers' daemons apart: each birdc reaches its own BIRD only", function()
    if not have_bird() then pending(NO_BIRD) return end
    local lab <close> = nslab.lab(H.name("lab"))
    local a = lab:router(H.name(), { bird = conf("10.0.0.1") })
    local b = lab:router(H.name(), { bird = conf("10.0.0.2") })
    assert.matches("Router ID is 10.0.0.1", a:birdc "show status", 1, true)
    assert.matches("Router ID is 10.0.0.2", b:birdc "show status", 1, true)
    assert.matches("Router ID is 10.0.0.1", a:run("birdc show status").stdout, 1, true)
    assert.matches("Router ID is 10.0.0.2", b:run("birdc show status").stdout, 1, true)
    -- one socket each, at the same path, in each router's own /run
    assert.equal("/run/bird/bird.ctl\n", a:run("ls /run/bird/*.ctl").stdout)
    assert.equal("/run/bird/bird.ctl\n", b:run("ls /run/bird/*.ctl").stdout)
  end)

  it("converge: OSPF between two routers, then lab:converge returns the seconds it took", function()
    if not have_bird() then pending(NO_BIRD) return end
    local lab <close> = nslab.lab(H.name("lab"))
    local r1, r2 = lab:router(H.name() .. "-1", { bird = ospf }), lab:router(H.name() .. "-2", { bird = ospf })
    lab:link(r1, r2, { addrs = { "10.0.0.1/30", "10.0.0.2/30" } })
    r1:addr("lo", "10.255.0.1/32")
    local t = lab:converge { timeout = 30, stable = 0.5 }
    assert.is_true(t >= 0 and t < 30, tostring(t))
    -- the kernel has r1's loopback through OSPF (independent view: ip)
    local rt = H.ipj("-n " .. q(r2.netns) .. " route show 10.255.0.1")
    assert.equal("10.0.0.1", rt[1] and rt[1].gateway, H.sh("ip -n " .. q(r2.netns) .. " route"))
    local mine
    for _, x in ipairs(r2:birdc_routes()) do if x.dst == "10.255.0.1/32" then mine = x end end
    assert.same({ "ospf1", "10.0.0.1", "eth0" }, { mine.proto, mine.via, mine.dev })
    assert.matches("Full/PtP", r2:birdc "show ospf neighbors", 1, true)
  end)

  it("converge raises ETIMEDOUT naming the routers that do not reach each other", function()
    local lab <close> = nslab.lab(H.name("lab"))
    local r1, r2, r3 = lab:router "c1", lab:router "c2", lab:router "c3"
    lab:link(r1, r2, { addrs = { "10.0.0.1/30", "10.0.0.2/30" } })
    lab:link(r2, r3, { addrs = { "10.0.1.1/30", "10.0.1.2/30" } })
    local e = raises("ETIMEDOUT", lab.converge, lab, { timeout = 0.3 })
    assert.matches("c1 -> c3", tostring(e), 1, true)
    assert.has_error(function() lab:converge { timeout = "1" } end,
      "bad argument #1 to 'lab:converge' (field 'timeout' must be a number, not string)")
    raises("EINVAL", lab.converge, lab, { timeout = 0 })
  end)

  it("notice at close a BIRD killed from outside, and still clean up", function()
    if not have_bird() then pending(NO_BIRD) return end
    local out, lname, rname = bird_script([[
local p = r._daemons.bird.proc.pid
os.execute("kill -9 " .. p)
while r._daemons.bird.proc:running() do nslab.core.sleep(0.01) end
print("killed " .. p)
]])
    assert.matches("killed %d+", out)
    assert.matches('bird of router "' .. rname .. '" had ended before the lab closed (killed by SIGKILL)', out, 1, true)
    assert.matches("last lines of /run/bird/bird.log", out, 1, true)
    assert.is_false(nslab.netns.exists(rname))
    assert.equal("", H.read_all(record.path_of(lname)))
  end)

  it("forget quietly at close the BIRD of a router lab:remove took away", function()
    if not have_bird() then pending(NO_BIRD) return end
    local out, lname, rname = bird_script([[
lab:host(rname .. "h")
lab:remove(r)
print("removed")
]])
    assert.equal("removed\n", out)
    assert.is_false(nslab.netns.exists(rname))
    assert.equal("", H.read_all(record.path_of(lname)))
  end)

  it("converge fails naming a BIRD killed from outside (EIO, its log), said once", function()
    if not have_bird() then pending(NO_BIRD) return end
    local out, lname, rname = bird_script([[
os.execute("kill -9 " .. r._daemons.bird.proc.pid)
local ok, e = pcall(lab.converge, lab, { timeout = 5 })
print(ok, e.code, e.log ~= nil)
print(tostring(e):match("^[^\n]*"))
]])
    assert.matches("^false\tEIO\ttrue\n", out)
    assert.matches(string.format('\nlab:converge "%s": Input/output error: bird of router "%s" is not running '
      .. "(killed by SIGKILL); last lines of /run/bird/bird.log:\n", lname, rname), out, 1, true)
    assert.not_matches("had ended before the lab closed", out, 1, true)
    assert.is_false(nslab.netns.exists(rname))
  end)

  it("refuse bird and frr on one router, before anything is made", function()
    local lab <close> = nslab.lab(H.name("lab"))
    local name = H.name()
    local e = raises("EINVAL", lab.router, lab, name, { bird = conf("10.0.0.1"),
      frr = { daemons = { "zebra" } } })
    assert.equal(string.format('lab:router "%s": Invalid argument: router "%s" cannot run both bird and frr: '
      .. "two routing daemons would fight over one kernel routing table (give one; put the other on a second "
      .. "router) (EINVAL)", name, name), tostring(e))
    assert.is_false(nslab.netns.exists(name))
    assert.equal(0, #lab.nodes)
  end)

  it("nslab --clean after SIGKILL ends the daemons with the lab", function()
    if not have_bird() then pending(NO_BIRD) return end
    local lname, rname = H.name("lab"), H.name()
    local script = H.tmpfile(string.format([[
local nslab = require "nslab"
local lab = nslab.lab(%q)
local r = lab:router(%q, { bird = "router id 10.0.0.1;\nprotocol device {}\n" })
print("bird " .. r._daemons.bird.proc.pid)
io.stdout:flush()
os.execute("kill -9 " .. nslab.core.getpid())
]], lname, rname))
    local out = H.nslab(script)
    os.remove(script)
    local pid = out:match("bird (%d+)")
    local ok, e = pcall(function()
      assert.truthy(pid, out)
      assert.equal("bird", H.read_all("/proc/" .. pid .. "/comm"):gsub("%s+$", ""), "bird is not running: " .. out)
      local cout, cok = H.nslab("--clean " .. q(lname))
      assert.is_true(cok, cout)
    end)
    if not ok then H.nslab("--clean " .. q(lname)) end
    assert(ok, tostring(e))
    assert.is_true(H.wait_for(function() return H.read_all("/proc/" .. pid .. "/comm") == "" end, 5))
    assert.is_false(nslab.netns.exists(rname))
    assert.equal("", H.read_all(record.path_of(lname)))
  end)
end)
