-- Nodes as light containers (issue 14): pid = true (a PID namespace per
-- node with its init), cgroup = {...} (a cgroup v2 per node), entering a
-- node with nsenter, and nothing left after close, errors and SIGKILL +
-- --clean.
local H = require "helper"
local nslab = require "nslab"
local cgroup = require "nslab.cgroup"
local record = require "nslab.record"

local raises = H.raises

-- pids of the processes called nslab-init that this process can see.
local function inits()
  local out = H.sh("pgrep -x nslab-init")
  local set = {}
  for p in out:gmatch("%d+") do set[p] = true end
  return set
end

local function new_inits(before)
  local n = 0
  for p in pairs(inits()) do
    if not before[p] then n = n + 1 end
  end
  return n
end

-- Runs a lab script through nslab: lab lname with a node h made with
-- opts (Lua text), a command spawned and a daemon left, then the lines
-- of `tail`; returns nslab's output and success.
local function run_lab(lname, h, opts, tail)
  local script = H.tmpfile(table.concat({
    string.format("local lab <close> = require('nslab').lab(%q)", lname),
    string.format("local n = lab:host(%q, %s)", h, opts),
    "n:spawn { 'sleep', '60' }",
    "n:run('setsid sleep 60 > /dev/null 2>&1 < /dev/null &')",
    tail,
  }, "\n") .. "\n")
  local out, ok = H.nslab(script)
  os.remove(script)
  return out, ok
end

local KILL9 = "os.execute('kill -9 ' .. require('nslab').core.getpid())"

local function lines_of(text)
  local t = {}
  for l in text:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

