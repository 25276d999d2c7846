-- OSPF with BIRD 2: four routers in a ring, a host on r1 and one on r3;
-- the link r4 -- r1 costs 100, the others 10, so h1 reaches h2 through r2.
--
--        h1 -- r1 ------ r2
--              |          |
--         (100)|          |
--              r4 ------ r3 -- h2
--
-- Prints the time the routing took to converge, r1's OSPF neighbours and
-- routing table, then pulls the cable r1 -- r2 (lab:link_state), prints
-- the time to re-converge and the new path from h1 to h2, through r4
-- (traceroute), and exits 1 if h1 no longer reaches h2. Hello 1 s, dead
-- 3 s: the ring converges in about 6 s, most of it BIRD waiting out
-- RFC 2328's MinLSInterval (5 s) between two router LSAs. Needs Debian
-- bird2 and traceroute (make deps).
local nslab = require "nslab"

local lab <close> = nslab.lab "ospf"

-- Every router: its own router id (from its name: links come later),
-- OSPF on each link (point-to-point between routers: no DR election
-- wait; eth1 of r1 and r4 is their link, cost 100), the routes into the
-- kernel.
local function bird(node)
  local n = tonumber(node.name:match("%d+"))
  local slow = (n == 1 or n == 4) and 'interface "eth1" { type ptp; hello 1; dead 3; retransmit 2; cost 100; };' or ""
  return string.format([[
router id 10.255.0.%d;
protocol device { scan time 1; }
protocol kernel { ipv4 { export all; }; }
protocol ospf v2 {
  tick 1;
  ipv4 { import all; export none; };
  area 0 {
    %s
    interface "eth*" { type ptp; hello 1; dead 3; retransmit 2; };
    interface "lan*" { stub yes; };
  };
}
]], n, slow)
end

local r = {}
for i = 1, 4 do r[i] = lab:router("r" .. i, { bird = bird }) end
-- r1 -- r2 -- r3 -- r4 -- r1: 10.0.N.0/30 per link, eth0/eth1 in each router
for i = 1, 4 do
  local j = i % 4 + 1
  lab:link(r[i], r[j], { addrs = { string.format("10.0.%d.1/30", i), string.format("10.0.%d.2/30", i) } })
end
local h1, h2 = lab:host "h1", lab:host "h2"
lab:link(r[1], h1, { ifnames = { "lan0", "eth0" }, addrs = { "10.1.1.1/24", "10.1.1.2/24" } })
lab:link(r[3], h2, { ifnames = { "lan0", "eth0" }, addrs = { "10.1.3.1/24", "10.1.3.2/24" } })
h1:route("default", "10.1.1.1")
h2:route("default", "10.1.3.1")

print(string.format("converged in %.1f s", lab:converge { timeout = 30 }))
print("r1's OSPF neighbours:")
io.write(r[1]:birdc "show ospf neighbors")
print("r1's routes (from BIRD):")
for _, rt in ipairs(r[1]:birdc_routes()) do
  if rt.primary then print(string.format("  %-14s via %-10s dev %s (%s, metric %s)", rt.dst, rt.via or "-",
    rt.dev or "-", rt.proto, tostring(rt.metric))) end
end

local function path()
  local t = h1:run { "traceroute", "-n", "-q", "1", "-w", "1", "10.1.3.2" }
  return t.ok and t.stdout or ("traceroute failed: " .. t.stderr)
end
print("h1 -> h2:")
io.write(path())

lab:link_state(r[1], r[2], "down")
print("link r1 -- r2 down")
print(string.format("re-converged in %.1f s", lab:converge { timeout = 30 }))
print("h1 -> h2 now:")
io.write(path())
if not h1:ping(h2, { count = 3 }) then
  io.stderr:write("h1 does not reach h2 after the link went down\n")
  os.exit(1, true)
end
print("h1 reaches h2 again, through r4")
