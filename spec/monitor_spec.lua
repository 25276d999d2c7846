-- nslab.monitor and lab:watch (issue 16): rtnetlink notifications of a
-- netns as an iterator, checked against what `ip -j` then shows.
local H = require "helper"
local nslab = require "nslab"
local Link = require "nslab.link"
local Addr = require "nslab.addr"

local raises = H.raises

-- The number of fds this process holds (a monitor left open shows here).
local function nfds()
  return #assert(nslab.core.record.readdir("/proc/self/fd"))
end

-- Reads events from it until want(ev) holds for one, or nil at the end
-- (the monitor's timeout); returns that event and all events seen.
local function find(it, want)
  local seen = {}
  for ev in it do
    seen[#seen + 1] = ev
    if want(ev) then return ev, seen end
  end
  return nil, seen
end

-- A lab of two hosts a -- b (10.77.0.1/24, 10.77.0.2/24).
local function two_hosts() return H.pair_lab("mo", "10.77.0.") end

describe("nslab.monitor #root", function()
  H.guard()

  it("sees a link going down and an address added, as ip -j then shows them", function()
    local _ <close>, a = two_hosts()
    local fds = nfds()
    local it, _, _, closing = nslab.monitor { netns = a.netns, groups = { "link", "addr" }, timeout = 5 }
    Link.set("eth0", { up = false }, { netns = a.netns })
    Addr.add("eth0", "10.78.0.1/24", { netns = a.netns })
    local down = find(it, function(ev) return ev.kind == "link" and ev.name == "eth0" and not ev.up end)
    assert.is_table(down, "no link event for eth0 going down")
    assert.equal("new", down.event)
    assert.equal("veth", down.link_kind)
    assert.equal(a.netns, down.netns)
    local l = H.ipj("-n " .. H.q(a.netns) .. " link show dev eth0")[1]
    assert.equal(l.ifindex, down.ifindex)
    assert.equal(l.address, down.address)
    assert.equal(l.operstate, down.operstate)
    local added = find(it, function(ev) return ev.kind == "addr" and ev.address == "10.78.0.1" end)
    assert.is_table(added, "no addr event for 10.78.0.1")
    assert.equal("new", added.event)
    assert.equal("eth0", added.ifname)
    assert.equal(24, added.prefixlen)
    assert.equal("inet", added.family)
    local found = false
    for _, ai in ipairs(H.ipj("-n " .. H.q(a.netns) .. " addr show dev eth0")[1].addr_info) do
      if ai["local"] == "10.78.0.1" and ai.prefixlen == 24 then found = true end
    end
    assert.is_true(found)
    closing:close()
    assert.is_nil(it())
    assert.equal(fds, nfds())
  end)

  it("times out cleanly: no event, back after the timeout, socket closed", function()
    local _ <close>, a = two_hosts()
    local fds = nfds()
    local t0 = nslab.core.monotime()
    local n = 0
    for _ in nslab.monitor { netns = a.netns, groups = { "link" }, timeout = 0.3 } do n = n + 1 end
    local took = nslab.core.monotime() - t0
    assert.equal(0, n)
    assert.is_true(took >= 0.3 and took < 2, "took " .. took .. " s")
    assert.equal(fds, nfds())
    -- a loop left early closes it too (the closing value)
    local next_event, _, _, closing = nslab.monitor { netns = a.netns, groups = { "addr" } }
    Addr.add("eth0", "10.79.0.1/24", { netns = a.netns })
    for ev in next_event, nil, nil, closing do
      if ev.address == "10.79.0.1" then break end
    end
    assert.equal(fds, nfds())
  end)

  it("reports deletions, routes and neighbours", function()
    local _ <close>, a, b = two_hosts()
    local it, _, _, closing = nslab.monitor { netns = a.netns, groups = { "addr", "route", "neigh" }, timeout = 5 }
    Addr.del("eth0", "10.77.0.1/24", { netns = a.netns })
    Addr.add("eth0", "10.77.0.1/24", { netns = a.netns })
    nslab.route.add { dst = "10.90.0.0/16", via = "10.77.0.2", netns = a.netns }
    assert.is_true(a:ping(b))
    local del = find(it, function(ev) return ev.kind == "addr" and ev.event == "del" end)
    assert.is_table(del)
    assert.equal("10.77.0.1", del.address)
    local r = find(it, function(ev) return ev.kind == "route" and ev.dst == "10.90.0.0/16" end)
    assert.is_table(r)
    assert.same({ "new", "10.77.0.2", "eth0", "main" }, { r.event, r.via, r.dev, r.table })
    local n = find(it, function(ev) return ev.kind == "neigh" and ev.dst == "10.77.0.2" and ev.lladdr end)
    assert.is_table(n, "no neighbour event for 10.77.0.2")
    assert.equal(b:links()[2].address, n.lladdr)
    assert.equal("eth0", n.ifname)
    assert.is_string(n.state)
    closing:close()
  end)

  it("refuses bad input", function()
    local _ <close>, a = two_hosts()
    local e = raises("EINVAL", nslab.monitor, { netns = a.netns, groups = { "link", "bogus" } })
    assert.matches('unknown group "bogus"', tostring(e))
    raises("EINVAL", nslab.monitor, { netns = a.netns, groups = {} })
    raises("EINVAL", nslab.monitor, { netns = a.netns, timeout = 0 })
    e = raises("ENOENT", nslab.monitor, { netns = H.name "nope" })
    assert.matches("does not exist", tostring(e))
    assert.has_error(function() nslab.monitor { netns = a.netns, groups = "link" } end)
    assert.has_error(function() nslab.monitor { netns = a.netns, groups = { 1 } } end)
    assert.has_error(function() nslab.monitor { netns = a.netns, bogus = 1 } end)
  end)
end)

describe("lab:watch #root", function()
  H.guard()

  it("watches every node, tagging each event with its node", function()
    local lab <close>, a, b = two_hosts()
    local fds = nfds()
    local it = lab:watch { groups = { "link" }, timeout = 5 }
    Link.set("eth0", { up = false }, { netns = b.netns })
    local seen = {}
    for ev in it do
      if ev.name == "eth0" then seen[ev.node] = ev end
      if seen[a.name] and seen[b.name] then break end
    end
    -- b's eth0 went down; a's end lost its carrier
    assert.is_false(seen[b.name].up)
    assert.is_true(seen[a.name].up)
    assert.is_false(seen[a.name].carrier)
    it = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    assert.equal(fds, nfds())
    -- one still open when the lab closes is closed with it
    local open, _, _, set = lab:watch { groups = { "link" }, timeout = 5 }
    assert.equal(2, #set.mons)
    lab:close()
    for _, m in ipairs(set.mons) do assert.equal("monitor (closed)", tostring(m)) end
    assert.is_nil(open())
    raises("EINVAL", lab.watch, lab)
  end)
end)
