-- scripts/shaping.lua: a bandwidth experiment as Mininet's TCLink
-- examples do it. h1 -- r1 -- h2, routed; iperf3 from h1 to h2 over the
-- unshaped path, then with r1 -- h2 shaped to 10 Mbit/s, then changed at
-- run time to 2 Mbit/s (the link stays: same ifindex, addresses and
-- routes), then a link failure and recovery on a timeline while h1 pings
-- h2 ten times a second.
-- Needs: root (or `nslab --rootless`), iperf3, iputils `ping`. Exits
-- non-zero if a measured figure is off.
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local nslab = require "nslab"
local ev = require "evidence"

print("Shaping a link: bandwidth, a run-time change, a failure on a timeline.")
local lab <close> = nslab.lab "shaping"

-- Mbit/s h1 sends to h2 in 2 s of iperf3 (what h2 received).
local function iperf(h1, h2)
  local srv = h2:spawn { "iperf3", "-s", "-1" }
  local r
  for _ = 1, 50 do -- until the server listens
    r = h1:run({ "iperf3", "-c", "10.0.2.2", "-t", "2", "-f", "m" }, { timeout = 20 })
    if r.ok then break end
    nslab.core.sleep(0.05)
  end
  srv:wait(5)
  local mbit = r.stdout:match("([%d.]+) Mbits/sec[^\n]*receiver")
  return assert(tonumber(mbit), "iperf3 printed no figure:\n" .. r.stdout .. r.stderr)
end

ev.step("Two hosts and a router between them")
local h1, r1, h2 = lab:host "h1", lab:router "r1", lab:host "h2"
lab:link(h1, r1, { addrs = { "10.0.1.2/24", "10.0.1.1/24" } })
lab:link(r1, h2, { addrs = { "10.0.2.1/24", "10.0.2.2/24" } })
h1:route("default", "10.0.1.1")
h2:route("default", "10.0.2.1")
local before = nslab.link.get("eth1", { netns = r1.netns }).ifindex

ev.step("Unshaped")
local mbit = iperf(h1, h2)
ev.check(mbit > 100, "h1 -> h2 unshaped", string.format("%.1f Mbit/s", mbit))

ev.step("r1 -- h2 shaped to 10 Mbit/s each way")
lab:impair(r1, h2, { rate = "10mbit" })
print("   " .. tostring(r1))
mbit = iperf(h1, h2)
ev.check(mbit >= 9.0 and mbit <= 10.5, "h1 -> h2 at 9.0-10.5 Mbit/s", string.format("%.2f Mbit/s", mbit))

ev.step("Changed at run time to 2 Mbit/s (tbf replaced in place)")
lab:impair(r1, h2, { rate = "2mbit" })
mbit = iperf(h1, h2)
ev.check(mbit >= 1.8 and mbit <= 2.2, "h1 -> h2 at 1.8-2.2 Mbit/s", string.format("%.2f Mbit/s", mbit))
local after = nslab.link.get("eth1", { netns = r1.netns }).ifindex
ev.check(after == before, "r1's eth1 is the same link", "ifindex " .. after)
lab:show()

ev.step("A failure and recovery on a timeline: down at 0.5 s, up at 1.5 s")
local t = lab:schedule {
  { at = 0.5, link = { r1, h2 }, state = "down" },
  { at = 1.5, link = { r1, h2 }, state = "up" },
}
-- 25 pings, one every 0.1 s, over the 2.5 s around it.
local r = h1:run({ "ping", "-n", "-q", "-i", "0.1", "-W", "0.1", "-c", "25", "10.0.2.2" }, { timeout = 10 })
t:wait()
local sent, got = r.stdout:match("(%d+) packets transmitted, (%d+) received")
local lost = tonumber(sent) - tonumber(got)
ev.check(lost >= 6 and lost <= 14, "about 10 pings lost while the link was down for 1 s",
  string.format("%d of %s lost", lost, sent))
ev.check(h1:ping(h2), "h1 reaches h2 again after the recovery (routes kept)")

lab:close()
print(string.format("\nAll %d checks passed; the lab is removed.", ev.checks))