describe("node pid = true #root #quick", function()
  H.guard()

  it("gives the node its own PID namespace: ps there lists its processes only, the init as pid 1", function()
    local lab <close> = nslab.lab(H.name "cpl")
    local a = lab:host(H.name "cpa", { pid = true })
    local b = lab:router(H.name "cpb", { pid = true })
    local c = lab:host(H.name "cpc")
    local sleeper = b:spawn { "sleep", "60" }
    local ps = a:run({ "ps", "-e", "-o", "pid=,comm=" }, { check = true }).stdout
    local rows = lines_of(ps)
    assert.matches("^%s*1 nslab%-init$", rows[1])
    assert.equals(2, #rows, ps) -- the init and ps itself
    assert.is_nil(ps:find("sleep", 1, true))
    assert.matches("%d+ sleep\n", b:run({ "ps", "-e", "-o", "pid=,comm=" }).stdout)
    -- /proc is the namespace's: its numbered entries are the node's processes
    local procs = tonumber(a:run("ls /proc | grep -c '^[0-9]'").stdout)
    assert.is_true(procs >= 3 and procs <= 4, tostring(procs)) -- init, sh, grep (and ls, if not gone)
    -- its own namespace, other than b's and nslab's; c has none
    local mine = H.sh("readlink /proc/self/ns/pid")
    local na = a:run({ "readlink", "/proc/self/ns/pid" }).stdout
    assert.not_equals(mine, na)
    assert.not_equals(na, b:run({ "readlink", "/proc/self/ns/pid" }).stdout)
    assert.equals(mine, c:run({ "readlink", "/proc/self/ns/pid" }).stdout)
    -- node:spawn, nslab.exec in its netns: inside too (pid 1 is the init)
    local p = a:spawn("echo $$")
    local n = tonumber(p:wait().stdout)
    assert.is_true(n > 1 and n < 50)
    assert.matches("^%s*1%s*$", nslab.exec(a.netns, { "ps", "-o", "pid=", "-p", "1" }).stdout)
    -- the init is the lab's: a proc, recorded like a spawned command
    assert.is_true(a.init:running())
    local rec = record.contents(assert(record.load(lab.name)))
    local found = false
    for _, pr in ipairs(rec.procs) do found = found or pr.pid == a.init.pid end
    assert.is_true(found)
    sleeper:kill()
    sleeper:wait()
  end)

  it("reaps orphans: no zombie stays in the node", function()
    local lab <close> = nslab.lab(H.name "cpl")
    local a = lab:host(H.name "cpa", { pid = true })
    a:run("(sleep 0.1 &) ; (sleep 0.1 &) ; true", { check = true })
    assert.is_truthy(H.wait_for(function()
      return a:run({ "ps", "-e", "-o", "stat=,comm=" }).stdout:find("sleep", 1, true) == nil
    end, 5))
    assert.is_nil(a:run({ "ps", "-e", "-o", "stat=" }).stdout:find("Z", 1, true))
  end)

  it("ends the init and the namespace's processes at close; nothing left", function()
    local before = inits()
    local lname = H.name "cpl"
    local lab = nslab.lab(lname)
    local a = lab:host(H.name "cpa", { pid = true, ipc = true, hostname = "pa" })
    a:spawn("sleep 60 & sleep 60 & wait")
    a:run("setsid sleep 60 > /dev/null 2>&1 < /dev/null &")
    local init = a.init
    assert.equals(1, new_inits(before))
    lab:close()
    assert.is_false(init:running())
    assert.equals(0, new_inits(before))
    assert.is_nil(io.open(record.path_of(lname)))
    assert.equals("", H.sh("pgrep -f '^sleep 60$'"))
  end)

  it("says so when the init was ended by hand: the node takes no new command", function()
    local lab <close> = nslab.lab(H.name "cpl")
    local a = lab:host(H.name "cpa", { pid = true })
    local s = a:spawn { "sleep", "60" }
    a.init:kill()
    a.init:wait(5)
    assert.is_false(s:running()) -- the kernel killed the namespace's processes
    assert.equals("SIGKILL", s:wait().signal)
    local e = raises("ENOMEM", a.run, a, { "true" })
    assert.matches("its init has ended", tostring(e), 1, true)
  end)

  it("refuses pid that is not a boolean, making nothing", function()
    local lab <close> = nslab.lab(H.name "cpl")
    local name = H.name "cpx"
    for _, bad in ipairs { 1, "yes", {} } do
      local ok, e = pcall(lab.host, lab, name, { pid = bad })
      assert.is_false(ok)
      assert.matches("field 'pid' must be a boolean", tostring(e), 1, true)
      assert.is_false(nslab.netns.exists(name))
    end
    -- nslab.exec.node makes one PID namespace per netns, not two
    local Exec = require "nslab.exec"
    nslab.netns.add(name)
    local init
    finally(function()
      if init then
        init:kill()
        init:wait()
      end
      nslab.netns.del(name)
    end)
    assert.has_error(function() Exec.node(name, { pid = 1 }) end,
      "bad argument #2 to 'nslab.exec.node' (field 'pid' must be a boolean)")
    init = Exec.node(name, { pid = true })
    local e = raises("EEXIST", Exec.node, name, { pid = true })
    assert.matches("has a PID namespace already", tostring(e), 1, true)
  end)

  it("kills the init when the node's building step fails", function()
    local before = inits()
    local lab <close> = nslab.lab(H.name "cpl")
    local name = H.name "cpx"
    local ok, e = pcall(lab.host, lab, name, { pid = true, sysctls = { ["net.ipv4.no_such_key"] = 1 } })
    assert.is_false(ok, tostring(e))
    assert.is_false(nslab.netns.exists(name))
    assert.equals(0, new_inits(before))
    -- the name can be used again
    local a = lab:host(name, { pid = true })
    assert.matches("nslab%-init", a:run({ "ps", "-e", "-o", "comm=" }).stdout)
  end)

  it("README recipe: nsenter --target INIT --all enters every namespace of the node", function()
    if not H.which("nsenter") then return pending("nsenter (util-linux) is not installed") end
    local lab <close> = nslab.lab(H.name "cpl")
    local a = lab:host(H.name "cpa", { pid = true, ipc = true, hostname = "alpha", dirs = { "/mnt" },
      time = { boottime = 1000 } })
    local b = lab:host(H.name "cpb")
    lab:link(a, b, { addrs = { "10.123.9.1/24", "10.123.9.2/24" } })
    a:run({ "touch", "/mnt/marker" }, { check = true })
    local script = "hostname; ls /mnt; ip -br -4 addr show eth0; ps -e -o comm= | head -1; grep -c "
      .. b.name .. " /etc/hosts; readlink /proc/self/ns/ipc; cat /proc/self/timens_offsets"
    -- rootless, --all would also try the cgroup namespace nslab shares
    -- with the machine (EPERM): the README names them
    local all = H.rootless() and "--net --uts --ipc --mount --pid --time" or "--all"
    local out, ok = H.sh(string.format("nsenter --target %d %s sh -c %s", a.init.pid, all, H.q(script)))
    assert.is_true(ok, out)
    local want = a:run(script).stdout
    assert.matches("^alpha\nmarker\neth0@if%d+ +UP +10%.123%.9%.1/24 *\nnslab%-init\n1\nipc:", out)
    assert.equals(want, out)
    -- the README's line: the first of `ip netns pids` (the init)
    out, ok = H.sh(string.format('nsenter --target "$(ip netns pids %s | head -n1)" %s sh -c %s',
      H.q(a.name), all, H.q(script)))
    assert.is_true(ok, out)
    assert.equals(want, out)
    -- a node without pid = true: the pid of any of its commands
    local s = b:spawn { "sleep", "60" }
    out = H.sh(string.format("nsenter --target %d %s sh -c 'hostname; ip -br -4 addr show eth0'", s.pid,
      H.rootless() and "--net --uts --mount" or "--all"))
    assert.matches("^" .. b.name:gsub("%-", "%%-") .. "\neth0@if%d+ +UP +10%.123%.9%.2/24", out)
    s:kill()
    s:wait()
  end)
end)

describe("node pid = true after SIGKILL #root", function()
  H.guard()

  for _, sig in ipairs { "INT", "TERM" } do
    it("a SIG" .. sig .. " mid-run unwinds the lab: init, namespace and record gone", function()
      local before = inits()
      local lname, h = H.name "cpl", H.name "cps"
      local out, ok = run_lab(lname, h, "{ pid = true, ipc = true }", "os.execute('kill -" .. sig
        .. " ' .. require('nslab').core.getpid())\nfor _ = 1, 1e10 do end")
      assert.is_false(ok)
      assert.matches("interrupted", out, 1, true)
      assert.is_false(nslab.netns.exists(h), out)
      assert.equals(0, new_inits(before))
      assert.equals("", H.sh("pgrep -f '^sleep 60$'"))
      assert.is_nil(io.open(record.path_of(lname)))
    end)
  end

  it("nslab --clean ends the init and its namespace's processes", function()
    local before = inits()
    local lname, h = H.name "cpl", H.name "cpk"
    run_lab(lname, h, "{ pid = true }", KILL9)
    assert.equals(1, new_inits(before))
    local out, ok = H.nslab("--clean " .. lname)
    assert.is_true(ok, out)
    assert.is_false(nslab.netns.exists(h), out)
    assert.is_truthy(H.wait_for(function() return new_inits(before) == 0 end, 5))
    assert.equals("", H.sh("pgrep -f '^sleep 60$'"))
  end)
end)

-- ---- cgroup = {...} ----

-- nslab's cgroup v2 directory, or nil and why. In the spec sandbox the
-- host's cgroup2 mount lies under the sandbox's own /sys: as root, a
-- cgroup2 mount is made on the sandbox's /sys/fs/cgroup (its mount
-- namespace is private), which `unmount` removes.
local function reachable()
  local ok, own = pcall(cgroup.own, "spec", "cgroup")
  if ok then return own end
  if H.rootless() then return nil, tostring(own) end
  local out, mounted = H.sh("mount -t cgroup2 none /sys/fs/cgroup")
  if not mounted then return nil, "cannot mount cgroup2: " .. out end
  ok, own = pcall(cgroup.own, "spec", "cgroup")
  if ok then return own, true end
  H.sh("umount /sys/fs/cgroup")
  return nil, tostring(own)
