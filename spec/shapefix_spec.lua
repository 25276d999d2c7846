-- Shaping, link state and schedules: the edge cases a tester found after
-- issue 13 (100 % loss, failed impairs changing nothing, routes through
-- repeated downs, schedule state in a node's text, bounds of burst, limit
-- and rate, error positions). Quick: no iperf3, few pings.
local H = require "helper"
local nslab = require "nslab"

local raises = H.raises

local in_ns = H.in_ns

local function netem() return require("nslab.tc").available("netem") end

-- A lab with hosts a and b joined by one link (link opts given), a at
-- 10.0.0.1, b at 10.0.0.2, b's default route via a.
local function pair(link_opts)
  local lab = nslab.lab(H.name("shf"))
  local a, b = lab:host(H.name("fa")), lab:host(H.name("fb"))
  local o = { addrs = { "10.0.0.1/24", "10.0.0.2/24" } }
  for k, v in pairs(link_opts or {}) do o[k] = v end
  local ok, e = pcall(function()
    lab:link(a, b, o)
    b:route("default", "10.0.0.1")
  end)
  if not ok then
    lab:close()
    error(e, 0)
  end
  return lab, a, b
end

local function qdiscs(ns) return (in_ns(ns, "tc qdisc show dev eth0")) end
local function nft_rules(ns) return (in_ns(ns, "nft list table netdev nslab_impair 2>/dev/null")) or "" end

