-- scripts/playground.lua: a small lab to play with at the prompt, as
-- Mininet's `sudo mn` gives one. Run it with `nslab -i`:
--
--     sudo nslab -i scripts/playground.lua
--
-- Two hosts, h1 (10.0.1.1, fd00:1::1) and h2 (10.0.2.1, fd00:2::1), on
-- two subnets joined by router r1, and a bridge s1 with a third host h3
-- (10.0.1.3) beside h1. The lab stays open at the prompt: `lab` is the
-- lab, h1, h2, h3, r1, s1 are globals, and Mininet's words work:
--
--     nodes   net   dump   links   pingall   link h1 s1 down   iperf h1 h2
--     h1 ping -c1 h2          (a node command: node names become addresses)
--     h1:ping(h2)   lab:show()   print(lab:json())   help
--
-- It closes when the REPL ends (Ctrl-D, exit). Without `-i` the script
-- builds the lab, checks that every host reaches every other, and closes
-- it. Needs root (or `nslab --rootless`) and iputils ping.
local nslab = require "nslab"

-- `<close>`: under `nslab -i` the lab stays open for the prompt.
local lab <close> = nslab.lab "playground"
local h1, h2, h3 = lab:host "h1", lab:host "h2", lab:host "h3"
local r1, s1 = lab:router "r1", lab:bridge "s1"
lab:link(h1, s1, { addrs = { { "10.0.1.1/24", "fd00:1::1/64" } } })
lab:link(h3, s1, { addrs = { { "10.0.1.3/24", "fd00:1::3/64" } } })
lab:link(r1, s1, { addrs = { { "10.0.1.254/24", "fd00:1::fe/64" } } })
lab:link(r1, h2, { addrs = { { "10.0.2.254/24", "fd00:2::fe/64" }, { "10.0.2.1/24", "fd00:2::1/64" } } })
for _, h in ipairs { h1, h3 } do
  h:route("default", "10.0.1.254")
  h:route { dst = "default", via = "fd00:1::fe" }
end
h2:route("default", "10.0.2.254")
h2:route { dst = "default", via = "fd00:2::fe" }

local _, got, sent = lab:pingall { quiet = true }
assert(got == sent, string.format("only %d of %d pings came back", got, sent))
print(string.format("lab %s: %d nodes, every host reaches every other (%d/%d pings)%s", lab.name, #lab.nodes,
  got, sent, rawget(_G, "NSLAB_INTERACTIVE") and "; it stays open here: try `help`, `net`, `pingall`" or ""))
