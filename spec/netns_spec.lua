-- nslab.netns: named network namespaces, interoperable with ip-netns(8).
local H = require "helper"
local nslab = require "nslab"
local netns = nslab.netns

local raises = H.raises

describe("netns #root", function()
  H.guard()

  describe("add", function()
    it("creates a netns that ip netns sees and can run in", function()
      local name = H.name()
      netns.add(name)
      finally(function() netns.del(name) end)
      local out = H.sh("ip netns list")
      assert.matches(name, out, 1, true)
      local lo, ok = H.sh("ip netns exec " .. name .. " cat /proc/net/dev")
      assert.is_true(ok, lo)
      assert.matches("lo:", lo, 1, true)
    end)

    it("raises EEXIST when the netns already exists, and keeps it", function()
      local name = H.name()
      netns.add(name)
      finally(function() netns.del(name) end)
      local e = raises("EEXIST", netns.add, name)
      assert.equals("netns.add", e.op)
      assert.matches('netns.add "' .. name .. '"', tostring(e), 1, true)
      assert.is_true(netns.exists(name))
    end)

    it("rejects names iproute2 rejects, before touching anything", function()
      for _, bad in ipairs { "", ".", "..", "a/b", "../x", "../../etc/x", ("x"):rep(256) } do
        local e = raises("EINVAL", netns.add, bad)
        assert.matches("invalid netns name", tostring(e), 1, true)
      end
      assert.is_nil(io.open("/run/x"))
    end)

    it("accepts what iproute2 accepts, spaces included, unchanged", function()
      local name = H.name() .. " with space"
      netns.add(name)
      finally(function() netns.del(name) end)
      assert.is_true(netns.exists(name))
      local f = io.open("/run/netns/" .. name)
      assert.is_not_nil(f)
      f:close()
    end)

    it("needs a string name", function()
      assert.has_error(function() netns.add() end)
      assert.has_error(function() netns.add({}) end)
    end)

    -- Adds netns PREFIX1..PREFIXn until one fails, deletes them, then
    -- prints how many were made and the error (if any): run by nslab -e.
    local function add_many(n)
      return ([[
        local x, p, made = require "nslab", "%s-", 0
        local ok, e = pcall(function() for i = 1, %d do x.netns.add(p .. i); made = i end end)
        for i = 1, made do x.netns.del(p .. i) end
        print(made, ok or e.code, ok or e.op)
        if not ok then print(e) end]]):format(H.name(), n)
    end

    it("makes more namespaces than half the soft fd limit nslab started with", function()
      -- Two fds per netns: 200 would stop near 125 under a limit of 256.
      local out, ok = H.nslab_limited("ulimit -Sn 256", add_many(200))
      assert.is_true(ok, out)
      assert.equals("200\ttrue\ttrue\n", out)
    end)

    it("raises EMFILE naming the fd limit and ulimit when even the hard limit is reached", function()
      local out, ok = H.nslab_limited("ulimit -n 48", add_many(40))
      assert.is_true(ok, out)
      assert.matches("^%d+\tEMFILE\tnetns.add\n", out)
      assert.matches("open-file limit (RLIMIT_NOFILE, ulimit -n) is 48, hard limit 48", out, 1, true)
      assert.matches("ulimit -Hn", out, 1, true)
    end)
  end)

  describe("list", function()
    it("returns the names sorted, including those made by ip netns", function()
      local a, b = "zz-" .. H.name(), "aa-" .. H.name()
      -- busted keeps one finally per test: it undoes both
      finally(function()
        pcall(netns.del, a)
        H.sh("ip netns del " .. b)
      end)
      netns.add(a)
      assert(select(2, H.sh("ip netns add " .. b)))
      local names = netns.list()
      local ia, ib
      for i, n in ipairs(names) do
        if n == a then ia = i end
        if n == b then ib = i end
      end
      assert.is_not_nil(ia)
      assert.is_not_nil(ib)
      assert.is_true(ib < ia)
      for i = 2, #names do assert.is_true(names[i - 1] < names[i]) end
    end)
  end)

  describe("del", function()
    it("removes the netns so ip netns no longer lists it", function()
      local name = H.name()
      netns.add(name)
      netns.del(name)
      assert.is_false(netns.exists(name))
      assert.not_matches(name, H.sh("ip netns list"), 1, true)
    end)

    it("raises ENOENT for a netns that does not exist", function()
      local e = raises("ENOENT", netns.del, H.name())
      assert.matches("does not exist", tostring(e), 1, true)
    end)

    it("detaches stacked mounts before removing (P6)", function()
      local name = H.name()
      netns.add(name)
      local path = "/run/netns/" .. name
      assert(select(2, H.sh("mount --bind " .. path .. " " .. path)))
      assert(select(2, H.sh("mount --bind " .. path .. " " .. path)))
      netns.del(name)
      assert.is_false(netns.exists(name))
    end)

    it("deletes a netns made by ip netns add", function()
      local name = H.name()
      assert(select(2, H.sh("ip netns add " .. name)))
      netns.del(name)
      assert.not_matches(name, H.sh("ip netns list"), 1, true)
    end)

    it("rejects bad names with EINVAL", function()
      raises("EINVAL", netns.del, "../x")
      raises("EINVAL", netns.del, "a/b")
    end)
  end)

  describe("exists", function()
    it("is false for an unknown name and true after add", function()
      local name = H.name()
      assert.is_false(netns.exists(name))
      netns.add(name)
      finally(function() netns.del(name) end)
      assert.is_true(netns.exists(name))
    end)
  end)

  it("re-creating a name after del gives a fresh namespace", function()
    local name = H.name()
    netns.add(name)
    assert(select(2, H.sh("ip -n " .. name .. " link set lo up")))
    netns.del(name)
    netns.add(name)
    finally(function() netns.del(name) end)
    local links = H.ipj("-n " .. name .. " link show lo")
    assert.equals("DOWN", links[1].operstate)
  end)
end)

