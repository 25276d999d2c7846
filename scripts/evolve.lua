-- scripts/evolve.lua: a lab grown in three applies of a declared topology
-- (lab:diff prints each plan, lab:apply carries it out in place):
--   1. two hosts and a router between them, with default routes;
--   2. a LAN behind the router: a bridge and two more hosts;
--   3. one host of the LAN leaves, the first link gets shaped and a larger
--      MTU; the router link to the LAN keeps its ifindex throughout.
-- Then the lab is saved as a script (lab:export).
-- Needs: root (or `nslab --rootless`), iproute2 and iputils `ping`.
-- Exits non-zero if an outcome differs.
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local nslab = require "nslab"
local ev = require "evidence"

local lab <close> = nslab.lab "evolve"

-- The topology, as data: what each apply brings the lab to.
local spec = {
  nodes = {
    { name = "evo-a", routes = { { dst = "default", via = "10.9.1.1" } } },
    { name = "evo-r", kind = "router" },
    { name = "evo-b", routes = { { dst = "default", via = "10.9.2.1" } } },
  },
  links = {
    { "evo-a:eth0", "evo-r:eth0", addrs = { "10.9.1.2/24", "10.9.1.1/24" } },
    { "evo-r:eth1", "evo-b:eth0", addrs = { "10.9.2.1/24", "10.9.2.2/24" } },
  },
}

local function apply(title)
  ev.step(title)
  lab:diff(spec) -- prints the plan
  lab:apply(spec)
end

apply("Two hosts and a router")
ev.check(lab:node("evo-a"):ping("10.9.2.2"), "evo-a reaches evo-b through evo-r")

local nodes, links = spec.nodes, spec.links
nodes[#nodes + 1] = { name = "evo-lan", kind = "bridge" }
nodes[#nodes + 1] = { name = "evo-c", routes = { { dst = "default", via = "10.9.3.1" } } }
nodes[#nodes + 1] = { name = "evo-d", routes = { { dst = "default", via = "10.9.3.1" } } }
links[#links + 1] = { "evo-r:eth2", "evo-lan", addrs = { "10.9.3.1/24" } }
links[#links + 1] = { "evo-c", "evo-lan", addrs = { "10.9.3.3/24" } }
links[#links + 1] = { "evo-d", "evo-lan", addrs = { "10.9.3.4/24" } }
apply("A LAN behind the router")
local lan_ifindex = nslab.link.get("eth2", { netns = "evo-r" }).ifindex
ev.check(lab:node("evo-a"):ping("10.9.3.4"), "evo-a reaches evo-d on the LAN")

table.remove(nodes) -- evo-d leaves
table.remove(links)
links[1].mtu, links[1].rate = 9000, "20mbit"
apply("evo-d leaves; the first link shaped, MTU 9000")
ev.check(not nslab.netns.exists("evo-d"), "evo-d is gone")
ev.check(nslab.link.get("eth2", { netns = "evo-r" }).ifindex == lan_ifindex,
  "evo-r's LAN link kept its ifindex " .. lan_ifindex)
ev.check(lab:node("evo-a"):ping("10.9.3.3"), "evo-a reaches evo-c")
ev.run(lab:node("evo-a"), { "ip", "link", "show", "eth0" })

ev.step("The lab as a script (lab:export), its first lines")
local n = 0
for line in lab:export():gmatch("[^\n]+") do
  n = n + 1
  if n <= 8 then ev.say("%s", line) end
end
ev.check(#lab:diff(spec, { quiet = true }).changes == 0, "the lab matches the spec: no changes")
