-- scripts/isolation.lua: what a lab node isolates, one check per
-- resource. The network namespace: interfaces, IPv4 and IPv6 addresses,
-- routing table, firewall rules (an nft rule dropping ICMP in red leaves
-- blue alone), the protocol stack (a sysctl changed in red only) and the
-- port space (a TCP server on port 80 in red and in blue at once). Then
-- the other namespace kinds a node gets: UTS (each its hostname), PID
-- (`pid = true`: ps lists the node's processes only), IPC (`ipc = true`:
-- a System V message queue made in red is not in blue), time (`time =`:
-- red's clocks run 1 h ahead) and mount (`dirs =`: a file written in red's
-- private /mnt is not in blue's), and cgroup (`cgroup = {}`: a third
-- node's commands in a cgroup of their own, where nslab reaches a cgroup
-- v2; skipped with the reason otherwise). Builds red and blue joined by a veth
-- pair. Needs: root (or `nslab --rootless`), iproute2 (`ip`, `ss`), iputils
-- `ping`, netcat-openbsd `nc`, procps `ps`, util-linux `ipcmk`/`ipcs`, and
-- nftables `nft` for the firewall check (node:nft, node:nft_list; skipped
-- with a message when nft is missing). Exits non-zero if a check fails.
package.path = (arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local nslab = require "nslab"
local ev = require "evidence"

local function names(list, field)
  local s = {}
  for _, x in ipairs(list) do s[#s + 1] = x[field] end
  table.sort(s)
  return s
end

local function has(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

local function addrs(node, family)
  local out = {}
  for _, a in ipairs(node:addr()) do
    if a.family == family and a.scope ~= "link" and not a.address:find("^fe80") then out[#out + 1] = a.address end
  end
  table.sort(out)
  return out
end

print("What a network namespace isolates: red and blue, one veth pair between them.")
local lab <close> = nslab.lab "isolation"
local red = lab:host("red", { pid = true, ipc = true, time = { monotonic = 3600, boottime = 3600 }, dirs = { "/mnt" } })
local blue = lab:host("blue", { pid = true, ipc = true, dirs = { "/mnt" } })
lab:link(red, blue, { ifnames = { "veth-red", "veth-blue" },
  addrs = { { "10.0.0.1/24", "fd00::1/64" }, { "10.0.0.2/24", "fd00::2/64" } } })

ev.step("Interfaces")
local rl, bl, own = names(red:links(), "name"), names(blue:links(), "name"), names(nslab.link.list {}, "name")
ev.say("red: %s | blue: %s | nslab's own netns: %s",
  table.concat(rl, " "), table.concat(bl, " "), table.concat(own, " "))
ev.check(has(rl, "veth-red") and not has(rl, "veth-blue"), "red sees veth-red, not blue's veth-blue")
ev.check(has(bl, "veth-blue") and not has(bl, "veth-red"), "blue sees veth-blue, not red's veth-red")
ev.check(not has(own, "veth-red") and not has(own, "veth-blue"), "the namespace nslab runs in sees neither")

ev.step("IPv4 addresses")
local r4, b4 = addrs(red, "inet"), addrs(blue, "inet")
ev.say("red: %s | blue: %s", table.concat(r4, " "), table.concat(b4, " "))
ev.check(has(r4, "10.0.0.1") and not has(r4, "10.0.0.2"), "10.0.0.2 exists only in blue")

ev.step("IPv6 addresses")
local r6, b6 = addrs(red, "inet6"), addrs(blue, "inet6")
ev.say("red: %s | blue: %s", table.concat(r6, " "), table.concat(b6, " "))
ev.check(has(r6, "fd00::1") and not has(r6, "fd00::2") and has(b6, "fd00::2"), "fd00::2 exists only in blue")

ev.step("Routing table")
red:route("192.0.2.0/24", "10.0.0.2")
ev.run(red, { "ip", "route" })
ev.run(blue, { "ip", "route" })
local in_blue = false
for _, r in ipairs(blue:route()) do
  if tostring(r.dst):find("192.0.2.0", 1, true) then in_blue = true end
end
ev.check(not in_blue, "a route added in red (192.0.2.0/24) is not in blue's table")

ev.step("Firewall rules")
if os.execute("command -v nft >/dev/null 2>&1") then
  red:nft [[
table inet isolation {
  chain input {
    type filter hook input priority 0; policy accept;
    icmp type echo-request drop
    icmpv6 type echo-request drop
  }
}
]]
  ev.run(red, { "nft", "list", "ruleset" })
  local function tables(node)
    local n = 0
    for _, o in ipairs(node:nft_list().nftables) do if o.table then n = n + 1 end end
    return n
  end
  ev.check(tables(red) == 1 and tables(blue) == 0, "red has its table, blue's ruleset is empty")
  ev.check(not blue:ping(red), "red drops the pings blue sends it (its rule works)")
  local ok, rtt = red:ping(blue)
  ev.check(ok, "blue, with no rule, still answers red", ev.ms(rtt))
else
  ev.skip("firewall rules", "needs nft: apt-get install nftables")
end

ev.step("Protocol stack (sysctls)")
local own_ttl = nslab.sysctl.get(nil, "net.ipv4.ip_default_ttl")
nslab.sysctl.set(red.netns, "net.ipv4.ip_default_ttl", "33")
local rt = nslab.sysctl.get(red.netns, "net.ipv4.ip_default_ttl")
local bt = nslab.sysctl.get(blue.netns, "net.ipv4.ip_default_ttl")
ev.say("net.ipv4.ip_default_ttl: red %s, blue %s, nslab's own netns %s",
  rt, bt, nslab.sysctl.get(nil, "net.ipv4.ip_default_ttl"))
ev.check(rt == "33" and bt == "64" and nslab.sysctl.get(nil, "net.ipv4.ip_default_ttl") == own_ttl,
  "ip_default_ttl set to 33 in red changed nothing elsewhere")

ev.step("Port space: a TCP server on port 80 in each namespace at once")
local servers = {}
for _, n in ipairs { red, blue } do
  servers[#servers + 1] = n:spawn("echo hello from " .. n.name .. " | nc -N -l 80")
end
local function listening(n)
  return n:run({ "ss", "-Hltn", "sport", "= :80" }).stdout:find(":80", 1, true) ~= nil
end
local deadline = nslab.core.monotime() + 5
while not (listening(red) and listening(blue)) and nslab.core.monotime() < deadline do nslab.core.sleep(0.02) end
ev.run(red, { "ss", "-ltn" })
ev.run(blue, { "ss", "-ltn" })
ev.check(listening(red) and listening(blue), "red and blue both listen on TCP port 80")
local got_blue = red:run({ "nc", "-N", "-w", "2", "10.0.0.2", "80" }, { stdin = "" }).stdout
local got_red = blue:run({ "nc", "-N", "-w", "2", "10.0.0.1", "80" }, { stdin = "" }).stdout
ev.check(got_blue:find("hello from blue", 1, true) and got_red:find("hello from red", 1, true),
  "each server answers on its own port 80", (got_blue .. " / " .. got_red):gsub("\n", ""))
for _, s in ipairs(servers) do s:wait(2) end

ev.step("Hostname (UTS namespace)")
local own_host = nslab.exec(nil, { "hostname" }).stdout
local rh, bh = red:run({ "hostname" }).stdout, blue:run({ "uname", "-n" }).stdout
ev.say("red: %s | blue: %s | nslab's own: %s", rh:gsub("\n", ""), bh:gsub("\n", ""), (own_host:gsub("\n", "")))
red:run({ "hostname", "red-renamed" })
ev.check(rh == "red\n" and bh == "blue\n", "each node's hostname is its name")
ev.check(blue:run({ "hostname" }).stdout == "blue\n" and nslab.exec(nil, { "hostname" }).stdout == own_host,
  "renaming red's host changed neither blue's nor nslab's")

ev.step("Processes (PID namespace, pid = true)")
local sleeper = blue:spawn { "sleep", "30" }
local function ps(node) return node:run({ "ps", "-e", "-o", "pid=,comm=" }).stdout end
ev.run(red, { "ps", "-e", "-o", "pid,comm" })
ev.run(blue, { "ps", "-e", "-o", "pid,comm" })
ev.check(ps(red):match("^%s*1 nslab%-init\n") and ps(blue):match("^%s*1 nslab%-init\n"),
  "each node has its own pid 1 (its init)")
ev.check(ps(blue):find(" sleep", 1, true) and not ps(red):find(" sleep", 1, true),
  "the sleep blue runs is not among red's processes")
sleeper:kill()
sleeper:wait()

ev.step("IPC (IPC namespace, ipc = true)")
local mk = red:run({ "ipcmk", "-Q" })
local function queues(node)
  return select(2, node:run({ "ipcs", "-q" }).stdout:gsub("\n0x%x+ ", ""))
end
ev.say("%s", mk.stdout:gsub("\n", ""))
ev.check(mk.ok and queues(red) == 1 and queues(blue) == 0, "a message queue made in red is not in blue's ipcs -q")

ev.step("Clocks (time namespace, time = {monotonic = 3600, boottime = 3600})")
local function uptime(node) return tonumber(node:run({ "cat", "/proc/uptime" }).stdout:match("^%S+")) end
local ru, bu = uptime(red), uptime(blue)
ev.say("/proc/uptime: red %.0f s, blue %.0f s", ru, bu)
ev.check(ru - bu > 3590 and ru - bu < 3610, "red's boot clock runs one hour ahead of blue's")

ev.step("Files (mount namespace, dirs = {\"/mnt\"})")
red:run({ "sh", "-c", "echo red > /mnt/who" })
ev.check(red:run({ "cat", "/mnt/who" }).stdout == "red\n" and not blue:run({ "test", "-e", "/mnt/who" }).ok,
  "a file red writes in its /mnt is not in blue's")

ev.step("Resources (cgroup v2, cgroup = {})")
local reach, why = pcall(require("nslab.cgroup").own, "isolation", "cgroup")
if reach then
  local green = lab:host("green", { cgroup = {} })
  local function cg(node) return node:run({ "cat", "/proc/self/cgroup" }).stdout:match("0::([^\n]*)") end
  local gc = cg(green)
  ev.say("green's commands run in %s, red's in %s", tostring(gc), tostring(cg(red)))
  ev.check(gc and gc:sub(-11) == "/node-green" and gc ~= cg(red),
    "green's commands run in a cgroup of its own, red's do not")
else
  ev.skip("cgroup", tostring(why))
end

lab:close()
print(string.format("\nAll %d checks passed; the lab is removed.", ev.checks))