describe("shaping edge cases #root", function()
  H.guard()

  it("drops everything with loss 100% (a plain drop rule), named by lab:link", function()
    for _, loss in ipairs { "100%", 1, "99.99995%" } do
      local lab <close>, a, b = pair { a_to_b = { loss = loss } }
      assert.is_false((a:ping(b, { timeout = 0.3 })))
      if not netem() then assert.matches("drop", nft_rules(b.netns), 1, true) end
      lab:close()
    end
  end)

  it("leaves the link as it was when lab:impair fails, and says so naming lab:impair and the link", function()
    local lab <close>, a, b = pair { rate = "5mbit", loss = "10%" }
    local before = { qdiscs(a.netns), qdiscs(b.netns), nft_rules(a.netns), nft_rules(b.netns) }
    local tbf = require "nslab.tc"
    local real = tbf.qdisc_replace
    local n = 0
    -- The second qdisc nslab asks for fails: a failure midway.
    tbf.qdisc_replace = function(o)
      n = n + 1
      if n == 2 then
        error(nslab.core.error { op = "tc.qdisc_replace", object = o.dev, errno = nslab.core.errno.EIO }, 0)
      end
      return real(o)
    end
    local ok, e = pcall(lab.impair, lab, a, b, { rate = "1mbit", loss = "20%" })
    tbf.qdisc_replace = real
    assert.is_false(ok)
    assert.equals("lab:impair", e.op)
    assert.matches(a.name .. ":eth0 -- " .. b.name .. ":eth0", tostring(e), 1, true)
    assert.same(before, { qdiscs(a.netns), qdiscs(b.netns), nft_rules(a.netns), nft_rules(b.netns) })
    assert.matches("rate 5mbit loss 10%", tostring(a), 1, true)
    assert.matches("rate 5mbit loss 10%", tostring(b), 1, true)
  end)

  local function has_default(b) return (in_ns(b.netns, "ip route")):find("default via 10.0.0.1", 1, true) ~= nil end

  it("keeps the routes through a down found already down (schedule down, down, up)", function()
    local lab <close>, a, b = pair()
    assert.is_true(lab:schedule({ { at = 0.05, link = { a, b }, state = "down" },
      { at = 0.1, link = { a, b }, state = "down" }, { at = 0.15, link = { a, b }, state = "up" } }):wait(5))
    assert.is_true(has_default(b), in_ns(b.netns, "ip route"))
  end)

  it("keeps the routes through link_state down, then a scheduled down and up", function()
    local lab <close>, a, b = pair()
    lab:link_state(a, b, "down")
    assert.is_true(lab:schedule({ { at = 0.05, link = { a, b }, state = "down" },
      { at = 0.1, link = { a, b }, state = "up" } }):wait(5))
    assert.is_true(has_default(b), in_ns(b.netns, "ip route"))
  end)

  it("keeps the routes through a scheduled down, then link_state down and up", function()
    local lab <close>, a, b = pair()
    local s = lab:schedule { { at = 0.05, link = { a, b }, state = "down" } }
    assert.is_truthy(H.wait_for(function() return not s:running() end, 5)) -- no wait(): no report read
    lab:link_state(a, b, "down")
    lab:link_state(a, b, "up")
    assert.is_true(has_default(b), in_ns(b.netns, "ip route"))
    assert.is_true((a:ping(b)))
  end)

  it("tells the truth in a node's text after a scheduled down and link_state up", function()
    local lab <close>, a, b = pair()
    local s = lab:schedule { { at = 0.05, link = { a, b }, state = "down" } }
    assert.is_truthy(H.wait_for(function() return not s:running() end, 5))
    lab:link_state(a, b, "up")
    assert.matches("UP", in_ns(a.netns, "ip -br link show dev eth0"), 1, true)
    assert.is_nil(tostring(a):find("(down)", 1, true), tostring(a))
    assert.is_nil(lab:show({ quiet = true }):find("down", 1, true), lab:show({ quiet = true }))
  end)

  it("refuses burst and limit beyond what tbf holds (32 bits), naming the field and the range", function()
    local lab <close>, a, b = pair()
    local e = raises("EINVAL", lab.impair, lab, a, b, { rate = "1mbit", burst = 1000000000000 })
    assert.matches("burst 1000000000000 is out of range", tostring(e), 1, true)
    assert.matches("4294967295", tostring(e), 1, true)
    e = raises("EINVAL", lab.impair, lab, a, b, { rate = "1mbit", limit = 1000000000 })
    assert.matches("limit 1000000000 packets is out of range", tostring(e), 1, true)
    assert.is_nil(tostring(e):find("1514000000000", 1, true), tostring(e))
    local big = { rate = "1mbit", burst = 1000000000000 }
    raises("EINVAL", lab.schedule, lab, { { at = 0.1, link = { a, b }, impair = big } })
    raises("EINVAL", lab.link, lab, a, b, { rate = "1mbit", limit = 1000000000 })
    assert.is_nil(a:links()[3], "a link was left")
  end)

  it("raises a failed event once from wait(), and says it at close without wait()", function()
    local lab <close>, a, b = pair()
    local s = lab:schedule { { at = 0.1, link = { a, b }, impair = { rate = "1mbit" } } }
    in_ns(a.netns, "ip link del eth0")
    local ok, e = pcall(s.wait, s, 5)
    assert.is_false(ok)
    assert.equals("lab:schedule", e.op)
    local _, codes = tostring(e):gsub("%(E%u+%)", "")
    assert.equals(1, codes, tostring(e))
    local lname = H.name("lab")
    local script = H.tmpfile(string.format([[
local lab <close> = require('nslab').lab(%q)
local a, b = lab:host(%q), lab:host(%q)
lab:link(a, b)
lab:schedule { { at = 0.1, link = { a, b }, impair = { rate = "1mbit" } } }
os.execute("ip netns exec " .. a.netns .. " ip link del eth0")
require('nslab').core.sleep(0.5)
]], lname, H.name("fa"), H.name("fb")))
    finally(function() os.remove(script) end)
    local out = H.nslab(script)
    assert.matches("schedule of lab " .. lname .. " failed: lab:schedule event 1", out, 1, true)
  end)

  it("refuses burst or limit without a rate", function()
    local lab <close>, a, b = pair()
    local e = raises("EINVAL", lab.impair, lab, a, b, { burst = 10000 })
    assert.matches("burst needs a rate", tostring(e), 1, true)
    if not netem() then
      e = raises("EINVAL", lab.impair, lab, a, b, { limit = 100, loss = "1%" })
      assert.matches("limit needs a rate", tostring(e), 1, true)
    end
  end)

  it("refuses Mininet's bw=10 as rate = 10 (bit/s) and a burst below one full frame", function()
    local lab <close>, a, b = pair()
    local e = raises("EINVAL", lab.impair, lab, a, b, { rate = 10 })
    assert.matches('"10mbit"', tostring(e), 1, true)
    assert.matches("8kbit", tostring(e), 1, true)
    e = raises("EINVAL", lab.impair, lab, a, b, { rate = "1mbit", burst = 1 })
    assert.matches("1514", tostring(e), 1, true)
    lab:impair(a, b, { rate = "1mbit", burst = 1514 })
    local c, d = lab:host(H.name("fc")), lab:host(H.name("fd"))
    e = raises("EINVAL", lab.link, lab, c, d, { mtu = 9000, rate = "1gbit", burst = 1514 })
    assert.matches("9014", tostring(e), 1, true)
  end)

  it("refuses times that are not finite (NaN, inf) when the schedule is made", function()
    local lab <close>, a, b = pair()
    for _, at in ipairs { 0 / 0, math.huge } do
      raises("EINVAL", lab.schedule, lab, { { at = at, link = { a, b }, state = "down" } })
    end
    raises("EINVAL", lab.flap, lab, a, b, { period = 0 / 0 })
    raises("EINVAL", lab.flap, lab, a, b, { period = math.huge })
  end)

  -- The message of an error fn raises when called from this file.
  local function message(fn)
    local ok, e = pcall(fn)
    assert.is_false(ok)
    return tostring(e)
  end
  local HERE = "shapefix_spec%.lua:%d+: "

  it("points schedule errors at the script's line and names the event", function()
    local lab <close>, a, b = pair()
    local m = message(function() lab:schedule { { at = 1, link = { a }, state = "down" } } end)
    assert.matches(HERE .. "bad argument #1 to 'lab:schedule' %(event 1: ", m)
    m = message(function() lab:schedule("x") end)
    assert.matches(HERE .. "bad argument #1 to 'lab:schedule'", m)
    m = message(function() lab:schedule { { at = 1, link = { a, b }, state = "down", bw = 1 } } end)
    assert.matches(HERE .. "bad argument #1 to 'lab:schedule' %(event 1: unknown field 'bw'%)", m)
    m = message(function() lab:schedule { { at = 1, link = { a, b }, impair = { rate = "1mbit", a_to_b = {} } } } end)
    assert.matches(HERE .. "bad argument #1 to 'lab:schedule'", m)
    m = message(function() lab:impair(a, b, { rate = "1mbit", a_to_b = {} }) end)
    assert.matches(HERE .. "bad argument #3 to 'lab:impair'", m)
    local ev = { at = 1, link = { a, b }, state = "down" }
    local e = raises("ENOENT", lab.schedule, lab, { ev, { at = 1, link = { a, a.name .. ":eth7" }, state = "up" } })
    assert.matches("event 2", tostring(e), 1, true)
    e = raises("EINVAL", lab.schedule, lab, { ev, { at = 1, link = { a, b }, state = "upp" } })
    assert.matches("event 2", tostring(e), 1, true)
    e = raises("EINVAL", lab.schedule, lab, { ev, { at = 1, link = { a, b }, impair = { rate = 10 } } })
    assert.matches("event 2", tostring(e), 1, true)
    m = message(function() lab:schedule { ev, nil, ev } end)
    assert.matches(HERE .. "bad argument #1 to 'lab:schedule' %(.*hole", m)
  end)

  it("lets a kept lab's schedule run on after nslab exits, for --clean to end", function()
    local lname, h1, h2 = H.name("lab"), H.name("fa"), H.name("fb")
    local script = H.tmpfile(string.format([[
local lab <close> = require('nslab').lab(%q)
local a, b = lab:host(%q), lab:host(%q)
lab:link(a, b)
lab:schedule { { at = 0.4, link = { a, b }, state = "down" }, { at = 60, link = { a, b }, state = "up" } }
lab:keep()
]], lname, h1, h2))
    finally(function()
      os.remove(script)
      H.nslab("--clean " .. lname)
    end)
    local out, ok = H.nslab(script)
    assert.is_true(ok, out)
    local pid = math.tointeger(tonumber(out:match("schedule runs on %(pid (%d+)%)")))
    assert.is_truthy(pid, out)
    assert.is_truthy(H.wait_for(function() return in_ns(h1, "ip -br link show dev eth0"):find("DOWN", 1, true) end, 5),
      "the kept lab's schedule did not run on: " .. out)
    out, ok = H.nslab("--clean " .. lname)
    assert.is_true(ok, out)
    assert.is_false(nslab.netns.exists(h1), out)
    local gone = function() return not require("nslab.record").proc_start(pid) end
    assert.is_truthy(H.wait_for(gone, 5), "schedule survived")
  end)
end)
