-- nslab.exec, nslab.sh, nslab.spawn: commands inside a netns, as
-- `ip netns exec` runs them, captured, timed out, killed, never leaked.
local H = require "helper"
local nslab = require "nslab"
local monotime = nslab.core.monotime

local raises = H.raises

local function read_file(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- Whether pid is a live process (absent or zombie: not alive).
local function alive(pid)
  local st = read_file("/proc/" .. pid .. "/stat")
  return st ~= nil and st:match("^%d+ %b() (%a)") ~= "Z"
end

-- Live processes whose process group is pgid.
local function group_members(pgid)
  local out = {}
  local ls = io.popen("ls /proc")
  for pid in ls:lines() do
    local st = pid:match("^%d+$") and read_file("/proc/" .. pid .. "/stat")
    local state, pgrp
    if st then state, pgrp = st:match("%) (%a) %d+ (%d+)") end
    if state and state ~= "Z" and tonumber(pgrp) == tonumber(pgid) then out[#out + 1] = pid end
  end
  ls:close()
  return out
end

-- Polls fn (truthy = done) for up to timeout seconds, at 20 ms steps.
local function poll(fn, timeout)
  local deadline = monotime() + (timeout or 5)
  repeat
    local v = fn()
    if v then return v end
    nslab.core.sleep(0.02)
  until monotime() > deadline
  return fn()
end

describe("exec, sh and spawn", function()
  describe("arguments", function()
    it("rejects an unknown option field", function()
      local ok, e = pcall(nslab.exec, nil, { "true" }, { timeot = 1 })
      assert.is_false(ok)
      assert.matches("bad argument #3 to '[%w.]*exec' %(unknown field 'timeot'%)", e)
      assert.has_error(function() nslab.spawn(nil, { "true" }, { bogus = true }) end)
      assert.has_error(function() nslab.sh(nil, "true", { bogus = true }) end)
    end)

    it("rejects an argument containing a NUL byte instead of cutting it", function()
      local ok, e = pcall(nslab.exec, nil, { "echo", "a\0b" })
      assert.is_false(ok)
      assert.equals("EINVAL", e.code)
      assert.matches('exec "a\\0b": Invalid argument: argv[2] contains a NUL byte', tostring(e), 1, true)
    end)

    it("rejects options of the wrong type or range", function()
      assert.has_error(function() nslab.exec(nil, { "true" }, { timeout = "1" }) end)
      assert.has_error(function() nslab.exec(nil, { "true" }, { timeout = -1 }) end)
      local ok, e = pcall(nslab.exec, nil, { "true" }, { timeout = 1e300 })
      assert.is_false(ok)
      assert.matches("less than 1e9 seconds", e, 1, true)
      assert.has_error(function() nslab.exec(nil, { "true" }, { stdin = 5 }) end)
      assert.has_error(function() nslab.exec(nil, { "true" }, { capture = "no" }) end)
      assert.has_error(function() nslab.exec(nil, { "true" }, { caps = "all" }) end)
      assert.has_error(function() nslab.exec(nil, { "true" }, { user = {} }) end)
      assert.has_error(function() nslab.exec(nil, { "true" }, { env = { ["A=B"] = "x" } }) end)
      assert.has_error(function() nslab.exec(nil, { "true" }, { env = { A = {} } }) end)
    end)

    it("needs a non-empty argv of strings, and a command string for sh", function()
      assert.has_error(function() nslab.exec(nil, {}) end)
      assert.has_error(function() nslab.exec(nil, "true") end)
      assert.has_error(function() nslab.exec(nil, { "echo", {} }) end)
      assert.has_error(function() nslab.sh(nil, { "true" }) end)
    end)

    it("rejects an invalid netns name with EINVAL before starting", function()
      local e = raises("EINVAL", nslab.exec, "../x", { "true" })
      assert.matches("invalid netns name", tostring(e), 1, true)
    end)

    it("raises EINVAL for an unknown user", function()
      local e = raises("EINVAL", nslab.exec, nil, { "true" }, { user = "no-such-user-nslab" })
      assert.matches('no user "no-such-user-nslab"', tostring(e), 1, true)
    end)
  end)

  describe("in nslab's own netns", function()
    H.guard()

    it("reports the exit status", function()
      local r = nslab.sh(nil, "exit 3")
      assert.is_false(r.ok)
      assert.equals(3, r.status)
      assert.is_nil(r.signal)
      assert.is_false(r.timed_out)
      r = nslab.exec(nil, { "true" })
      assert.is_true(r.ok)
      assert.equals(0, r.status)
      assert.is_true(r.elapsed >= 0 and r.elapsed < 5)
    end)

    it("reports the killing signal by name, with no status", function()
      local r = nslab.sh(nil, "kill -TERM $$")
      assert.is_false(r.ok)
      assert.is_nil(r.status)
      assert.equals("SIGTERM", r.signal)
    end)

    it("keeps stdout and stderr apart and complete, 5 MB each, interleaved", function()
      -- Alternating 50 kB writes: a reader that drained one pipe to its
      -- end before the other would deadlock on the first full pipe.
      local r = nslab.sh(nil, [[
        i=0
        while [ $i -lt 100 ]; do
          head -c 50000 /dev/zero | tr '\0' a
          head -c 50000 /dev/zero | tr '\0' b >&2
          i=$((i+1))
        done]], { timeout = 30 })
      assert.is_true(r.ok, r.stderr:sub(1, 200))
      assert.equals(5000000, #r.stdout)
      assert.equals(5000000, #r.stderr)
      assert.equals(("a"):rep(5000000), r.stdout)
      assert.equals(("b"):rep(5000000), r.stderr)
    end)

    it("delivers stdin, megabytes of it while output flows back", function()
      assert.equals("hello\n", nslab.exec(nil, { "cat" }, { stdin = "hello\n" }).stdout)
      local big = ("0123456789abcdef"):rep(200000) -- 3.2 MB
      local r = nslab.exec(nil, { "cat" }, { stdin = big, timeout = 30 })
      assert.is_true(r.ok)
      assert.equals(#big, #r.stdout)
      assert.equals(big, r.stdout)
    end)

    it("gives /dev/null as stdin when none is given", function()
      assert.equals("", nslab.exec(nil, { "cat" }, { timeout = 5 }).stdout)
    end)

    it("survives a command that does not read its stdin", function()
      local r = nslab.exec(nil, { "true" }, { stdin = ("x"):rep(1000000) })
      assert.is_true(r.ok)
    end)

    it("honours env (set, number, removed; the rest inherited) and cwd", function()
      local r = nslab.sh(nil, 'echo "$NSLAB_A $NSLAB_N ${HOME-unset} $PWD"; command -v sh',
        { env = { NSLAB_A = "x y", NSLAB_N = 42, HOME = false }, cwd = "/proc" })
      local line, sh = r.stdout:match("^(.-)\n(.-)\n$")
      assert.equals("x y 42 unset /proc", line)
      assert.is_truthy(sh:match("/sh$"), "PATH was not inherited")
    end)

    it("runs sh command lines through /bin/sh -c, pipes included", function()
      assert.equals("3\n", nslab.sh(nil, "printf 'a\\nb\\nc\\n' | wc -l").stdout)
    end)

    it("gives the command only fds 0, 1 and 2", function()
      assert.equals("0\n1\n2\n", nslab.sh(nil, "ls /proc/$$/fd").stdout)
    end)

    it("kills the whole process group at the timeout, within timeout + 0.5 s", function()
      local t0 = monotime()
      local r = nslab.sh(nil, "sleep 100 & echo $!; sleep 100", { timeout = 0.3 })
      local took = monotime() - t0
      assert.is_true(r.timed_out)
      assert.is_false(r.ok)
      assert.equals("SIGKILL", r.signal)
      assert.is_true(took >= 0.3 and took < 0.8, "took " .. took .. " s")
      local bg = assert(r.stdout:match("^(%d+)\n"), r.stdout)
      assert.is_true(poll(function() return not alive(bg) end, 2), "background sleep " .. bg .. " survived")
    end)

    it("ends what the command left in its group when it exits", function()
      local t0 = monotime()
      local r = nslab.sh(nil, "sleep 100 & echo $!")
      assert.is_true(r.ok)
      assert.is_true(monotime() - t0 < 2)
      local bg = assert(r.stdout:match("^(%d+)\n"))
      assert.is_true(poll(function() return not alive(bg) end, 2), "background sleep " .. bg .. " survived")
    end)

    it("raises ENOENT for a missing program, naming it, instead of status 127", function()
      local e = raises("ENOENT", nslab.exec, nil, { "pnig-nslab", "-c1" })
      assert.equals("exec", e.op)
      assert.equals('exec "pnig-nslab": No such file or directory (ENOENT)', tostring(e))
      raises("ENOENT", nslab.spawn, nil, { "/nonexistent/prog" })
    end)

    it("sends stdout to a file nslab opens (stdout =), for exec and spawn; raises the open's errno", function()
      local file = os.tmpname()
      local r = nslab.exec(nil, { "sh", "-c", "echo out; echo err >&2" }, { stdout = file })
      assert.same({ true, "", "err\n" }, { r.ok, r.stdout, r.stderr })
      assert.equals("out\n", H.read_all(file))
      local p = nslab.spawn(nil, { "echo", "again" }, { stdout = file })
      assert.equals("", p:wait().stdout)
      assert.equals("again\n", H.read_all(file)) -- truncated first
      os.remove(file)
      local e = raises("ENOENT", nslab.exec, nil, { "true" }, { stdout = "/nonexistent-nslab/x" })
      assert.equals("exec \"true\": No such file or directory: open the stdout file (ENOENT)", tostring(e))
      assert.has_error(function() nslab.exec(nil, { "true" }, { stdout = 1 }) end,
        "bad argument #3 to 'nslab.exec' (field 'stdout' must be a string, not number)")
    end)

    it("raises for a cwd that does not exist, naming the step", function()
      local e = raises("ENOENT", nslab.exec, nil, { "true" }, { cwd = "/nonexistent-nslab" })
      assert.matches("chdir /nonexistent%-nslab", tostring(e))
    end)

    it("with check=true raises EXIT with the status and stderr, and passes on 0", function()
      local e = raises("EXIT", nslab.sh, nil, "echo oops >&2; exit 4", { check = true })
      assert.equals(4, e.status)
      assert.equals("sh", e.op)
      assert.equals("oops\n", e.result.stderr)
      assert.matches("exited with status 4: oops", tostring(e), 1, true)
      e = raises("ETIMEDOUT", nslab.exec, nil, { "sleep", "10" }, { check = true, timeout = 0.1 })
      assert.equals("SIGKILL", e.signal)
      assert.is_true(nslab.exec(nil, { "true" }, { check = true }).ok)
    end)

    it("leaves output on the terminal with capture=false", function()
      local r = nslab.exec(nil, { "true" }, { capture = false })
      assert.is_true(r.ok)
      assert.equals("", r.stdout)
      assert.equals("", r.stderr)
    end)
  end)

  describe("spawn", function()
    H.guard()

    it("runs in the background; wait returns the result, again on a second call", function()
      local p = nslab.spawn(nil, { "sh", "-c", "read x; echo out $x; echo err >&2; exit 2" }, { stdin = "in\n" })
      assert.is_number(p.pid)
      assert.matches("^proc %d+ \"sh\"", tostring(p))
      local r = p:wait(5)
      assert.same({ false, 2, "out in\n", "err\n", false },
        { r.ok, r.status, r.stdout, r.stderr, r.timed_out })
      assert.equals(r, p:wait())
      assert.is_false(p:running())
    end)

    it("never blocks the child on output nobody reads yet (5 MB)", function()
      local p = nslab.spawn(nil, { "head", "-c", "5000000", "/dev/zero" })
      assert.is_true(poll(function() return not p:running() end, 5), "the child blocked")
      assert.equals(5000000, #p:wait().stdout)
    end)

    it("kills at the wait timeout, within timeout + 0.5 s", function()
      local p = nslab.spawn(nil, { "sleep", "100" })
      assert.is_true(p:running())
      local t0 = monotime()
      local r = p:wait(0.2)
      local took = monotime() - t0
      assert.is_true(r.timed_out)
      assert.equals("SIGKILL", r.signal)
      assert.is_true(took >= 0.2 and took < 0.7, "took " .. took)
      assert.is_false(alive(p.pid))
    end)

    it("applies opts.timeout from the start when wait gets none", function()
      local p = nslab.spawn(nil, { "sleep", "100" }, { timeout = 0.2 })
      assert.is_true(p:wait().timed_out)
    end)

    it("kill sends a signal (default SIGTERM) to the group", function()
      local p = nslab.spawn(nil, { "sh", "-c", "sleep 100 & sleep 100" })
      assert.is_true(poll(function() return #group_members(p.pid) == 3 end, 2))
      assert.is_true(p:kill())
      local r = p:wait(5)
      assert.equals("SIGTERM", r.signal)
      -- the sleeps got it too, but may still be exiting when sh is reaped
      assert.is_true(poll(function() return #group_members(p.pid) == 0 end, 2))
      assert.is_false(p:kill("KILL"))
      local q = nslab.spawn(nil, { "sleep", "100" })
      q:kill("SIGINT")
      assert.equals("SIGINT", q:wait(5).signal)
      assert.has_error(function() q:kill("NOPE") end)
    end)

    it("lists live procs in the registry until reaped", function()
      local p = nslab.spawn(nil, { "sleep", "100" })
      local found = false
      for _, q in ipairs(nslab.core.exec.procs()) do found = found or q == p end
      assert.is_true(found)
      p:kill("KILL")
      p:wait()
      for _, q in ipairs(nslab.core.exec.procs()) do assert.are_not.equal(p, q) end
    end)

    it("kills and reaps the process when the proc is closed or collected", function()
      local pid
      do
        local p <close> = nslab.spawn(nil, { "sleep", "100" })
        pid = p.pid
        assert.is_true(alive(pid))
      end
      assert.is_false(alive(pid))
      pid = nslab.spawn(nil, { "sleep", "100" }).pid
      collectgarbage()
      collectgarbage()
      assert.is_false(alive(pid))
    end)
  end)

  describe("host signals", function()
    H.guard()

    local function script(text)
      local path = os.tmpname()
      write_file(path, text)
      return path
    end

    it("raises EINTR and kills the command when the host is interrupted in exec", function()
      local out, pidfile = os.tmpname(), os.tmpname()
      os.remove(pidfile)
      -- The host stops the script at its next call after the signal, so
      -- the error is written by a to-be-closed variable, as labs clean up.
      local s = script(([[
        local nslab = require "nslab"
        local e
        local report <close> = setmetatable({}, { __close = function()
          local f = io.open(%q, "w")
          f:write(tostring(e and e.code), "\n", tostring(e))
          f:close()
        end })
        local _
        _, e = pcall(nslab.exec, nil, {"sh", "-c", "echo $$ > %s; exec sleep 100"})
        print("still running")
      ]]):format(out, pidfile))
      finally(function() os.remove(s); os.remove(out); os.remove(pidfile) end)
      local host = nslab.spawn(nil, { H.bin, s })
      local pid = poll(function() local t = read_file(pidfile); return t and t:match("%d+") end, 5)
      assert.is_truthy(pid, "the command did not start")
      host:kill("INT")
      local r = host:wait(5)
      assert.equals("SIGINT", r.signal)
      local text = read_file(out)
      assert.matches("^EINTR\n", text)
      assert.matches("interrupted", text)
      assert.is_false(alive(pid))
    end)

    it("is interrupted by a signal that lands while the command starts, before the wait", function()
      -- The command signals nslab at once: often before nslab's wait has
      -- begun. That signal must still end the wait (not the 30 s sleep).
      local s = script([[
        local nslab = require "nslab"
        nslab.exec(nil, {"sh", "-c", "kill -INT $PPID; exec sleep 30"})
        print("not interrupted")
      ]])
      finally(function() os.remove(s) end)
      for i = 1, 30 do
        local t0 = nslab.core.monotime()
        local r = nslab.exec(nil, { H.bin, s }, { timeout = 10 })
        assert.equals("SIGINT", r.signal, "trial " .. i .. ": " .. r.stdout .. r.stderr)
        assert.is_true(nslab.core.monotime() - t0 < 5, "trial " .. i .. " waited for the command")
      end
    end)

    it("takes its direct children along even when SIGKILLed (parent death signal)", function()
      local pidfile = os.tmpname()
      local s = script(([[
        local nslab = require "nslab"
        local a = nslab.spawn(nil, {"sleep", "100"})
        local f = io.open(%q, "w")
        f:write(a.pid, "\n")
        f:close()
        nslab.core.sleep(100)
      ]]):format(pidfile))
      finally(function() os.remove(s); os.remove(pidfile) end)
      write_file(pidfile, "")
      local host = nslab.spawn(nil, { H.bin, s })
      local pid = poll(function() return (read_file(pidfile) or ""):match("%d+") end, 5)
      assert.is_truthy(pid, "the script did not spawn")
      assert.is_true(alive(pid))
      host:kill("KILL")
      assert.equals("SIGKILL", host:wait(5).signal)
      assert.is_true(poll(function() return not alive(pid) end, 2), "sleep " .. pid .. " survived")
    end)

    it("leaves no spawned process alive after the host gets SIGTERM #root", function()
      local ns = H.name()
      nslab.netns.add(ns)
      local pidfile = os.tmpname()
      local s = script(([[
        local nslab = require "nslab"
        local a = nslab.spawn(%q, {"sleep", "100"})
        local b = nslab.spawn(%q, {"sh", "-c", "sleep 100 & sleep 100"})
        local f = io.open(%q, "w")
        f:write(a.pid, " ", b.pid, "\n")
        f:close()
        nslab.core.sleep(100)
      ]]):format(ns, ns, pidfile))
      finally(function() os.remove(s); os.remove(pidfile); nslab.netns.del(ns) end)
      write_file(pidfile, "")
      local host = nslab.spawn(nil, { H.bin, s })
      local pids = poll(function() return (read_file(pidfile) or ""):match("%d+ %d+") end, 5)
      assert.is_truthy(pids, "the script did not spawn")
      local a, b = pids:match("(%d+) (%d+)")
      assert.is_true(poll(function() return #group_members(b) == 3 end, 2))
      host:kill("TERM")
      assert.equals("SIGTERM", host:wait(5).signal)
      assert.is_false(alive(a))
      assert.is_false(alive(b))
      -- SIGKILL to the group is delivered at once but a loaded machine
      -- may take a moment to end each member: wait for it, briefly.
      poll(function() return #group_members(b) == 0 end, 2)
      assert.same({}, group_members(b))
    end)
  end)
end)

describe("exec in a netns #root", function()
  H.guard()

  -- A fresh netns for one test; removed by the test's one finally, after
  -- the extra cleanup given.
  local function fresh_ns(cleanup)
    local ns = H.name()
    nslab.netns.add(ns)
    finally(function()
      if cleanup then pcall(cleanup) end
      nslab.netns.del(ns)
    end)
    return ns
  end

  -- A fresh netns and the path of its /etc/netns/NAME (not made yet).
  -- /etc is the real one even in the sandbox: the finally removes exactly
  -- what a test may make there (hosts and the directories).
  local function fresh_etc_ns()
    local parent_existed = os.execute("test -d /etc/netns")
    local dir
    local ns = fresh_ns(function()
      os.remove(dir .. "/hosts")
      os.remove(dir .. "/nslab-extra.conf")
      os.remove(dir)
      if not parent_existed then os.remove("/etc/netns") end
    end)
    dir = "/etc/netns/" .. ns
    return ns, dir
  end

  it("shows the netns's links in /sys/class/net, not the caller's, and leaks nothing", function()
    local own = H.name("nsl"):sub(1, 12)
    local ns = fresh_ns(function() H.sh("ip link del " .. own) end)
    local out, ok = H.sh("ip -n " .. ns .. " link add in0 type veth peer in1")
    assert.is_true(ok, out)
    out, ok = H.sh("ip link add " .. own .. " type veth peer " .. own .. "p")
    assert.is_true(ok, out)
    local sysfs, mounts = H.sh("ls /sys/class/net"), read_file("/proc/self/mountinfo")
    local r = nslab.exec(ns, { "ls", "/sys/class/net" }, { check = true })
    assert.equals("in0\nin1\nlo\n", r.stdout)
    assert.equals("in0\nin1\nlo\n", nslab.spawn(ns, { "ls", "/sys/class/net" }):wait(5).stdout)
    -- Run from nslab's own netns, it lists that one's links.
    r = nslab.exec(nil, { "ls", "/sys/class/net" })
    assert.not_matches("in0", r.stdout, 1, true)
    -- The caller's view is untouched: its sysfs, its mounts.
    assert.equals(sysfs, H.sh("ls /sys/class/net"))
    assert.equals(mounts, read_file("/proc/self/mountinfo"))
  end)

  it("runs in the netns: its links over rtnetlink too", function()
    local ns = fresh_ns()
    local r = nslab.exec(ns, { "ip", "-o", "link" })
    assert.is_true(r.ok, r.stderr)
    local n = 0
    for _ in r.stdout:gmatch("[^\n]+") do n = n + 1 end
    assert.equals(1, n) -- lo only
  end)

  it("binds /etc/netns/NAME/hosts over /etc/hosts inside, not outside", function()
    if H.rootless() then return pending("rootless: /etc/netns cannot be created without root") end
    local ns, dir = fresh_etc_ns()
    assert(os.execute("mkdir -p '" .. dir .. "'"))
    write_file(dir .. "/hosts", "10.123.9.9 nslab-only-inside\n")
    local r = nslab.exec(ns, { "cat", "/etc/hosts" }, { check = true })
    assert.equals("10.123.9.9 nslab-only-inside\n", r.stdout)
    assert.not_matches("nslab-only-inside", read_file("/etc/hosts"), 1, true)
  end)

  it("skips a file with nothing to bind over in /etc, with a warning, as ip netns exec", function()
    if H.rootless() then return pending("rootless: /etc/netns cannot be created without root") end
    local ns, dir = fresh_etc_ns()
    assert(os.execute("mkdir -p '" .. dir .. "'"))
    write_file(dir .. "/hosts", "10.123.9.9 nslab-only-inside\n")
    write_file(dir .. "/nslab-extra.conf", "x\n") -- no /etc/nslab-extra.conf
    local out = H.sh(H.bin .. " -e 'io.write(require(\"nslab\").exec(\"" .. ns ..
      "\", {\"cat\", \"/etc/hosts\"}, {check = true}).stdout)'")
    assert.matches("10.123.9.9 nslab-only-inside", out, 1, true)
    assert.matches("warning: cannot bind " .. dir .. "/nslab-extra.conf on /etc/nslab-extra.conf: ENOENT",
      out, 1, true)
  end)

  it("sees a file added to /etc/netns/NAME after a first exec, and its removal", function()
    if H.rootless() then return pending("rootless: /etc/netns cannot be created without root") end
    local ns, dir = fresh_etc_ns()
    local hosts = read_file("/etc/hosts")
    -- First exec: no /etc/netns/NAME at all.
    assert.equals(hosts, nslab.exec(ns, { "cat", "/etc/hosts" }, { check = true }).stdout)
    assert(os.execute("mkdir -p '" .. dir .. "'"))
    assert.equals(hosts, nslab.exec(ns, { "cat", "/etc/hosts" }, { check = true }).stdout)
    -- Added right after an exec (same clock tick): still seen.
    write_file(dir .. "/hosts", "10.123.9.8 added-later\n")
    assert.equals("10.123.9.8 added-later\n", nslab.exec(ns, { "cat", "/etc/hosts" }, { check = true }).stdout)
    -- Replaced by rename, as editors do: the new file is seen.
    write_file(dir .. "/hosts.new", "10.123.9.7 replaced\n")
    assert(os.rename(dir .. "/hosts.new", dir .. "/hosts"))
    assert.equals("10.123.9.7 replaced\n", nslab.sh(ns, "cat /etc/hosts", { check = true }).stdout)
    os.remove(dir .. "/hosts")
    assert.equals(hosts, nslab.spawn(ns, { "cat", "/etc/hosts" }):wait(5).stdout)
  end)

  it("sees a mount made on nslab's side after a first exec, where / is shared", function()
    local root = read_file("/proc/self/mountinfo"):match("\n?%d+ %d+ %S+ %S+ / (%S+ [^\n]*)")
    if not (root and root:find("shared:", 1, true)) then
      return pending("/ is not a shared mount here: later mounts do not propagate")
    end
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local ns = fresh_ns(function()
      os.execute("umount " .. dir .. " 2>/dev/null")
      os.remove(dir)
    end)
    assert.equals("", nslab.exec(ns, { "ls", dir }, { check = true }).stdout)
    assert(os.execute("mount -t tmpfs nslab-spec " .. dir .. " && touch " .. dir .. "/seen"))
    assert.equals("seen\n", nslab.exec(ns, { "ls", dir }, { check = true }).stdout)
  end)

  it("runs in nslab's working directory unless cwd is given", function()
    local ns = fresh_ns()
    local here = H.sh("pwd"):gsub("\n$", "")
    assert.equals(here .. "\n", nslab.exec(ns, { "pwd" }, { check = true }).stdout)
    assert.equals(here .. "\n", nslab.exec(ns, { "sh", "-c", "pwd -P" }, { check = true }).stdout)
    assert.equals("/proc\n", nslab.exec(ns, { "pwd" }, { cwd = "/proc", check = true }).stdout)
    assert.equals(here .. "\n", nslab.exec(ns, { "pwd" }, { check = true }).stdout)
  end)

  it("uses the new namespace after a netns is deleted and made again under its name", function()
    local ns = fresh_ns()
    assert.equals("lo\n", nslab.exec(ns, { "ls", "/sys/class/net" }, { check = true }).stdout)
    nslab.netns.del(ns)
    nslab.netns.add(ns)
    local out, ok = H.sh("ip -n " .. ns .. " link add re0 type veth peer re1")
    assert.is_true(ok, out)
    assert.equals("lo\nre0\nre1\n", nslab.exec(ns, { "ls", "/sys/class/net" }, { check = true }).stdout)
  end)

  it("keeps no namespace fd of a deleted netns, mount namespace included", function()
    local function ns_fds()
      local n = 0
      local ls = io.popen("ls -l /proc/" .. H.pid() .. "/fd 2>/dev/null")
      for l in ls:lines() do
        if l:match("%-> %a+:%[%d+%]$") and (l:find("net:[", 1, true) or l:find("mnt:[", 1, true)) then
          n = n + 1
        end
      end
      ls:close()
      return n
    end
    local before = ns_fds()
    local ns = H.name()
    nslab.netns.add(ns)
    finally(function() pcall(nslab.netns.del, ns) end)
    nslab.exec(ns, { "true" }, { check = true })
    assert.is_true(ns_fds() >= before + 2)
    nslab.netns.del(ns)
    assert.equals(before, ns_fds())
  end)

  it("gives the command nslab's original soft limit of open files", function()
    -- nslab itself runs with the soft limit raised to the hard one.
    local out, ok = H.nslab_limited("ulimit -Sn 256", ([[
      local x, ns = require "nslab", "%s"
      x.netns.add(ns)
      local own = io.open("/proc/self/limits"):read("a"):match("Max open files%%s+(%%d+)")
      io.write(own, " ", x.sh(nil, "ulimit -Sn").stdout, x.sh(ns, "ulimit -Sn").stdout)
      x.netns.del(ns)]]):format(H.name()))
    assert.is_true(ok, out)
    assert.equals(H.sh("ulimit -Hn"):gsub("\n", "") .. " 256\n256\n", out)
  end)

  it("raises ENOENT for a missing netns before starting anything", function()
    local ns = fresh_ns()
    local marker = os.tmpname()
    os.remove(marker)
    local e = raises("ENOENT", nslab.exec, ns .. "-missing", { "touch", marker })
    assert.matches('does not exist', tostring(e), 1, true)
    assert.equals(ns .. "-missing", e.netns)
    assert.is_nil(read_file(marker))
    raises("ENOENT", nslab.spawn, ns .. "-missing", { "touch", marker })
    assert.is_nil(read_file(marker))
  end)

  it("raises ENOENT for a missing program, naming it and the netns", function()
    local ns = fresh_ns()
    local e = raises("ENOENT", nslab.exec, ns, { "pnig" })
    assert.equals('exec "pnig" in netns "' .. ns .. '": No such file or directory (ENOENT)', tostring(e))
  end)

  it("with caps='none' cannot change the network, while without it can", function()
    local ns = fresh_ns()
    local add = { "ip", "link", "add", "x0", "type", "veth", "peer", "y0" }
    local r = nslab.exec(ns, add, { caps = "none" })
    assert.is_false(r.ok)
    assert.matches("Operation not permitted", r.stderr, 1, true)
    assert.equals(0, #H.ipj("-n " .. ns .. " link show type veth"))
    r = nslab.exec(ns, add)
    assert.is_true(r.ok, r.stderr)
    assert.equals(2, #H.ipj("-n " .. ns .. " link show type veth"))
    local caps = nslab.sh(ns, "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status", { caps = "none" })
    for v in caps.stdout:gmatch("%x+\n") do assert.equals("0000000000000000\n", v) end
  end)

  it("runs as user nobody (name or uid 65534)", function()
    if H.rootless() then return pending("rootless: only uid 0 is mapped, no other user exists") end
    local ns = fresh_ns()
    assert.equals("65534\n", nslab.exec(ns, { "id", "-u" }, { user = "nobody" }).stdout)
    assert.equals("65534\n", nslab.exec(ns, { "id", "-u" }, { user = 65534 }).stdout)
    local r = nslab.exec(ns, { "id", "-g" }, { user = "nobody" })
    assert.equals("65534\n", r.stdout)
    r = nslab.exec(ns, { "ip", "link", "add", "x0", "type", "veth", "peer", "y0" }, { user = "nobody" })
    assert.is_false(r.ok)
  end)

  it("connects a spawned server in one netns with a client in another", function()
    local other = H.name()
    local ns = fresh_ns(function() nslab.netns.del(other) end)
    nslab.netns.add(other)
    for _, cmd in ipairs {
      "ip link add va netns " .. ns .. " type veth peer vb netns " .. other,
      "ip -n " .. ns .. " addr add 10.123.0.1/24 dev va",
      "ip -n " .. other .. " addr add 10.123.0.2/24 dev vb",
      "ip -n " .. ns .. " link set va up",
      "ip -n " .. other .. " link set vb up",
    } do
      local out, ok = H.sh(cmd)
      assert(ok, cmd .. ": " .. out)
    end
    local srv <close> = nslab.spawn(ns, { "nc", "-l", "10.123.0.1", "5000" })
    local sent = poll(function()
      return nslab.exec(other, { "nc", "-N", "-w", "2", "10.123.0.1", "5000" },
        { stdin = "hello from " .. other .. "\n", timeout = 5 }).ok
    end, 5)
    assert.is_true(sent, "the client never connected")
    local r = srv:wait(5)
    assert.is_true(r.ok, r.stderr)
    assert.equals("hello from " .. other .. "\n", r.stdout)
  end)
end)
