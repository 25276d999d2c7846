-- scripts/bridge.lua: three hosts h1, h2, h3 plugged into one Linux bridge
-- (a switch, in its own namespace "sw") on 10.0.0.0/24; everyone pings
-- everyone (Mininet's pingall). Needs: root (or `nslab --rootless`),
-- iproute2 (`ip`, `bridge`, to show the evidence) and iputils `ping`.
-- Exits non-zero if any ping fails.
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local nslab = require "nslab"
local ev = require "evidence"

print("Three hosts on one bridge.")
local lab <close> = nslab.lab "bridge"

ev.step("A bridge acting as a switch, in its own namespace")
local sw = lab:bridge "sw"
ev.run(sw, { "ip", "-br", "link", "show", "type", "bridge" })

ev.step("Three hosts, each plugged into a bridge port")
for i = 1, 3 do
  local h = lab:host("h" .. i)
  lab:link(h, sw, { addrs = { "10.0.0." .. i .. "/24" } })
end
ev.run(sw, { "bridge", "link" })
lab:show()

ev.step("Everyone pings everyone")
local _, got, sent = lab:pingall()
ev.check(got == sent, "all hosts reach each other through the bridge", got .. "/" .. sent .. " received")

ev.step("The bridge learned where each host is")
ev.run(sw, { "bridge", "fdb", "show", "br", "br0", "dynamic" })

lab:close()
print(string.format("\nAll %d checks passed; the lab is removed.", ev.checks))
