-- Routing daemons (issue 15): FRR in lab routers (nslab.frr), node:vtysh.
-- Skips when FRR is missing (`make deps-frr`); rootless, FRR routers are
-- refused (its daemons run as user frr, which rootless nslab cannot map).
local H = require "helper"
local nslab = require "nslab"
local frr = require "nslab.frr"
local record = require "nslab.record"

local q, raises = H.q, H.raises

-- zebra + ospfd, OSPF point-to-point on eth*, hello 1 s, dead 3 s, lo in OSPF.
local function ospf(node)
  return string.format([[
frr defaults traditional
hostname %s
interface eth0
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 3
 ip ospf retransmit-interval 1
!
router ospf
 ospf router-id 10.255.0.%s
 network 10.0.0.0/8 area 0
 timers throttle lsa all 0
 timers lsa min-arrival 0
 timers throttle spf 0 50 500
!
]], node.name, node.name:match("(%d+)$"))
end

local DAEMONS = { "zebra", "ospfd" }
local MISSING = "FRR is missing: install the Debian package frr (make deps-frr)"

-- Why an FRR spec cannot run here, or nil.
local function cannot()
  if not frr.available() then return MISSING end
  if H.rootless() then return "FRR's daemons need user frr, which rootless nslab does not map" end
  return nil
end

