-- nslab.tc: qdiscs, classes and filters over rtnetlink, checked against
-- `tc -j` (iproute2), and the netem request checked byte for byte
-- against the one iproute2's tc sends (captured with strace).
local H = require "helper"
local nslab = require "nslab"
local json = require "dkjson"
local tc = nslab.tc

local raises = H.raises

describe("tc units", function()
  it("reads rates, times, percentages and sizes as tc writes them", function()
    assert.equals(10000000, tc.rate("10mbit"))
    assert.equals(1000000000, tc.rate("1gbit"))
    assert.equals(500000, tc.rate("500kbit"))
    assert.equals(800, tc.rate("100bps"))
    assert.equals(2500000, tc.rate(2.5e6))
    assert.equals(0.02, tc.time("20ms"))
    assert.near(1e-4, tc.time("100us"), 1e-12)
    assert.equals(1.5, tc.time(1.5))
    assert.equals(0.01, tc.percent("1%"))
    assert.equals(0.005, tc.percent("0.5%"))
    assert.equals(0.25, tc.percent(0.25))
    assert.equals(32768, tc.size("32kb"))
    assert.equals(1600, tc.size(1600))
  end)

  it("refuses bad values with EINVAL naming what it accepts", function()
    local e = raises("EINVAL", tc.rate, "10 mbps")
    assert.matches('unknown unit " mbps"', e.msg, 1, true)
    assert.matches("kbit, mbit, gbit", e.msg, 1, true)
    e = raises("EINVAL", tc.rate, "10furlongs")
    assert.matches('unknown unit "furlongs"', e.msg, 1, true)
    assert.equals("tc.rate", e.op)
    raises("EINVAL", tc.rate, "-10mbit")
    raises("EINVAL", tc.rate, -5)
    raises("EINVAL", tc.rate, 0)
    e = raises("EINVAL", tc.time, "20")
    assert.matches("needs a unit", e.msg, 1, true)
    raises("EINVAL", tc.time, -1)
    e = raises("EINVAL", tc.percent, "101%")
    assert.matches("over 100%", e.msg, 1, true)
    raises("EINVAL", tc.percent, 1.5)
    raises("EINVAL", tc.percent, "1")
    raises("EINVAL", tc.size, "5gb")
    assert.has_error(function() tc.rate(true) end)
    assert.has_error(function() tc.rate() end)
  end)
end)

-- A netns with veth0 and veth1 up, made with ip; deleted in finally
-- (its qdiscs, classes and filters go with it).
local function fixture()
  local ns = H.name()
  nslab.netns.add(ns)
  local ip = "ip -n " .. ns .. " "
  local out, ok = H.sh(ip .. "link add name veth0 type veth peer name veth1 && " ..
    ip .. "link set dev veth0 up && " .. ip .. "link set dev veth1 up")
  assert(ok, out)
  return ns
end

-- `tc -j ARGS` in ns, decoded.
local function tcj(ns, args)
  local out, ok = H.sh("tc -n " .. ns .. " -j " .. args)
  assert(ok, "tc " .. args .. ": " .. out)
  if out:match("^%s*$") then return {} end
  return assert(json.decode(out), "tc printed no JSON: " .. out)
end

-- The qdiscs tc sees on dev, by kind.
local function tc_qdiscs(ns, dev)
  local t = {}
  for _, q in ipairs(tcj(ns, "qdisc show dev " .. dev)) do t[q.kind] = q end
  return t
end

-- The htb classes tc shows on dev: classid -> "rate R ceil C" (tc 6.1
-- prints classes as text only).
local function tc_classes(ns, dev)
  local out, ok = H.sh("tc -n " .. ns .. " class show dev " .. dev)
  assert(ok, out)
  local t = {}
  for id, rc in out:gmatch("class htb (%S+) [^\n]-(rate %S+ ceil %S+)") do t[id] = rc end
  return t
end

