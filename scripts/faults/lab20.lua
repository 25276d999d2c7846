-- scripts/faults/lab20.lua: the 20-node lab the fault-injection driver
-- (scripts/faults/run.lua, `make check-faults`) signals at random moments.
-- One router, one bridge and 18 hosts: h1..h9 and the router share the
-- bridge (10.20.0.0/24), h10..h18 each have a link of their own to the
-- router (10.20.N.0/24); default routes through the router. Servers are
-- spawned (`nc -l`, a shell loop that takes 0.2 s to stop on SIGTERM, as
-- a server finishing its work would) and a daemon leaves its process
-- group (`setsid -f`), so teardown has processes of every kind to kill
-- and the close lasts long enough to be hit. Then a little traffic (pings
-- across the bridge and the router, one message to a server) and the lab
-- closes. The whole run takes about 0.3 s.
--
-- On stdout, unbuffered, it prints "phase build T", "phase run T",
-- "phase close T" and "phase done T" (T: CLOCK_MONOTONIC seconds, the
-- clock the driver reads) as each phase starts, so the driver can tell
-- where a signal landed. FAULTS_LAB names the lab (default "f20"); node
-- names are the lab's name plus "-r", "-sw", "-h1" ... Exits non-zero if
-- a ping or the message fails. Needs root (or `nslab --rootless`), ping
-- (iputils) and nc (netcat-openbsd).
local nslab = require "nslab"
local now = nslab.core.monotime

io.stdout:setvbuf("no")
local function phase(name)
  io.stdout:write(string.format("phase %s %.6f\n", name, now()))
end

phase("build")
local name = os.getenv("FAULTS_LAB") or "f20"
local lab <close> = nslab.lab(name)
local router = lab:router(name .. "-r")
local sw = lab:bridge(name .. "-sw")
lab:link(router, sw, { addrs = { "10.20.0.1/24" } })
local h = {}
for i = 1, 18 do
  h[i] = lab:host(name .. "-h" .. i)
  if i <= 9 then
    lab:link(h[i], sw, { addrs = { "10.20.0." .. (10 + i) .. "/24" } })
    h[i]:route("default", "10.20.0.1")
  else
    lab:link(router, h[i], { addrs = { "10.20." .. i .. ".1/24", "10.20." .. i .. ".2/24" } })
    h[i]:route("default", "10.20." .. i .. ".1")
  end
end
local server = h[1]:spawn { "nc", "-l", "5000" }
h[10]:spawn "trap 'sleep 0.2; exit 0' TERM; while :; do sleep 0.05; done"
h[18]:run("setsid -f sleep 600 </dev/null >/dev/null 2>&1", { check = true })

phase("run")
local bad = 0
for _, pair in ipairs { { 1, 2 }, { 1, 10 }, { 10, 18 }, { 9, 17 }, { 3, 8 }, { 12, 4 }, { 15, 16 }, { 5, 14 } } do
  local ok = h[pair[1]]:ping(h[pair[2]], { timeout = 2 })
  if not ok then
    bad = bad + 1
    io.stderr:write(string.format("lab20: h%d cannot reach h%d\n", pair[1], pair[2]))
  end
end
h[11]:run({ "nc", "-N", "-w", "2", "10.20.0.11", "5000" }, { stdin = "hello\n", timeout = 3 })
local got = server:wait(3).stdout
if got ~= "hello\n" then
  bad = bad + 1
  io.stderr:write(string.format("lab20: the server on h1 got %q\n", got))
end

phase("close")
lab:close()
phase("done")
os.exit(bad == 0 and 0 or 1)
