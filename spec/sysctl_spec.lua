-- nslab.sysctl: per-netns kernel parameters, checked against sysctl(8)
-- and /proc/sys read inside the namespace by `ip netns exec`.
local H = require "helper"
local nslab = require "nslab"
local sysctl = nslab.sysctl

local raises = H.raises

-- sysctl(8)'s view from inside ns.
local function ip_sysctl(ns, key)
  local out, ok = H.sh("ip netns exec " .. ns .. " sysctl -n " .. key)
  assert(ok, out)
  return (out:gsub("\n$", ""))
end

-- This process's own value, read from /proc/sys directly.
local function own(path)
  local f = assert(io.open("/proc/sys/" .. path))
  local v = f:read("a"):gsub("\n$", "")
  f:close()
  return v
end

local function flip(v) return v == "1" and "0" or "1" end

describe("sysctl #root", function()
  H.guard()

  describe("get", function()
    it("reads the value inside the netns, as sysctl -n there sees it", function()
      local ns = H.name()
      nslab.netns.add(ns)
      finally(function() nslab.netns.del(ns) end)
      for _, key in ipairs { "net.ipv4.ip_forward", "net.ipv4.tcp_rmem", "net.ipv6.conf.all.forwarding",
        "net.ipv4.ping_group_range" } do
        assert.equals(ip_sysctl(ns, key), sysctl.get(ns, key))
      end
    end)

    it("reads nslab's own namespace when netns is nil", function()
      assert.equals(own("net/ipv4/ip_forward"), sysctl.get(nil, "net.ipv4.ip_forward"))
      assert.equals(own("net/core/somaxconn"), sysctl.get(nil, "net.core.somaxconn"))
    end)

    it("accepts sysctl(8)'s slash form for names holding dots", function()
      local ns = H.name()
      nslab.netns.add(ns)
      finally(function() nslab.netns.del(ns) end)
      assert(select(2, H.sh("ip -n " .. ns .. " link add name v0.100 type veth peer name v1")))
      local key = "net/ipv4/conf/v0.100/forwarding"
      assert.equals(ip_sysctl(ns, key), sysctl.get(ns, key))
      local v = flip(sysctl.get(ns, key))
      sysctl.set(ns, key, v)
      assert.equals(v, ip_sysctl(ns, key))
      raises("ENOENT", sysctl.get, ns, "net.ipv4.conf.v0.100.forwarding")
    end)

    it("raises ENOENT for a missing sysctl or netns, EISDIR for a directory", function()
      local ns = H.name()
      nslab.netns.add(ns)
      finally(function() nslab.netns.del(ns) end)
      local e = raises("ENOENT", sysctl.get, ns, "net.ipv4.no_such_thing")
      assert.equals("sysctl.get", e.op)
      assert.equals("net.ipv4.no_such_thing", e.object)
      assert.equals(ns, e.netns)
      assert.matches("no such sysctl", e.msg, 1, true)
      e = raises("ENOENT", sysctl.get, H.name(), "net.ipv4.ip_forward")
      assert.matches("does not exist", e.msg, 1, true)
      raises("EISDIR", sysctl.get, ns, "net.ipv4")
      raises("ENOENT", sysctl.get, nil, "net.ipv4.no_such_thing")
    end)

    it("rejects keys that could leave /proc/sys, before touching anything (EINVAL)", function()
      local ns = H.name()
      nslab.netns.add(ns)
      finally(function() nslab.netns.del(ns) end)
      for _, key in ipairs { "", ".", "..", "net..ipv4", ".net.ipv4", "net.ipv4.", "net/../../etc/passwd",
        "../etc/passwd", "/net/ipv4/ip_forward", "net/ipv4//ip_forward", "net/./ipv4/ip_forward",
        "net.ipv4.ip forward", "net.ipv4.ip_forward\n", "net\tipv4" } do
        local e = raises("EINVAL", sysctl.get, ns, key)
        assert.equals(key, e.object)
        raises("EINVAL", sysctl.set, ns, key, "1")
      end
      raises("EINVAL", sysctl.get, "../x", "net.ipv4.ip_forward")
      assert.has_error(function() sysctl.get(ns) end)
      assert.has_error(function() sysctl.get(ns, 4) end)
    end)
  end)

  describe("set", function()
    it("writes a whole-number float as an integer, and refuses a fraction", function()
      local ns = H.name()
      nslab.netns.add(ns)
      finally(function() nslab.netns.del(ns) end)
      nslab.sysctl.set(ns, "net.ipv4.ip_default_ttl", 63.0)
      assert.equals("63", nslab.sysctl.get(ns, "net.ipv4.ip_default_ttl"))
      assert.has_error(function() nslab.sysctl.set(ns, "net.ipv4.ip_default_ttl", 63.5) end)
      assert.equals("63", nslab.sysctl.get(ns, "net.ipv4.ip_default_ttl"))
    end)

    it("sets forwarding in one netns only: another and nslab's own keep theirs (P7)", function()
      local a, b = H.name(), H.name()
      nslab.netns.add(a)
      finally(function()
        nslab.netns.del(a)
        pcall(nslab.netns.del, b)
      end)
      nslab.netns.add(b)
      for _, key in ipairs { "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding" } do
        local path = key:gsub("%.", "/")
        local before_b, before_own = ip_sysctl(b, key), own(path)
        local v = flip(sysctl.get(a, key))
        sysctl.set(a, key, tonumber(v))
        assert.equals(v, ip_sysctl(a, key))
        assert.equals(v, sysctl.get(a, key))
        assert.equals(before_b, ip_sysctl(b, key))
        assert.equals(before_b, sysctl.get(b, key))
        assert.equals(before_own, own(path))
        sysctl.set(a, key, flip(v))
        assert.equals(flip(v), ip_sysctl(a, key))
      end
    end)

    it("writes the right netns's value across many namespaces, mounting nothing visible", function()
      -- More calls than one private proc mount serves (src/sysctl.c).
      local function mounts() return H.sh("grep -v ' /run/netns/' /proc/self/mountinfo") end
      local names, before = {}, mounts()
      finally(function() for _, ns in ipairs(names) do pcall(nslab.netns.del, ns) end end)
      for i = 1, 40 do
        names[i] = H.name()
        nslab.netns.add(names[i])
        sysctl.set(names[i], "net.ipv4.ip_default_ttl", 20 + i)
      end
      for i = 1, 40, 13 do
        assert.equals(tostring(20 + i), ip_sysctl(names[i], "net.ipv4.ip_default_ttl"))
        assert.equals(tostring(20 + i), sysctl.get(names[i], "net.ipv4.ip_default_ttl"))
      end
      assert.equals(before, mounts())
    end)

    it("writes strings holding several numbers", function()
      local ns = H.name()
      nslab.netns.add(ns)
      finally(function() nslab.netns.del(ns) end)
      local lo = 20000 + math.random(0, 999)
      sysctl.set(ns, "net.ipv4.ip_local_port_range", lo .. " " .. (lo + 1000))
      assert.equals(lo .. "\t" .. (lo + 1000), ip_sysctl(ns, "net.ipv4.ip_local_port_range"))
      -- groups must be mapped in the netns's user namespace: rootless
      -- (make check-rootless) only gid 0 is, so no "0 2147483647" here
      sysctl.set(ns, "net.ipv4.ping_group_range", "0 0")
      assert.equals("0\t0", sysctl.get(ns, "net.ipv4.ping_group_range"))
    end)

    it("raises the kernel's EINVAL for a bad value, keeping the old one", function()
      local ns = H.name()
      nslab.netns.add(ns)
      finally(function() nslab.netns.del(ns) end)
      local before = ip_sysctl(ns, "net.ipv4.ip_forward")
      local e = raises("EINVAL", sysctl.set, ns, "net.ipv4.ip_forward", "abc")
      assert.equals("sysctl.set", e.op)
      assert.matches('sysctl.set net.ipv4.ip_forward in netns "' .. ns .. '"', tostring(e), 1, true)
      assert.equals(before, ip_sysctl(ns, "net.ipv4.ip_forward"))
    end)

    it("raises ENOENT for a missing sysctl or netns", function()
      local ns = H.name()
      nslab.netns.add(ns)
      finally(function() nslab.netns.del(ns) end)
      local e = raises("ENOENT", sysctl.set, ns, "net.ipv4.no_such_thing", 1)
      assert.matches("no such sysctl", e.msg, 1, true)
      raises("ENOENT", sysctl.set, H.name(), "net.ipv4.ip_forward", 1)
    end)

    it("needs a string or number value", function()
      assert.has_error(function() sysctl.set(nil, "net.ipv4.ip_forward", {}) end)
      assert.has_error(function() sysctl.set(nil, "net.ipv4.ip_forward", true) end)
      assert.has_error(function() sysctl.set(nil, "net.ipv4.ip_forward") end)
    end)
  end)
end)

