-- scripts/veth-pair.lua: the classic article experiment. Two network
-- namespaces, red and blue, joined by a veth pair (veth-red 10.0.0.1/24,
-- veth-blue 10.0.0.2/24); shows each namespace's interfaces, addresses and
-- routing table, pings each way, then removes everything. `make demo`.
-- Needs: root (or `nslab --rootless`), iproute2 (`ip`, only to show the
-- evidence) and iputils `ping`. Exits non-zero if a ping fails.
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local nslab = require "nslab"
local ev = require "evidence"

print("The article experiment: two network namespaces joined by a veth pair.")

ev.step("Create two network namespaces, red and blue")
local lab <close> = nslab.lab "article"
local red, blue = lab:host "red", lab:host "blue"
ev.say("ip netns list now shows: %s", table.concat(nslab.netns.list(), ", "))
ev.say("Each starts with nothing but its own loopback (nslab brings lo up):")
ev.run(red, { "ip", "-br", "link" })

ev.step("Join them with a veth pair and give each end an address")
lab:link(red, blue, { ifnames = { "veth-red", "veth-blue" }, addrs = { "10.0.0.1/24", "10.0.0.2/24" } })
ev.say("veth-red lives in red, veth-blue in blue; a packet sent into one end comes out of the other.")

ev.step("Each namespace's interfaces and addresses")
ev.run(red, { "ip", "-br", "addr" })
ev.run(blue, { "ip", "-br", "addr" })
ev.check(red:first_addr() == "10.0.0.1" and blue:first_addr() == "10.0.0.2", "red has 10.0.0.1, blue has 10.0.0.2")

ev.step("Each namespace's routing table")
ev.run(red, { "ip", "route" })
ev.run(blue, { "ip", "route" })
ev.say("Adding 10.0.0.x/24 made the kernel add a route to 10.0.0.0/24 on that veth.")

ev.step("Ping each way")
ev.run(red, { "ping", "-c", "2", "-i", "0.2", "10.0.0.2" })
local ok, rtt = red:ping(blue)
ev.check(ok, "red reaches blue (10.0.0.2)", ev.ms(rtt))
ok, rtt = blue:ping(red)
ev.check(ok, "blue reaches red (10.0.0.1)", ev.ms(rtt))

ev.step("Clean up")
lab:close()
local left = {}
for _, n in ipairs(nslab.netns.list()) do
  if n == "red" or n == "blue" then left[#left + 1] = n end
end
ev.check(#left == 0, "red and blue are gone, and the veth pair with them",
  "ip netns list: " .. (#nslab.netns.list() == 0 and "(empty)" or table.concat(nslab.netns.list(), ", ")))
print(string.format("\nAll %d checks passed.", ev.checks))
