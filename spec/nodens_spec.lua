-- nslab.nodens: each lab node's own UTS namespace (hostname) and the
-- lab-wide /etc/hosts its commands see (Exec.node underneath).
local H = require "helper"
local nslab = require "nslab"
local Exec = require "nslab.exec"

local raises = H.raises

local function mount_lines()
  local n = 0
  for l in io.lines("/proc/self/mountinfo") do
    if not l:find(" /run/netns ", 1, true) then n = n + 1 end -- made once by netns.add
  end
  return n
end

local function own_hostname()
  local f = assert(io.open("/proc/sys/kernel/hostname"))
  local h = f:read("l")
  f:close()
  return h
end

describe("node namespaces #root #quick", function()
  H.guard()

  it("gives every node its own UTS namespace named after it", function()
    local mine, mounts = own_hostname(), mount_lines()
    local lab <close> = nslab.lab(H.name "ndl")
    local a, b = H.name "nda", H.name "ndb"
    local red, blue = lab:host(a), lab:router(b)
    assert.equals(a .. "\n", red:run({ "hostname" }).stdout)
    assert.equals(b .. "\n", blue:run({ "uname", "-n" }).stdout)
    assert.equals(a .. "\n", red:run("cat /proc/sys/kernel/hostname").stdout)
    local ns_red = red:run({ "readlink", "/proc/self/ns/uts" }).stdout
    local ns_blue = blue:run({ "readlink", "/proc/self/ns/uts" }).stdout
    assert.not_equals(ns_red, ns_blue)
    assert.not_equals(H.sh("readlink /proc/self/ns/uts"), ns_red)
    -- a spawned command and a plain nslab.exec in the netns join it too
    local p = red:spawn { "hostname" }
    assert.equals(a .. "\n", p:wait().stdout)
    assert.equals(b .. "\n", nslab.exec(b, { "hostname" }).stdout)
    -- changing it inside stays inside
    red:run({ "hostname", "changed" }, { check = true })
    assert.equals("changed\n", red:run({ "hostname" }).stdout)
    assert.equals(b .. "\n", blue:run({ "hostname" }).stdout)
    assert.equals(mine, own_hostname())
    lab:close()
    assert.equals(mounts, mount_lines())
  end)

  it("takes hostname = for hosts, routers and bridges", function()
    local lab <close> = nslab.lab(H.name "ndl")
    local h = lab:host(H.name "ndh", { hostname = "web-1.lab" })
    local r = lab:router(H.name "ndr", { hostname = "R1" })
    local s = lab:bridge(H.name "nds", { hostname = "sw" })
    assert.equals("web-1.lab\n", h:run({ "hostname" }).stdout)
    assert.equals("R1\n", r:run({ "hostname" }).stdout)
    assert.equals("sw\n", s:run({ "hostname" }).stdout)
    assert.equals("web-1.lab", h.hostname)
    -- a name that is no RFC 1123 hostname is still taken as is
    local u = lab:host(H.name "nd_u")
    assert.equals(u.name .. "\n", u:run({ "hostname" }).stdout)
  end)

  it("refuses a bad hostname before making anything", function()
    local lab <close> = nslab.lab(H.name "ndl")
    local name = H.name "ndx"
    for _, bad in ipairs { "", "-a", "a-", "a..b", ".a", "a.", "a_b", "a b", ("a"):rep(65),
      ("a"):rep(64) .. ".b" } do
      local e = raises("EINVAL", lab.host, lab, name, { hostname = bad })
      assert.matches("is not a hostname", tostring(e), 1, true)
      assert.is_nil(lab:node(name))
      assert.is_false(nslab.netns.exists(name))
    end
    assert.has_error(function() lab:host(name, { hostname = 7 }) end)
    -- node names may have 200 bytes: the hostname is the first 64
    local long, longer = ("n"):rep(65), ("m"):rep(200)
    local m = lab:host(longer)
    assert.equals(("m"):rep(64) .. "\n", m:run({ "hostname" }).stdout)
    local n = lab:host(long, { hostname = ("a"):rep(62) .. ".b" })
    assert.equals(("a"):rep(62) .. ".b\n", n:run({ "hostname" }).stdout)
  end)

  it("lists every node's addresses by name in each node's /etc/hosts", function()
    local lab <close> = nslab.lab(H.name "ndl")
    local a, b = H.name "nda", H.name "ndb"
    local red, blue = lab:host(a), lab:host(b, { hostname = "bluebox" })
    lab:link(red, blue, { addrs = { { "10.123.7.1/24", "fd00:123:7::1/64" },
      { "10.123.7.2/24", "fd00:123:7::2/64" } } })
    local hosts = red:run({ "cat", "/etc/hosts" }).stdout
    assert.matches("\n10.123.7.2\t" .. b .. " bluebox\n", hosts, 1, true)
    assert.matches("\nfd00:123:7::1\t" .. a .. "\n", hosts, 1, true)
    assert.matches("127.0.0.1\tlocalhost", hosts, 1, true)
    assert.equals(hosts, blue:run({ "cat", "/etc/hosts" }).stdout)
    assert.is_true(red:run("ping -4 -c1 -W2 " .. b).ok)
    assert.is_true(red:run("ping -6 -c1 -W2 " .. b).ok)
    assert.is_true(blue:run("ping -c1 -W2 " .. a).ok)
    -- a reader started before sees the rewrite: the same file, in place
    blue:addr("eth0", "10.123.8.2/24")
    assert.matches("\n10.123.8.2\t" .. b, red:run({ "cat", "/etc/hosts" }).stdout, 1, true)
    -- nslab's own /etc/hosts is untouched
    local f = assert(io.open("/etc/hosts"))
    assert.is_nil(f:read("a"):find(b, 1, true))
    f:close()
  end)
end)

