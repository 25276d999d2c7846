-- eBGP with BIRD 2: r1 (AS 65001) announces 192.0.2.0/24 to r2 (AS
-- 65002) over one link; the prefix is shown from both sides: what r1
-- exports to its peer, what r2 learnt (with the AS path) and put in its
-- kernel table, and a ping from r2 to an address of the prefix on r1.
-- Needs Debian bird2 (make deps).
local nslab = require "nslab"

local lab <close> = nslab.lab "bgp"

-- One session per router, to the other end of the link; eBGP imports and
-- exports nothing unless told (RFC 8212): here, everything.
local function bird(id, as, peer, peer_as, extra)
  return string.format([[
router id %s;
protocol device { scan time 1; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; }
%s
protocol bgp peer {
  local as %d;
  neighbor %s as %d;
  hold time 6; connect delay time 1; connect retry time 1;
  ipv4 { import all; export where source = RTS_STATIC; };
}
]], id, extra or "", as, peer, peer_as)
end

-- r1 announces 192.0.2.0/24 (a static route) and owns 192.0.2.1 in it, on lo.
local r1 = lab:router("r1", { bird = bird("10.0.0.1", 65001, "10.0.0.2", 65002,
  "protocol static { ipv4; route 192.0.2.0/24 unreachable; }") })
local r2 = lab:router("r2", { bird = bird("10.0.0.2", 65002, "10.0.0.1", 65001) })
lab:link(r1, r2, { addrs = { "10.0.0.1/30", "10.0.0.2/30" } })
r1:addr("lo", "192.0.2.1/32")

-- Up when r2 has the prefix from BGP.
local t0 = nslab.core.monotime()
local learnt
while not learnt and nslab.core.monotime() - t0 < 30 do
  for _, rt in ipairs(r2:birdc_routes "protocol peer") do
    if rt.dst == "192.0.2.0/24" then learnt = rt end
  end
  if not learnt then nslab.core.sleep(0.1) end
end
if not learnt then
  io.stderr:write("r2 did not learn 192.0.2.0/24:\n", r2:birdc "show protocols all peer")
  os.exit(1, true)
end
print(string.format("session up, prefix learnt in %.1f s", nslab.core.monotime() - t0))

print("r1 (AS 65001) exports to its peer:")
io.write(r1:birdc "show route export peer")
print("r2 (AS 65002) learnt:")
print(string.format("  %s via %s, AS path %s, next hop %s", learnt.dst, learnt.via, learnt.attrs["BGP.as_path"],
  learnt.attrs["BGP.next_hop"]))
print("r2's kernel routing table:")
io.write(r2:run { "ip", "route" }.stdout)
local ok = r2:ping("192.0.2.1")
print(ok and "r2 reaches 192.0.2.1 through BGP" or "r2 does not reach 192.0.2.1")
os.exit(ok and 0 or 1, true)