describe("routers with FRR #root", function()
  H.guard()

  it("refuses FRR rootless (user frr is not mapped), saying why", function()
    if not frr.available() then pending(MISSING) return end
    if not H.rootless() then pending("runs rootless only (make check-rootless)") return end
    local lab <close> = nslab.lab(H.name("lab"))
    local name = H.name()
    local e = raises("EPERM", lab.router, lab, name, { frr = { daemons = DAEMONS } })
    assert.matches("run as user frr", tostring(e), 1, true)
    assert.is_false(nslab.netns.exists(name))
  end)

  describe("as root (or the option checks anywhere)", function()
    it("run zebra and ospfd, vtysh reaching this router's daemons, JSON decoded; OSPF converges", function()
      if cannot() then pending(cannot()) return end
      local lname = H.name("lab")
      local lab = nslab.lab(lname)
      local ok, e = pcall(function()
        local base = H.name()
        local r1 = lab:router(base .. "-1", { frr = { daemons = DAEMONS, config = ospf } })
        local r2 = lab:router(base .. "-2", { frr = { daemons = DAEMONS, config = ospf } })
        lab:link(r1, r2, { addrs = { "10.0.0.1/30", "10.0.0.2/30" } })
        r1:addr("lo", "10.9.0.1/32")
        local t = lab:converge { timeout = 30 }
        assert.is_true(t < 30)
        -- running as user frr in the router's netns, nowhere else
        local users = H.sh("ip netns pids " .. q(r1.netns) .. " | xargs -r ps -o user=,comm= -p")
        assert.matches("frr%s+zebra", users)
        assert.matches("frr%s+ospfd", users)
        local n = r2:vtysh "show ip ospf neighbor json"
        assert.equal("table", type(n.neighbors))
        assert.truthy(n.neighbors["10.255.0.1"], require("nslab.json").encode(n))
        assert.matches("O>%* 10.9.0.1/32", r2:vtysh "show ip route")
        -- the kernel has it (independent view: ip)
        assert.equal("10.0.0.1", H.ipj("-n " .. q(r2.netns) .. " route show 10.9.0.1")[1].gateway)
        -- each router's vtysh (plain, typed in the router) reaches its own daemons
        assert.matches("hostname " .. r1.name, r1:run("vtysh -c 'show running-config'").stdout, 1, true)
        assert.matches("hostname " .. r2.name, r2:run("vtysh -c 'show running-config'").stdout, 1, true)
        assert.matches("ospfd", r1:log "ospfd", 1, true)
        local ve = raises("EINVAL", r1.vtysh, r1, "show nonsense")
        assert.matches("Unknown command", tostring(ve), 1, true)
        assert.has_error(function() r1:vtysh() end, "bad argument #1 to 'node:vtysh' (string expected, got nil)")
        local procs = { r1._daemons.zebra.proc, r1._daemons.ospfd.proc }
        lab:close()
        for _, p in ipairs(procs) do
          local res = p:wait()
          assert.is_nil(res.signal, "stopped by SIGKILL, not SIGTERM: " .. res.stderr)
        end
        -- nothing on nslab's file systems: FRR's crash logs, config, sockets
        assert.equal("", H.sh("ls -A /var/tmp/frr 2>/dev/null || true"))
        assert.falsy(H.read_all("/etc/frr/frr.conf"):find(r1.name, 1, true))
        assert.equal("", H.sh("ls /run/frr/*.vty 2>/dev/null || true"))
      end)
      pcall(lab.close, lab)
      assert(ok, tostring(e))
      assert.equal("", H.read_all(record.path_of(lname)))
    end)

    it("speak eBGP with a BIRD router: the prefix BIRD announces shows in FRR's JSON", function()
      if cannot() then pending(cannot()) return end
      if not H.which("bird") then pending("bird is missing: install the Debian package bird2 (make deps)") return end
      local lab <close> = nslab.lab(H.name("lab"))
      local b = lab:router(H.name(), { bird = [[
router id 10.0.0.1;
protocol device { scan time 1; }
protocol static { ipv4; route 192.0.2.0/24 unreachable; }
protocol bgp peer {
  local as 65001; neighbor 10.0.0.2 as 65002;
  hold time 6; connect delay time 1; connect retry time 1;
  ipv4 { import all; export where source = RTS_STATIC; };
}
]] })
      local f = lab:router(H.name(), { frr = { daemons = { "bgpd" }, config = [[
frr defaults traditional
router bgp 65002
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 timers bgp 2 6
 neighbor 10.0.0.1 remote-as 65001
 neighbor 10.0.0.1 timers connect 1
!
]] } })
      lab:link(b, f, { addrs = { "10.0.0.1/30", "10.0.0.2/30" } })
      local got = H.wait_for(function()
        local t = f:vtysh "show bgp ipv4 unicast json"
        return t.routes and t.routes["192.0.2.0/24"]
      end, 20)
      assert.truthy(got, f:vtysh "show bgp summary")
      assert.equal("65001", got[1].path)
      assert.equal(65002, f:vtysh("show bgp ipv4 unicast json").localAS)
      assert.matches("Established", b:birdc "show protocols peer", 1, true)
      -- zebra put it in the kernel (independent view: ip)
      assert.is_true(H.wait_for(function()
        local r = H.ipj("-n " .. q(f.netns) .. " route show 192.0.2.0/24")[1]
        return r and r.gateway == "10.0.0.1"
      end, 5))
    end)

    it("refuse a config FRR rejects, with vtysh's message, and remove the router", function()
      if cannot() then pending(cannot()) return end
      local lab <close> = nslab.lab(H.name("lab"))
      local name = H.name()
      local e = raises("EINVAL", lab.router, lab, name,
        { frr = { daemons = DAEMONS, config = "hostname x\nrouter ospf\n bogus line\n" } })
      assert.matches("line 3", tostring(e), 1, true)
      assert.matches("Unknown command", tostring(e), 1, true)
      assert.matches("bogus line", tostring(e), 1, true)
      assert.is_false(nslab.netns.exists(name))
      assert.same({}, lab.nodes)
    end)

    it("check the frr option, before anything is made (FRR or not, root or not)", function()
      local lab <close> = nslab.lab(H.name("lab"))
      local name = H.name()
      assert.matches('unknown FRR daemon "ospf"', tostring(raises("EINVAL", lab.router, lab, name,
        { frr = { daemons = { "ospf" } } })), 1, true)
      raises("EINVAL", lab.router, lab, name, { frr = {} })
      assert.has_error(function() lab:router(name, { frr = { daemons = DAEMONS, conf = "" } }) end,
        "bad argument #2 to 'lab:router' (field 'frr': unknown field 'conf')")
      assert.has_error(function() lab:router(name, { frr = "zebra" }) end,
        "bad argument #2 to 'lab:router' (field 'frr' must be a table, not string)")
      assert.is_false(nslab.netns.exists(name))
    end)

    it("name the Debian package when vtysh is missing, and remove the router", function()
      if not frr.available() then pending(MISSING) return end
      local dir, rm = H.path_without("vtysh")
      finally(rm)
      local rname = H.name()
      local out, ok = H.sh("env PATH=" .. H.q(dir) .. " " .. H.q(H.bin) .. " -e " .. H.q(string.format([[
local lab <close> = require("nslab").lab(%q)
local ok, e = pcall(lab.router, lab, %q, { frr = { daemons = { "zebra" } } })
print(e.code, e.msg, #lab.nodes, require("nslab").netns.exists(%q))
]], H.name("lab"), rname, rname)))
      assert.is_true(ok, out)
      assert.equal("ENOENT\tNo such file or directory: vtysh is missing: install the Debian package frr "
        .. "(make deps-frr)\t0\tfalse\n", out)
    end)
  end)
end)