describe("Exec.node #root #quick", function()
  H.guard()

  it("checks its arguments", function()
    local ns = H.name "ndn"
    raises("ENOENT", Exec.node, ns, { hostname = "x" })
    nslab.netns.add(ns)
    finally(function() nslab.netns.del(ns) end)
    raises("EINVAL", Exec.node, ns, { hostname = "" })
    raises("EINVAL", Exec.node, ns, { hostname = ("x"):rep(65) })
    raises("EINVAL", Exec.node, ns, { hostname = "a\0b" })
    raises("EINVAL", Exec.node, ns, { hosts = "a\0b" })
    local ok, e = pcall(Exec.node, ns, { bogus = 1 })
    assert.is_false(ok)
    assert.matches("'nslab.exec.node'", tostring(e), 1, true)
    assert.has_error(function() Exec.node(ns, { hostname = {} }) end)
    assert.has_error(function() Exec.node(ns) end)
    Exec.node(ns, { hostname = "one", hosts = "10.0.0.9 nine\n" })
    assert.equals("one\n", nslab.exec(ns, { "hostname" }).stdout)
    assert.equals("10.0.0.9 nine\n", nslab.exec(ns, { "cat", "/etc/hosts" }).stdout)
    Exec.node(ns, { hostname = "two" })
    assert.equals("two\n", nslab.exec(ns, { "hostname" }).stdout)
  end)
end)

