-- scripts/router.lua: two subnets joined by a router namespace. left
-- (10.0.1.2/24) and right (10.0.2.2/24) each have a default route through
-- router (10.0.1.1, 10.0.2.1, forwarding on); left pings right across it.
-- Then forwarding is turned off in router and the same ping fails.
-- The claims are `nslab.expect` checks, so `nslab --test scripts/router.lua`
-- prints one PASS/FAIL line per check and exits 0 only when all pass.
-- Needs: root (or `nslab --rootless`), iproute2 (`ip`, to show the
-- evidence) and iputils `ping`. Exits non-zero if either outcome differs.
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local nslab = require "nslab"
local ev = require "evidence"

print("Two subnets joined by a router.")
local lab <close> = nslab.lab "router"

ev.step("Two hosts and a router between them")
local left, router, right = lab:host "left", lab:router "router", lab:host "right"
lab:link(left, router, { addrs = { "10.0.1.2/24", "10.0.1.1/24" } })
lab:link(router, right, { addrs = { "10.0.2.1/24", "10.0.2.2/24" } })
ev.say("router forwards: net.ipv4.ip_forward = %s (a new namespace starts at 0)",
  nslab.sysctl.get(router.netns, "net.ipv4.ip_forward"))

ev.step("Without routes, left cannot reach the other subnet")
ev.expect("left -> right (10.0.2.2) fails: no route", lab.unreachable, lab, left, "10.0.2.2")

ev.step("Default routes through the router")
left:route("default", "10.0.1.1")
right:route("default", "10.0.2.1")
ev.run(left, { "ip", "route" })
ev.run(router, { "ip", "route" })
ev.run(right, { "ip", "route" })

ev.step("Ping across the router")
ev.run(left, { "ping", "-c", "1", "10.0.2.2" })
ev.expect("left reaches right through router", lab.reachable, lab, left, right)
ev.expect("right reaches left through router", lab.reachable, lab, right, left)
ev.expect("left sends to right via router", lab.route_via, lab, left, right, router)

ev.step("Forwarding off in the router: the same ping fails")
nslab.sysctl.set(router.netns, "net.ipv4.ip_forward", "0")
ev.say("router: net.ipv4.ip_forward = %s", nslab.sysctl.get(router.netns, "net.ipv4.ip_forward"))
ev.expect("left no longer reaches right", lab.unreachable, lab, left, right)
ev.expect("left still reaches the router itself", lab.reachable, lab, left, "10.0.1.1")

lab:close()
print(string.format("\nAll %d checks passed; the lab is removed.", ev.checks))