describe("sysctl outside the network namespace #root", function()
  H.guard()
  -- Keys other than net.* are not the netns's: kernel.hostname is the UTS
  -- namespace's. The values written are the current ones, so even a build
  -- that lets them through changes nothing.
  local function hostname() return own("kernel/hostname") end

  it("refuses kernel.* keys for a netns, in get and set, naming the rule", function()
    local ns = H.name()
    nslab.netns.add(ns)
    finally(function() nslab.netns.del(ns) end)
    local before = hostname()
    for _, k in ipairs { "kernel.hostname", "kernel/domainname", "vm.swappiness", "fs.file-max", "network.x" } do
      local v = k == "network.x" and "1" or own((k:gsub("%.", "/")))
      local e = raises("EINVAL", sysctl.set, ns, k, v)
      assert.matches(k .. " is not per network namespace: only net.* keys can be set for a netns", tostring(e), 1,
        true)
      assert.equals(ns, e.netns)
      e = raises("EINVAL", sysctl.get, ns, k)
      assert.matches("only net.* keys can be read for a netns", tostring(e), 1, true)
    end
    assert.equals(before, hostname())
    -- net.* and its slash form still work
    assert.equals("0", sysctl.get(ns, "net/ipv4/ip_forward"))
  end)

  it("lab hosts refuse kernel.domainname in sysctls and leave nothing", function()
    local lab <close> = nslab.lab(H.name("lab"))
    local ok, e = pcall(lab.host, lab, "h1", { sysctls = { ["kernel.domainname"] = own("kernel/domainname") } })
    assert.is_false(ok)
    assert.equals("EINVAL", e.code)
    assert.matches("kernel.domainname is not per network namespace", tostring(e), 1, true)
  end)

  it("reads any key of nslab's own namespaces when netns is nil", function()
    assert.equals(hostname(), sysctl.get(nil, "kernel.hostname"))
  end)
end)