describe("node dirs #root #quick", function()
  H.guard()

  it("gives each node its own writable tmpfs on each directory", function()
    local mounts = mount_lines()
    local lab <close> = nslab.lab(H.name "ndl")
    local red = lab:host(H.name "nda", { dirs = { "/var/tmp", "/mnt" } })
    local blue = lab:host(H.name "ndb", { dirs = { "/var/tmp" } })
    local file = "/var/tmp/" .. H.name "ndf"
    red:run({ "touch", file }, { check = true })
    assert.is_true(red:run({ "test", "-e", file }).ok)
    assert.is_false(blue:run({ "test", "-e", file }).ok)
    assert.is_nil(io.open(file))
    assert.matches("tmpfs", red:run("stat -f -c %T /mnt").stdout, 1, true)
    lab:close()
    assert.equals(mounts, mount_lines())
  end)

  it("refuses entries that are not absolute or hold ..", function()
    local lab <close> = nslab.lab(H.name "ndl")
    local name = H.name "ndx"
    for _, bad in ipairs { "", "var/tmp", "/var/../etc", "/..", "/var/..", "/a\0b" } do
      local e = raises("EINVAL", lab.host, lab, name, { dirs = { bad } })
      assert.matches("absolute paths without", tostring(e), 1, true)
      assert.is_false(nslab.netns.exists(name))
    end
    local e = raises("ENOENT", lab.host, lab, name, { dirs = { "/nonexistent-" .. name } })
    assert.equals(string.format('lab:host "%s": No such file or directory: dirs entry "/nonexistent-%s" is not an '
      .. "existing directory (each gets a fresh tmpfs mounted on it; nslab makes nothing on the host's file "
      .. "systems: make it first, or pick one that exists, such as /var/tmp or /srv) (ENOENT)", name, name),
      tostring(e))
    assert.is_false(nslab.netns.exists(name))
    raises("ENOTDIR", lab.host, lab, name, { dirs = { "/etc/hostname" } })
    for _, bad in ipairs { "/", "/proc", "/sys", "/dev", "/dev/", "//proc", "/proc/sys", "/sys/fs/cgroup" } do
      e = raises("EINVAL", lab.host, lab, name, { dirs = { "/var/tmp", bad } })
      assert.equals(string.format('lab:host "%s": Invalid argument: dirs entry "%s" cannot be made private: a '
        .. "fresh tmpfs on /, /proc, /sys or /dev (or under /proc and /sys) would hide what every command of the "
        .. "node needs (EINVAL)", name, bad), tostring(e))
      assert.is_false(nslab.netns.exists(name))
    end
    assert.equals(0, #lab.nodes)
    assert.has_error(function() lab:host(name, { dirs = "/var/tmp" }) end)
    assert.has_error(function() lab:host(name, { dirs = { 1 } }) end)
  end)
end)

describe("node ipc and time #root #quick", function()
  H.guard()

  local function ns_of(node, kind)
    return node:run({ "readlink", "/proc/self/ns/" .. kind }, { check = true }).stdout
  end

  it("gives ipc = true nodes their own IPC namespace, others nslab's", function()
    local lab <close> = nslab.lab(H.name "ndl")
    local a = lab:host(H.name "nda", { ipc = true })
    local b = lab:host(H.name "ndb", { ipc = true })
    local c = lab:host(H.name "ndc")
    local mine = H.sh("readlink /proc/self/ns/ipc")
    assert.not_equals(ns_of(a, "ipc"), ns_of(b, "ipc"))
    assert.not_equals(mine, ns_of(a, "ipc"))
    assert.equals(mine, ns_of(c, "ipc"))
    assert.has_error(function() lab:host(H.name "ndx", { ipc = 1 }) end)
  end)

  it("moves a node's clocks by time = {monotonic =, boottime =}", function()
    local lab <close> = nslab.lab(H.name "ndl")
    local a = lab:host(H.name "nda", { time = { monotonic = 86400.5, boottime = 3600 } })
    local offsets = a:run({ "cat", "/proc/self/timens_offsets" }, { check = true }).stdout
    assert.matches("monotonic%s+86400%s+500000000", offsets)
    assert.matches("boottime%s+3600%s+0", offsets)
    local f = assert(io.open("/proc/uptime"))
    local mine = f:read("n")
    f:close()
    local theirs = tonumber(a:run({ "cat", "/proc/uptime" }).stdout:match("^%S+"))
    assert.is_true(theirs - mine > 3590 and theirs - mine < 3610)
    -- a spawned command joins it too
    local p = a:spawn { "cat", "/proc/self/timens_offsets" }
    assert.equals(offsets, p:wait().stdout)
    assert.not_equals(H.sh("readlink /proc/self/ns/time"), ns_of(a, "time"))
  end)

  it("refuses bad time offsets", function()
    local lab <close> = nslab.lab(H.name "ndl")
    local name = H.name "ndx"
    assert.has_error(function() lab:host(name, { time = { monotonic = "1" .. "x" } }) end)
    assert.has_error(function() lab:host(name, { time = { realtime = 1 } }) end)
    assert.has_error(function() lab:host(name, { time = { monotonic = 1e10 } }) end)
    assert.has_error(function() lab:host(name, { time = 5 }) end)
    -- the user's line is blamed, with lab:host's own words
    local line = debug.getinfo(1, "l").currentline + 1
    local _, e1 = pcall(function() lab:host(name, { time = { monotonic = "1" } }) end)
    assert.equals("spec/nodens_spec.lua:" .. line .. ": bad argument #2 to 'lab:host' "
      .. "(field 'time.monotonic' must be a number (seconds), not string)", e1)
    local _, e2 = pcall(function() lab:router(name, { time = { realtime = 1 } }) end)
    assert.equals("spec/nodens_spec.lua:" .. (line + 3) .. ": bad argument #2 to 'lab:router' "
      .. "(field 'time' takes monotonic and boottime only, not 'realtime')", e2)
    local e = raises("EINVAL", lab.host, lab, name, { time = { monotonic = 0 / 0 } })
    assert.equals(string.format('lab:host "%s": Invalid argument: time.monotonic NaN is not a finite number (EINVAL)',
      name), tostring(e))
    raises("EINVAL", lab.host, lab, name, { time = { boottime = 1e10 } })
    raises("ERANGE", lab.host, lab, name, { time = { boottime = -1e8 } })
    assert.is_false(nslab.netns.exists(name))
  end)
end)

describe("node namespaces after SIGKILL #root", function()
  H.guard()

  it("leave nothing once --clean removed the lab's netns and processes", function()
    local mounts = mount_lines()
    local lname, h = H.name "ndl", H.name "ndk"
    local script = H.tmpfile(table.concat({
      string.format("local lab = require('nslab').lab(%q)", lname),
      string.format("local n = lab:host(%q, { hostname = 'k1', dirs = { '/mnt' }, ipc = true,"
        .. " time = { boottime = 10 } })", h),
      "n:run({ 'touch', '/mnt/x' }, { check = true })",
      "n:spawn { 'sleep', '60' }",
      "os.execute('kill -9 ' .. require('nslab').core.getpid())",
    }, "\n") .. "\n")
    finally(function() os.remove(script) end)
    H.nslab(script)
    assert.is_true(nslab.netns.exists(h))
    local out, ok = H.nslab("--clean " .. lname)
    assert.is_true(ok, out)
    assert.is_false(nslab.netns.exists(h), out)
    assert.equals("", H.sh("pgrep -f '^sleep 60$'"))
    assert.equals(mounts, mount_lines())
  end)
end)
