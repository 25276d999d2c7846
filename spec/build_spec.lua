-- Building from a spec (issue 18, speed): lab:apply makes new nodes and
-- the links between them at once (nslab.build: one rtnetlink batch per
-- namespace), and the lab it leaves is the one lab:host/lab:router and
-- lab:link leave: the same record lines, lab:spec(), kernel state, hostname
-- and hosts file; a batch refused midway leaves nothing; a SIGKILL in the
-- middle of one leaves what `nslab --clean` removes whole.
local H = require "helper"
local nslab = require "nslab"
local record = require "nslab.record"
local declare = require "nslab.declare"
local fault = require "nslab.fault"

local q, raises = H.q, H.raises
local text = declare.lua_text

-- What `ip -j` says of netns ns, without what the kernel chooses afresh
-- each time (ifindexes, the MACs it made, the IPv6 link-local addresses
-- made from them).
local SKIP = { ifindex = true, link_index = true, link_netnsid = true, index = true }
local function strip(v, macs)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do
    if not SKIP[k] and not (k == "address" and not macs[x]) then t[k] = strip(x, macs) end
  end
  if t.family == "inet6" and t.scope == "link" then t["local"] = "(link-local)" end
  return t
end
local function ip_state(ns, macs)
  local out = {}
  for _, what in ipairs { "link show", "addr show", "route show", "-6 route show" } do
    local list = {}
    for _, x in ipairs(H.ipj("-n " .. q(ns) .. " " .. what)) do list[#list + 1] = text(strip(x, macs)) end
    table.sort(list)
    out[what] = list
  end
  return text(out)
end

local SYSCTLS = { "net.ipv4.ping_group_range", "net.ipv6.conf.default.accept_dad", "net.ipv4.ip_forward",
  "net.ipv6.conf.all.forwarding", "net.ipv4.conf.all.rp_filter" }

-- Everything of lab that must not depend on how it was built.
local function state(lab)
  local macs = { ["00:00:00:00:00:00"] = true, ["ff:ff:ff:ff:ff:ff"] = true }
  for _, l in ipairs(lab._links) do
    for _, m in pairs(l.mac or {}) do macs[m] = true end
  end
  local t = { spec = text(lab:spec()), nodes = {} }
  for _, n in ipairs(lab.nodes) do
    local s = { ip = ip_state(n.netns, macs), sysctl = {} }
    for _, k in ipairs(SYSCTLS) do s.sysctl[k] = nslab.sysctl.get(n.netns, k) end
    local r = n:run { "sh", "-c", "hostname; cat /etc/hosts" }
    s.run = r.stdout
    t.nodes[n.name] = text(s)
  end
  -- the record, as lines (identities and the owner apart), sorted: the
  -- batch writes its intents in one write, before the identities
  local lines = {}
  for l in H.read_all(record.path_of(lab.name)):gmatch("[^\n]+") do
    if not l:find("^owner ") then lines[#lines + 1] = (l:gsub("^(netns%-id %S+) %d+ %d+$", "%1")) end
  end
  table.sort(lines)
  t.record = table.concat(lines, "\n")
  -- (in another order: the batch's namespaces, then its veths)
  t.undo = {}
  for i, u in ipairs(lab._undo) do t.undo[i] = u.what .. (u.covered and " covered" or "") end
  table.sort(t.undo)
  return t
end

-- A lab with what the batch makes (hosts, a router with sysctls, a
-- hostname, mtu, MACs, IPv4 and IPv6, a link made from a later node to
-- an earlier one) and what it leaves to lab:link and node methods (a
-- bridge, a shaped link, addresses on lo, routes).
local function spec_of(p)
  return {
    nodes = {
      { name = p .. "a", hostname = "alpha" },
      { name = p .. "r", kind = "router", sysctls = { ["net.ipv4.conf.all.rp_filter"] = "2" } },
      { name = p .. "b" },
      { name = p .. "c", addrs = { lo = { "10.41.255.3/32" } }, routes = { { dst = "default", via = "10.41.3.1" } } },
      { name = p .. "s", kind = "bridge" },
      { name = p .. "d" },
    },
    links = {
      { p .. "r:eth0", p .. "a:eth0", addrs = { "10.41.1.1/24", "10.41.1.2/24" } },
      { p .. "r:eth1", p .. "b:eth0",
        addrs = { { "10.41.2.1/24", "fd41:2::1/64" }, { "10.41.2.2/24", "fd41:2::2/64" } },
        mtu = 9000, mac = { "02:00:00:41:02:01", "02:00:00:41:02:02" } },
      { p .. "c:eth0", p .. "r:eth2", addrs = { "10.41.3.2/24", "10.41.3.1/24" } },
      { p .. "d:eth0", p .. "s:eth0", addrs = { "10.41.4.4/24" } },
      { p .. "a:eth1", p .. "b:eth1", addrs = { "10.41.9.1/30", "10.41.9.2/30" }, rate = "20mbit" },
    },
  }
end

-- The same lab, made by lab:host/router/bridge, lab:link and node methods.
local function by_hand(lab, p)
  local a = lab:host(p .. "a", { hostname = "alpha" })
  local r = lab:router(p .. "r", { sysctls = { ["net.ipv4.conf.all.rp_filter"] = "2" } })
  local b, c = lab:host(p .. "b"), lab:host(p .. "c")
  local s, d = lab:bridge(p .. "s"), lab:host(p .. "d")
  lab:link(r, a, { ifnames = { "eth0", "eth0" }, addrs = { "10.41.1.1/24", "10.41.1.2/24" } })
  lab:link(r, b, { ifnames = { "eth1", "eth0" }, addrs = { { "10.41.2.1/24", "fd41:2::1/64" },
    { "10.41.2.2/24", "fd41:2::2/64" } }, mtu = 9000, mac = { "02:00:00:41:02:01", "02:00:00:41:02:02" } })
  lab:link(c, r, { ifnames = { "eth0", "eth2" }, addrs = { "10.41.3.2/24", "10.41.3.1/24" } })
  lab:link(d, s, { ifnames = { "eth0", "eth0" }, addrs = { "10.41.4.4/24" } })
  lab:link(a, b, { ifnames = { "eth1", "eth1" }, addrs = { "10.41.9.1/30", "10.41.9.2/30" }, rate = "20mbit" })
  c:addr("lo", "10.41.255.3/32")
  c:route("default", "10.41.3.1")
end

local function netns_with(p)
  local t = {}
  for _, n in ipairs(nslab.netns.list()) do
    if n:sub(1, #p) == p then t[#t + 1] = n end
  end
  return t
end

describe("building from a spec #root", function()
  H.guard()

  it("leaves the lab lab:host and lab:link leave", function()
    local lname, p = H.name("bd"), H.name("bd")
    local hand, built
    do
      local lab <close> = nslab.lab(lname)
      by_hand(lab, p)
      hand = state(lab)
    end
    do
      local lab <close> = nslab.lab(lname)
      lab:apply(spec_of(p))
      built = state(lab)
      assert.is_true(lab:node(p .. "a"):ping "10.41.9.2")
      assert.is_true(lab:node(p .. "c"):ping "10.41.3.1")
      assert.is_true(lab:node(p .. "b"):ping "fd41:2::1")
      assert.equals("No changes: the lab matches the spec.\n", lab:diff(spec_of(p), { quiet = true }):text())
    end
    assert.equals(hand.spec, built.spec)
    assert.equals(hand.record, built.record)
    assert.same(hand.undo, built.undo)
    for name, st in pairs(hand.nodes) do assert.equals(st, built.nodes[name], name) end
    assert.equals(0, #netns_with(p))
  end)

  it("builds a lab in an empty lab and in one that has nodes, and undoes it with lab:remove", function()
    local p = H.name("bd")
    local lab <close> = nslab.lab(H.name("bd"))
    local x = lab:host(p .. "x")
    local s = { nodes = { { name = p .. "x" } }, links = {} }
    for i = 1, 20 do
      s.nodes[#s.nodes + 1] = { name = p .. i }
      if i > 1 then
        s.links[#s.links + 1] = { p .. (i - 1), p .. i, addrs = { string.format("10.42.%d.1/30", i),
          string.format("10.42.%d.2/30", i) } }
      end
    end
    s.links[#s.links + 1] = { p .. "x", p .. "1", addrs = { "10.42.0.1/30", "10.42.0.2/30" } }
    lab:apply(s)
    assert.equals(21, #lab.nodes)
    assert.is_true(x:ping "10.42.0.2")
    assert.is_true(lab:node(p .. "2"):ping "10.42.3.2")
    lab:remove(p .. "10")
    assert.is_false(nslab.netns.exists(p .. "10"))
    assert.is_nil(record.contents(assert(record.load(lab.name))).ids[p .. "10"])
    lab:apply(s)
    assert.is_true(lab:node(p .. "9"):ping "10.42.10.2")
  end)

  it("rolls back a batch the kernel refuses midway, leaving nothing", function()
    local lname, p = H.name("bd"), H.name("bd")
    local lab <close> = nslab.lab(lname)
    local s = { nodes = {}, links = {} }
    for i = 1, 6 do s.nodes[i] = { name = p .. i } end
    for i = 1, 5 do
      s.links[i] = { p .. i .. ":eth1", p .. (i + 1) .. ":eth0",
        addrs = { string.format("10.43.%d.1/24", i), string.format("10.43.%d.2/24", i) } }
    end
    -- link 4's first end gets one address twice: EEXIST from the kernel, in the batch
    s.links[4].addrs[1] = { "10.43.4.1/24", "10.43.4.1/24" }
    local e = raises("EEXIST", lab.apply, lab, s)
    assert.equals(string.format('lab %q: apply: + link %s4:eth1 -- %s5:eth0 (10.43.4.1/24 10.43.4.1/24 -- '
      .. '10.43.4.2/24)', lname, p, p), e.step)
    assert.matches(string.format('addr.add 10.43.4.1/24 dev eth1 in netns "%s4"', p), tostring(e), 1, true)
    assert.equals(0, #lab.nodes)
    assert.equals(0, #lab._undo)
    assert.same({}, netns_with(p))
    assert.same({}, record.contents(assert(record.load(lname))).ids)
    -- and the lab is usable as before
    s.links[4].addrs[1] = "10.43.4.1/24"
    lab:apply(s)
    assert.is_true(lab:node(p .. "4"):ping "10.43.4.2")
  end)

  it("refuses a name taken outside the lab before making anything", function()
    local p = H.name("bd")
    local lab <close> = nslab.lab(H.name("bd"))
    nslab.netns.add(p .. "3")
    finally(function() nslab.netns.del(p .. "3") end)
    local s = { nodes = { { name = p .. "1" }, { name = p .. "2" }, { name = p .. "3" } },
      links = { { p .. "1", p .. "2" }, { p .. "2", p .. "3" } } }
    local e = raises("EEXIST", lab.apply, lab, s)
    assert.matches("+ node " .. p .. "3 (host)", e.step, 1, true)
    assert.same({ p .. "3" }, netns_with(p))
    assert.equals(0, #lab.nodes)
  end)

  it("batch.netns undoes the namespaces it made when one cannot be made, or its caller refuses them", function()
    local p = H.name("bd")
    nslab.netns.add(p .. "3")
    finally(function()
      for _, n in ipairs { "1", "2", "3", "4", "5" } do
        if nslab.netns.exists(p .. n) then nslab.netns.del(p .. n) end
      end
    end)
    local names = { p .. "1", p .. "2", p .. "3", p .. "4" }
    local called = false
    local k, errno, why = nslab.core.batch.netns(names, {}, function() called = true end)
    assert.equals(3, k)
    assert.equals(nslab.errno.EEXIST, errno)
    assert.equals("netns already exists", why)
    assert.is_false(called)
    assert.same({ p .. "3" }, netns_with(p))
    names[3] = p .. "5"
    local seen
    local ok, e = pcall(nslab.core.batch.netns, names, { { "net.ipv4.ip_forward", "1" } }, function(ids)
      seen = ids
      error("refused", 0)
    end)
    assert.is_false(ok)
    assert.equals("refused", e)
    assert.equals(4, #seen)
    assert.same({ p .. "3" }, netns_with(p))
    -- and made, named, with the sysctls asked for
    assert.is_nil(nslab.core.batch.netns(names, { { "net.ipv4.ip_forward", "1" } }, function(ids) seen = ids end))
    assert.equals("1", nslab.sysctl.get(p .. "1", "net.ipv4.ip_forward"))
    assert.equals("0", nslab.sysctl.get(p .. "2", "net.ipv4.ip_forward"))
    assert.equals(seen[4][2], select(2, nslab.netns.id(p .. "4")))
  end)

  it("undoes a whole batch when a later step fails", function()
    local p = H.name("bd")
    local lab <close> = nslab.lab(H.name("bd"))
    lab:host(p .. "x")
    local before = text(lab:spec())
    local s = lab:spec()
    for i = 1, 4 do s.nodes[#s.nodes + 1] = { name = p .. i } end
    for i = 1, 3 do
      s.links[#s.links + 1] = { p .. i, p .. (i + 1), addrs = { "10.44." .. i .. ".1/24", "10.44." .. i .. ".2/24" } }
    end
    s.links[#s.links + 1] = { p .. "x", p .. "1", addrs = { "10.44.0.1/24", "10.44.0.2/24" } }
    for _, pt in ipairs { "apply:node+", "apply:link+" } do
      fault.arm(pt)
      local e = raises("EIO", lab.apply, lab, s)
      assert.matches("injected fault at " .. pt, tostring(e), 1, true)
      assert.equals(before, text(lab:spec()))
      assert.same({ p .. "x" }, netns_with(p))
    end
    fault.arm("apply:addr+") -- (not in this plan: disarmed below)
    fault.arm("apply:addr+", false)
    lab:apply(s)
    assert.equals(5, #lab.nodes)
  end)

  it("leaves what nslab --clean removes whole when killed while building", function()
    local lname, p = H.name("bd"), H.name("bd")
    -- killed (SIGKILL) at a moment chosen by arg[1]: "ids" once the
    -- namespaces' identities are recorded and before they are named,
    -- "send" before the rtnetlink batches, "time" when the spec says so
    local script = H.tmpfile(string.format([[
      local nslab = require "nslab"
      local batch, mode = nslab.core.batch, ...
      local function die() os.execute("kill -KILL " .. nslab.core.getpid()) nslab.core.sleep(5) end
      local netns, send = batch.netns, batch.send
      batch.netns = function(names, sysctls, on_ids)
        return netns(names, sysctls, function(ids)
          on_ids(ids)
          if mode == "ids" then die() end
        end)
      end
      batch.send = function(...)
        if mode == "send" then die() end
        return send(...)
      end
      local s = { nodes = {}, links = {} }
      for i = 1, 400 do s.nodes[i] = { name = %q .. i } end
      for i = 1, 399 do s.links[i] = { %q .. i, %q .. (i + 1) } end
      local lab = nslab.lab(%q)
      lab:apply(s)
      nslab.core.sleep(30)
    ]], p, p, p, lname))
    finally(function() os.remove(script) end)
    for _, mode in ipairs { "ids", "send", "time" } do
      local proc = nslab.spawn(nil, { H.bin, script, mode }, { capture = false })
      if mode == "time" then
        H.wait_for(function() return #netns_with(p) >= 100 end, 20)
        proc:kill("SIGKILL")
      end
      proc:wait()
      assert.is_true(#netns_with(p) > 0, mode)
      local out, ok = H.nslab("--clean " .. q(lname))
      assert(ok, out)
      assert.same({}, netns_with(p), mode)
      assert.is_nil(record.load(lname), mode)
    end
  end)
end)