end

local function words(path)
  local t = {}
  for w in H.read_all(path):gmatch("%S+") do t[w] = true end
  return t
end

local function is_dir(path) return nslab.core.cgroup.id(path) ~= nil end

describe("node cgroup #root", function()
  H.guard()
  local own, mounted

  setup(function()
    own, mounted = reachable()
  end)
  teardown(function()
    if mounted == true then H.sh("umount /sys/fs/cgroup") end
  end)

  local function need(...)
    if not own then
      pending("no cgroup v2 nslab can use here: " .. tostring(mounted))
      return false
    end
    local on = words(own .. "/cgroup.subtree_control")
    for _, c in ipairs { ... } do
      if not on[c] then
        pending(string.format("controller %q is not delegated to %s here (cgroup.controllers: %s)", c, own,
          H.read_all(own .. "/cgroup.controllers"):gsub("%s+$", "")))
        return false
      end
    end
    return true
  end

  it("puts every command of the node (and its init) in a cgroup of its own, removed at close", function()
    if not need() then return end
    local lname = H.name "ccl"
    local lab = nslab.lab(lname)
    local a = lab:host(H.name "cca", { cgroup = {}, pid = true })
    local b = lab:host(H.name "ccb", { cgroup = {} })
    local dir = own .. "/nslab-" .. lname
    assert.equals(dir .. "/node-" .. a.name, a.cgroup)
    local rel = a.cgroup:sub(#own + 1)
    if own:match("^/sys/fs/cgroup") then rel = a.cgroup:gsub("^/sys/fs/cgroup[^/]*", "") end
    assert.matches("0::" .. rel:gsub("%p", "%%%0") .. "\n",
      a:run({ "cat", "/proc/self/cgroup" }).stdout)
    local s = b:spawn { "sleep", "60" }
    assert.is_truthy(H.wait_for(function()
      return H.read_all(b.cgroup .. "/cgroup.procs"):find("%f[%d]" .. s.pid .. "%f[^%d]")
    end))
    assert.matches("%f[%d]" .. a.init.pid .. "%f[^%d]", H.read_all(a.cgroup .. "/cgroup.procs"))
    local c = record.contents(assert(record.load(lname)))
    assert.same({ "cgroup", dir }, { c.outside[1][1], c.outside[1][2] })
    assert.is_truthy(c.outside[1][3])
    lab:close()
    assert.is_false(is_dir(a.cgroup))
    assert.is_false(is_dir(dir))
    assert.is_nil(io.open(record.path_of(lname)))
  end)

  it("removes the cgroup directories when the node's building step fails", function()
    if not need() then return end
    local lname = H.name "ccl"
    local lab <close> = nslab.lab(lname)
    local name = H.name "ccx"
    local ok = pcall(lab.host, lab, name, { cgroup = {}, pid = true, sysctls = { ["net.ipv4.no_such_key"] = 1 } })
    assert.is_false(ok)
    assert.is_false(is_dir(own .. "/nslab-" .. lname .. "/node-" .. name))
    assert.is_false(is_dir(own .. "/nslab-" .. lname))
    assert.same({}, record.contents(assert(record.load(lname))).outside)
    local a = lab:host(name, { cgroup = {} }) -- made again
    assert.is_true(is_dir(a.cgroup))
  end)

  it("applies cpu, memory and pids limits where the controllers are delegated", function()
    if not need("cpu", "memory", "pids") then return end
    local lab <close> = nslab.lab(H.name "ccl")
    local a = lab:host(H.name "cca", { cgroup = { cpu = "50%", memory = "64M", pids = 100 } })
    assert.equals("50000 100000\n", H.read_all(a.cgroup .. "/cpu.max"))
    assert.equals("67108864\n", H.read_all(a.cgroup .. "/memory.max"))
    assert.equals("100\n", H.read_all(a.cgroup .. "/pids.max"))
  end)

  it("refuses a controller that is not delegated, naming it and the file, making nothing", function()
    if not own then return pending("no cgroup v2 nslab can use here: " .. tostring(mounted)) end
    local on, avail = words(own .. "/cgroup.subtree_control"), words(own .. "/cgroup.controllers")
    local missing
    for _, c in ipairs { "memory", "cpu", "pids" } do
      if not on[c] then missing = missing or c end
    end
    if not missing then return pending("cpu, memory and pids are all delegated here") end
    local lname = H.name "ccl"
    local lab <close> = nslab.lab(lname)
    local name = H.name "ccx"
    local spec = { memory = { memory = "64M" }, cpu = { cpu = "50%" }, pids = { pids = 10 } }
    local e = raises("EOPNOTSUPP", lab.host, lab, name, { cgroup = spec[missing] })
    local file = avail[missing] and "cgroup.subtree_control" or "cgroup.controllers"
    assert.matches(string.format('controller "%s" is not %s in %s/%s', missing,
      avail[missing] and "enabled" or "available", own, file), tostring(e), 1, true)
    assert.is_false(nslab.netns.exists(name))
    assert.is_false(is_dir(own .. "/nslab-" .. lname))
  end)

  it("after SIGKILL, nslab --clean removes the cgroup directories", function()
    if not need() then return end
    local lname, h = H.name "ccl", H.name "cck"
    run_lab(lname, h, "{ cgroup = {}, pid = true }", KILL9)
    local dir = own .. "/nslab-" .. lname
    assert.is_true(is_dir(dir .. "/node-" .. h))
    local out, ok = H.nslab("--clean " .. lname)
    assert.is_true(ok, out)
    assert.is_false(is_dir(dir .. "/node-" .. h), out)
    assert.is_false(is_dir(dir), out)
    assert.is_false(nslab.netns.exists(h))
  end)
end)

describe("node cgroup limits #quick", function()
  it("refuses bad values (EINVAL) and bad fields (argument errors) before making anything", function()
    for _, bad in ipairs { { cpu = "x" }, { cpu = 0 }, { cpu = "-5%" }, { memory = "12Q" }, { memory = -1 },
      { memory = "0" }, { pids = 0 } } do
      local e = raises("EINVAL", cgroup.limits, "lab:host", '"x"', bad)
      assert.matches("cgroup ", tostring(e), 1, true)
    end
    assert.has_error(function() cgroup.limits("lab:host", '"x"', { bogus = 1 }) end,
      "bad argument #2 to 'lab:host' (cgroup: unknown field 'bogus')")
    assert.has_error(function() cgroup.limits("lab:host", '"x"', { pids = "1" }) end)
    assert.same({ { "cpu", "cpu.max", "150000 100000" }, { "memory", "memory.max", "1536" },
      { "pids", "pids.max", "7" } }, cgroup.limits("lab:host", '"x"', { cpu = "150%", memory = "1536", pids = 7 }))
    assert.same({ { "cpu", "cpu.max", "50000 100000" }, { "memory", "memory.max", "2147483648" } },
      cgroup.limits("lab:host", '"x"', { cpu = 0.5, memory = "2G" }))
  end)

  it("record lines: cgroup and cgroup-id are outside items, dropped by drop", function()
    local rec = assert(record.parse(table.concat({
      "nslab-record 1", "lab l", "owner 1 2 3",
      "cgroup /sys/fs/cgroup/nslab-l", "cgroup-id /sys/fs/cgroup/nslab-l 25",
      "cgroup /sys/fs/cgroup/nslab-l/node-a", "cgroup-id /sys/fs/cgroup/nslab-l/node-a 26",
      "cgroup /sys/fs/cgroup/nslab-l/node-b", "drop cgroup /sys/fs/cgroup/nslab-l/node-b", "",
    }, "\n"), "x.rec"))
    local c = record.contents(rec)
    assert.same({ { "cgroup", "/sys/fs/cgroup/nslab-l", 25 }, { "cgroup", "/sys/fs/cgroup/nslab-l/node-a", 26 } },
      c.outside)
  end)
end)

describe("lab:uplink ipv6 #root #quick", function()
  H.guard()

  -- FNV-1a, 32 bits, as uplink.lua names an uplink (an independent copy)
  local function fnv(s)
    local h = 2166136261
    for i = 1, #s do h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff end
    return string.format("%08x", h)
  end

  it("adds a unique local /64 and an IPv6 default route: a server in nslab's netns answers over IPv6", function()
    if not H.which("nc") then return pending("nc (netcat-openbsd) is not installed") end
    local lname = H.name "cul"
    local lab <close> = nslab.lab(lname)
    -- a node name whose prefix has a group with a leading zero (fd6e:736c:fa3::
    -- and not :0fa3:), so the addresses must be in the kernel's RFC 5952 form
    local aname
    repeat
      aname = H.name "cua"
    until fnv(lname .. "\0" .. aname):match "^0" or fnv(lname .. "\0" .. aname):match "^....0"
    local a = lab:host(aname)
    local up = lab:uplink(a, { ipv6 = true })
    assert.matches("^fd6e:736c:%x+:%x+::1/64$", up.addrs6[1])
    assert.is_nil(up.addrs6[1]:find(":0%x"))
    local kaddr = H.ipj("-6 -n " .. H.q(a.netns) .. " addr show scope global")[1].addr_info[1]
    assert.equals(up.addrs6[1], kaddr["local"] .. "/" .. kaddr.prefixlen)
    assert.equals(up.addrs6[2]:match("^[^/]+"), up.via6)
    local r = H.ipj("-6 -n " .. H.q(a.netns) .. " route show default")[1]
    assert.equals(up.via6, r.gateway)
    local srv = nslab.spawn(nil, { "nc", "-6", "-l", "-N", up.via6, "5006" }, { timeout = 5 })
    assert.is_truthy(H.wait_for(function()
      return H.sh("ss -Hltn6 sport = :5006"):find("5006", 1, true)
    end))
    local c = a:run("echo six | nc -6 -N -w 3 " .. up.via6 .. " 5006")
    assert.is_true(c.ok, c.stderr)
    assert.equals("six\n", srv:wait(5).stdout)
    assert.matches(up.addrs6[1]:match("^[^/]+"), lab:show { quiet = true }, 1, true)
    lab:close()
    assert.equals("", H.sh("ip -o link | grep ' nsu' || true"))
  end)
end)

describe("lab:show #root #quick", function()
  H.guard()

  it("lists a node's uplink with nslab's end and its address", function()
    local lab <close> = nslab.lab(H.name "csl")
    local a = lab:host(H.name "csa")
    local up = lab:uplink(a, { addrs = { "100.127.9.1/30", "100.127.9.2/30" } })
    local text = lab:show { quiet = true }
    assert.matches("| " .. up.ifname .. " +| uplink " .. up.peer .. " +| up +| %d+ +| 100%.127%.9%.1/30 ", text)
  end)
end)

describe("REPL node commands in a pid = true node #root", function()
  H.guard()

  it("run in the node's PID namespace, own the terminal, and stop on Ctrl-C", function()
    if not H.which("python3") then return pending("python3 is not installed (make deps installs it)") end
    local a = string.format("n%08x", math.random(0, 0x7fffffff))
    local path = H.tmpfile(string.format("LAB = require('nslab').lab(%q)\nLAB:host(%q, { pid = true })\n",
      H.name "crl", a))
    finally(function() os.remove(path) end)
    local steps = {
      "expect:> ", "send:" .. a .. " ps -e -o pid=,comm=\\r", "expect:1 nslab-init", "expect:> ",
      "send:" .. a .. " head -1\\r", "send:typed\\r", "expect:typed\ntyped", "expect:> ",
      "send:" .. a .. " sleep 100\\r", "sleep:0.3", "send:\\x03", "expect:\\[killed by SIGINT\\]", "expect:> ",
      "send:1+1\\r", "expect:2\n> ", "send:\\x04", "eof",
    }
    local cmd = { "env", "TERM=xterm", "HOME=/tmp", "python3", "spec/pty_driver.py", "--timeout", "10" }
    for _, s in ipairs(steps) do cmd[#cmd + 1] = H.q(s) end
    cmd[#cmd + 1] = "-- " .. H.bin .. " -i " .. H.q(path)
    local out, ok = H.sh(table.concat(cmd, " "))
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
    assert.is_false(nslab.netns.exists(a))
  end)
end)