describe("tc #root", function()
  H.guard()
  if not H.which("tc") then
    pending("needs iproute2's tc")
    return
  end

  describe("qdisc_add, qdisc_replace, qdisc_del, qdisc_list", function()
    it("adds a tbf that tc sees with its rate, burst and limit", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local q = tc.qdisc_add { netns = ns, dev = "veth0", kind = "tbf", rate = "10mbit",
        burst = 5000, latency = "50ms" }
      assert.same({ "veth0", "tbf", "root", 10000000, 5000, 67500 },
        { q.dev, q.kind, q.parent, q.rate, q.burst, q.limit })
      assert.is_nil(q.warnings)
      local t = tc_qdiscs(ns, "veth0").tbf
      assert.is_not_nil(t)
      assert.equals(q.handle, t.handle)
      assert.is_true(t.root)
      assert.equals(1250000, t.options.rate) -- bytes/s
      assert.equals(5000, t.options.burst)
      assert.same({ q }, tc.qdisc_list { netns = ns, dev = "veth0" })
      raises("EEXIST", tc.qdisc_add, { netns = ns, dev = "veth0", kind = "tbf", rate = "1mbit" })
    end)

    it("replaces a tbf in place and deletes it", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local q1 = tc.qdisc_replace { netns = ns, dev = "veth1", kind = "tbf", rate = "10mbit" }
      local q2 = tc.qdisc_replace { netns = ns, dev = "veth1", kind = "tbf", rate = 2e6,
        burst = "4kb", limit = 10000 }
      assert.equals(q1.handle, q2.handle)
      assert.same({ 2000000, 4096, 10000 }, { q2.rate, q2.burst, q2.limit })
      local t = tc_qdiscs(ns, "veth1").tbf
      assert.equals(250000, t.options.rate)
      assert.equals(4096, t.options.burst)
      tc.qdisc_del { netns = ns, dev = "veth1" }
      assert.is_nil(tc_qdiscs(ns, "veth1").tbf)
      local e = raises("ENOENT", tc.qdisc_del, { netns = ns, dev = "veth1" })
      assert.matches("no qdisc at root of veth1", e.msg, 1, true)
    end)

    it("adds pfifo with a limit and lists qdiscs of every device", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      tc.qdisc_add { netns = ns, dev = "veth0", kind = "pfifo", limit = 100 }
      tc.qdisc_add { netns = ns, dev = "veth1", kind = "clsact" }
      assert.equals(100, tc_qdiscs(ns, "veth0").pfifo.options.limit)
      assert.is_not_nil(tc_qdiscs(ns, "veth1").clsact)
      local seen = {}
      for _, q in ipairs(tc.qdisc_list { netns = ns }) do
        seen[q.dev .. " " .. q.kind .. " " .. q.parent] = q
      end
      assert.equals(100, seen["veth0 pfifo root"].limit)
      assert.equals("ffff:", seen["veth1 clsact clsact"].handle)
      tc.qdisc_del { netns = ns, dev = "veth1", parent = "clsact" }
      assert.is_nil(tc_qdiscs(ns, "veth1").clsact)
    end)

    it("raises EOPNOTSUPP naming the kernel option for a qdisc the kernel lacks", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      for kind, config in pairs { netem = "CONFIG_NET_SCH_NETEM", fq_codel = "CONFIG_NET_SCH_FQ_CODEL" } do
        if tc.available(kind) then
          local q = tc.qdisc_replace { netns = ns, dev = "veth0", kind = kind, limit = 500 }
          assert.equals(kind, q.kind)
          assert.is_not_nil(tc_qdiscs(ns, "veth0")[kind])
        else
          local e = raises("EOPNOTSUPP", tc.qdisc_add,
            { netns = ns, dev = "veth0", kind = kind, limit = 500 })
          assert.matches(config, e.msg, 1, true)
          local ok, why = tc.available(kind)
          assert.is_false(ok)
          assert.matches('no qdisc "' .. kind .. '" %(needs ' .. config, why)
        end
      end
    end)
  end)

  describe("available", function()
    it("finds the kinds this kernel has and names what it lacks", function()
      assert.is_true(tc.available("tbf"))
      assert.is_true(tc.available("htb"))
      assert.is_true(tc.available("ingress"))
      assert.is_true(tc.available("u32"))
      assert.is_true(tc.available("mirred"))
      local ok, why = nslab.core.tc.available("nosuchqdisc")
      assert.is_false(ok)
      assert.equals('this kernel has no qdisc "nosuchqdisc"', why)
      assert.has_error(function() tc.available("a b") end)
    end)
  end)

  describe("htb classes", function()
    it("adds classes tc sees, and returns the kernel's warnings", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local q = tc.qdisc_add { netns = ns, dev = "veth0", kind = "htb", handle = "1:", default = "10" }
      assert.same({ "1:", 16, 10 }, { q.handle, q.default, q.r2q })
      local r = tc.class_add { netns = ns, dev = "veth0", classid = "1:10", rate = "1mbit" }
      assert.same({}, r)
      -- 100mbit / r2q 10 is a quantum over 200000: the kernel warns
      r = tc.class_add { netns = ns, dev = "veth0", classid = "1:20", rate = "100mbit",
        ceil = "200mbit" }
      assert.equals(1, #r.warnings)
      assert.matches("quantum of class 10020 is big", r.warnings[1], 1, true)
      local classes = tc_classes(ns, "veth0")
      assert.equals("rate 1Mbit ceil 1Mbit", classes["1:10"])
      assert.equals("rate 100Mbit ceil 200Mbit", classes["1:20"])
      tc.class_replace { netns = ns, dev = "veth0", classid = "1:10", rate = "2mbit" }
      tc.class_del { netns = ns, dev = "veth0", classid = "1:20" }
      classes = tc_classes(ns, "veth0")
      assert.is_nil(classes["1:20"])
      assert.equals("rate 2Mbit ceil 2Mbit", classes["1:10"])
      raises("ENOENT", tc.class_del, { netns = ns, dev = "veth0", classid = "1:20" })
      raises("EEXIST", tc.class_add, { netns = ns, dev = "veth0", classid = "1:10", rate = "1mbit" })
    end)
  end)

  describe("ingress redirection", function()
    it("redirects what a link receives to an ifb with u32 and mirred", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      nslab.link.add { netns = ns, name = "ifb0", kind = "ifb", up = true }
      tc.qdisc_add { netns = ns, dev = "veth1", kind = "ingress" }
      tc.filter_add { netns = ns, dev = "veth1", parent = "ffff:", protocol = "all", prio = 1,
        action = { kind = "mirred", egress_redirect = "ifb0" } }
      local found
      for _, f in ipairs(tcj(ns, "filter show dev veth1 parent ffff:")) do
        for _, a in ipairs(f.options and f.options.actions or {}) do
          if a.kind == "mirred" then found = a end
        end
      end
      assert.is_not_nil(found)
      assert.same({ "ifb0", "redirect", "egress" }, { found.to_dev, found.mirred_action, found.direction })
      tc.qdisc_replace { netns = ns, dev = "ifb0", kind = "tbf", rate = "10mbit" }
      tc.filter_del { netns = ns, dev = "veth1", parent = "ffff:" }
      assert.same({}, tcj(ns, "filter show dev veth1 parent ffff:"))
      tc.qdisc_del { netns = ns, dev = "veth1", parent = "ingress" }
      assert.is_nil(tc_qdiscs(ns, "veth1").ingress)
      if not tc.available("matchall") then
        tc.qdisc_add { netns = ns, dev = "veth1", kind = "ingress" }
        local e = raises("EOPNOTSUPP", tc.filter_add, { netns = ns, dev = "veth1", parent = "ffff:",
          kind = "matchall", action = { kind = "mirred", egress_redirect = "ifb0" } })
        assert.matches("CONFIG_NET_CLS_MATCHALL", e.msg, 1, true)
      end
      raises("ENODEV", tc.filter_add, { netns = ns, dev = "veth1", parent = "ffff:",
        action = { kind = "mirred", egress_redirect = "nosuch0" } })
    end)
  end)

  describe("bad input", function()
    it("is refused before the kernel is asked, and changes nothing", function()
      local ns = fixture()
      finally(function() nslab.netns.del(ns) end)
      local function tbf(extra)
        local t = { netns = ns, dev = "veth0", kind = "tbf", rate = "10mbit" }
        for k, v in pairs(extra) do t[k] = v end
        return t
      end
      local e = raises("EINVAL", tc.qdisc_add, tbf { rate = -5 })
      assert.equals("tc.qdisc_add", e.op)
      assert.equals("tbf at root of veth0", e.object)
      raises("EINVAL", tc.qdisc_add, tbf { rate = "-10mbit" })
      -- the kernel keeps burst and limit in 32 bits: never cut silently
      e = raises("EINVAL", tc.qdisc_add, tbf { rate = "1mbit", burst = 1e12 })
      assert.matches("burst 1000000000000.0 is out of range (0..4294967295 bytes)", tostring(e), 1, true)
      e = raises("EINVAL", tc.qdisc_add, tbf { rate = "1mbit", limit = 2 ^ 33 })
      assert.matches("is out of range (0..4294967295 bytes)", tostring(e), 1, true)
      e = raises("EINVAL", tc.qdisc_add, tbf { rate = "10 mbps" })
      assert.matches("kbit, mbit", e.msg, 1, true)
      raises("EINVAL", tc.qdisc_add, tbf { rate = "10parsecs" })
      raises("EINVAL", tc.qdisc_add, tbf { burst = 0 })
      raises("EINVAL", tc.qdisc_add, tbf { latency = "50ms", limit = 1000 })
      raises("EINVAL", tc.qdisc_add, { netns = ns, dev = "veth0", kind = "netem", loss = "101%" })
      raises("EINVAL", tc.qdisc_add, { netns = ns, dev = "veth0", kind = "netem", loss = 1.01 })
      raises("EINVAL", tc.qdisc_add, { netns = ns, dev = "veth0", kind = "netem", reorder = "5%" })
      raises("EINVAL", tc.qdisc_add, { netns = ns, dev = "veth0", kind = "sfqq" })
      raises("EINVAL", tc.qdisc_add, tbf { parent = "top" })
      e = raises("ENODEV", tc.qdisc_add, tbf { dev = "nosuch0" })
      assert.matches('no such interface "nosuch0"', e.msg, 1, true)
      raises("ENOENT", tc.qdisc_add, tbf { netns = H.name() })
      raises("EINVAL", tc.qdisc_add, tbf { dev = "a-name-too-long-0" })
      assert.has_error(function() tc.qdisc_add(tbf { dev = false }) end)
      assert.has_error(function() tc.qdisc_add { netns = ns, kind = "tbf", rate = "1mbit" } end,
        "bad argument #1 to 'tc.qdisc_add' (field 'dev' is required (an ifname))")
      assert.has_error(function() tc.qdisc_add { netns = ns, dev = "veth0", kind = "tbf" } end)
      assert.has_error(function() tc.qdisc_add(tbf { delay = "1ms" }) end)
      assert.has_error(function() tc.qdisc_add(tbf { rate = {} }) end)
      assert.has_error(function() tc.class_add { netns = ns, dev = "veth0", rate = "1mbit" } end)
      assert.has_error(function() tc.filter_add { netns = ns, dev = "veth0", parent = "ffff:",
        action = { kind = "gact" } } end)
      for _, q in ipairs(tc.qdisc_list { netns = ns, dev = "veth0" }) do
        assert.same({ "noqueue", "0:" }, { q.kind, q.handle }) -- the default only
      end
    end)
  end)
end)

-- The sendmsg payloads of `tc ARGS` in ns, as strace -X raw -e write=all
-- dumps them (hex lines " | 00000  4c 00 ..."), one string per sendmsg.
local function tc_sends(ns, args)
  local out = H.sh("strace -X raw -e trace=sendmsg -e write=all -xx tc -n " .. ns .. " " .. args)
  local msgs, cur = {}, nil
  for line in out:gmatch("[^\n]+") do
    local off, rest = line:match("^ | (%x%x%x%x%x)  (.*)$")
    if off then
      local hex = rest:sub(1, 49) -- 16 bytes in hex; the ASCII column after
      if off == "00000" then
        cur = {}
        msgs[#msgs + 1] = cur
      end
      for b in hex:gmatch("%x%x") do cur[#cur + 1] = string.char(tonumber(b, 16)) end
    end
  end
  for i, m in ipairs(msgs) do msgs[i] = table.concat(m) end
  return msgs
end

-- The TCA_OPTIONS payload of the RTM_NEWQDISC among msgs.
local function tca_options(msgs)
  for _, m in ipairs(msgs) do
    if #m >= 36 and string.unpack("<I2", m, 5) == 36 then -- RTM_NEWQDISC
      local pos, len = 37, string.unpack("<I4", m)
      while pos + 4 <= len + 1 do
        local alen, atype = string.unpack("<I2I2", m, pos)
        if alen < 4 then break end
        if atype == 2 then return m:sub(pos + 4, pos + alen - 1) end
        pos = pos + ((alen + 3) & ~3)
      end
    end
  end
end

local function hex(s)
  return (s or "(none)"):gsub(".", function(c) return ("%02x"):format(c:byte()) end)
end

describe("tc.netem_options #root", function()
  H.guard()

  it("is the TCA_OPTIONS iproute2's tc sends for the same options", function()
    if not (H.which("strace") and H.which("tc")) then
      pending("needs strace and tc (Debian strace, iproute2) to capture tc's netem request; " ..
        "netem itself needs CONFIG_NET_SCH_NETEM only to run")
      return
    end
    local ns = fixture()
    finally(function() nslab.netns.del(ns) end)
    local cases = {
      { "delay 10ms 2ms loss 1%", { delay = "10ms", jitter = "2ms", loss = "1%" } },
      { "delay 100ms reorder 25% corrupt 0.5% duplicate 2%",
        { delay = "100ms", reorder = "25%", corrupt = "0.5%", duplicate = "2%" } },
      { "limit 50 loss 0.3%", { limit = 50, loss = 0.003 } },
      { "delay 1s 100us", { delay = 1, jitter = "100us" } },
      { "delay 20ms", { delay = 0.02 } },
    }
    for _, c in ipairs(cases) do
      -- the kernel may refuse (no netem): the request is captured first
      local theirs = tca_options(tc_sends(ns, "qdisc add dev veth0 root netem " .. c[1]))
      assert.is_not_nil(theirs, "no RTM_NEWQDISC captured for " .. c[1])
      assert.equals(hex(theirs), hex(tc.netem_options(c[2])), c[1])
      pcall(tc.qdisc_del, { netns = ns, dev = "veth0" })
    end
  end)
end)