describe("netns processes #root", function()
  H.guard()

  it("lists the processes living in a netns and kills them (as ip netns pids)", function()
    local name = H.name()
    nslab.netns.add(name)
    local pidfile = os.tmpname()
    finally(function() pcall(nslab.netns.del, name) os.remove(pidfile) end)
    H.sh(string.format("ip netns exec %s setsid -f sh -c 'echo $$ > %s; exec sleep 300' </dev/null >/dev/null 2>&1",
      name, pidfile))
    local pid = H.wait_for(function()
      local f = io.open(pidfile)
      local n = f and f:read("n")
      if f then f:close() end
      return n
    end)
    assert.same({ math.tointeger(pid) }, nslab.netns.pids(name))
    assert.same({ math.tointeger(pid) }, nslab.netns.pids { name, H.name() })
    assert.same({}, nslab.netns.pids(H.name()))
    assert.equals(1, nslab.netns.kill(name, "SIGTERM"))
    assert.is_truthy(H.wait_for(function() return #nslab.netns.pids(name) == 0 end))
    assert.has_error(function() nslab.netns.kill(name, "SIGBANANA") end)
    assert.has_error(function() nslab.netns.pids("a/b") end)
  end)
end)

describe("netns symlinks in /run/netns #root", function()
  H.guard()
  -- A symlink planted in /run/netns must never be followed: its target
  -- could be any mount or the host's own namespace (/proc/1/ns/net).
  local function mounted(path)
    local out = H.sh("findmnt -rno TARGET " .. H.q(path))
    return out:find(path, 1, true) ~= nil
  end

  it("netns.del refuses a symlink and unmounts nothing it points at", function()
    local ns, link = H.name(), H.name("lnk")
    nslab.netns.add(ns)
    finally(function()
      os.remove("/run/netns/" .. link)
      nslab.netns.del(ns)
    end)
    assert(os.execute("ln -s /run/netns/" .. ns .. " /run/netns/" .. link))
    local ok, e = pcall(nslab.netns.del, link)
    assert.is_false(ok)
    assert.equals("ELOOP", e.code)
    assert.matches("/run/netns/" .. link .. " is a symlink, not a netns", tostring(e), 1, true)
    assert.is_true(mounted("/run/netns/" .. ns), "the target was unmounted")
    assert.is_true(H.sh("ls -l /run/netns/" .. link):find("->", 1, true) ~= nil, "the symlink is left alone")
  end)

  it("netns.pids and netns.kill refuse a symlink to /proc/1/ns/net", function()
    local link = H.name("lnk")
    assert(os.execute("ln -s /proc/1/ns/net /run/netns/" .. link))
    finally(function() os.remove("/run/netns/" .. link) end)
    for _, f in ipairs { nslab.netns.pids, nslab.netns.kill } do
      local ok, e = pcall(f, { link })
      assert.is_false(ok)
      assert.equals("ELOOP", e.code)
      assert.matches("is a symlink, not a netns", tostring(e), 1, true)
    end
    -- and nothing that would enter it follows the link either
    local ok, e = pcall(nslab.link.list, { netns = link })
    assert.is_false(ok)
    assert.equals("ELOOP", e.code)
    assert.matches("/run/netns/" .. link .. " is a symlink, not a netns", tostring(e), 1, true)
  end)
end)
