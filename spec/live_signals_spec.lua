-- Signals during lab:apply and its undo (issue 18, review L2): a change and
-- its undo are made together, the undo of a failed apply (or transaction)
-- runs whole with signals held back ("cleaning up, please wait"), then
-- the signal ends nslab; the lab is as before, its record right, and
-- `nslab --clean` removes it all. Signals are sent at a precise point
-- through NSLAB_TEST_SIGNAL_AT (lua/nslab/fault.lua).
local H = require "helper"
local nslab = require "nslab"
local record = require "nslab.record"

local q = H.q

-- A kept lab a -- r -- c; returns its export (the state to come back to).
local function kept(lname, p)
  local out, ok = H.nslab(string.format("--keep -e %s", q(string.format([[
    local lab = require("nslab").lab %q
    local a, r, c = lab:host %q, lab:router %q, lab:host %q
    lab:link(a, r, {addrs = {"10.61.0.1/24", "10.61.0.2/24"}})
    lab:link(r, c, {addrs = {"10.61.1.1/24", "10.61.1.2/24"}})
    a:route("default", "10.61.0.2")]], lname, p .. "a", p .. "r", p .. "c"))))
  assert(ok, out)
  local text
  text, ok = H.nslab("--export " .. q(lname))
  assert(ok, text)
  return text
end

-- A spec that removes r -- c, adds d with two links, changes an MTU, and
-- then fails (a route through a gateway no link reaches: ENETUNREACH).
local function failing_spec(p)
  return H.tmpfile(string.format([[
return {nodes = {{name = %q, routes = {{dst = "default", via = "10.61.0.2"}, {dst = "10.9.0.0/16", via = "10.77.0.1"}}},
  {name = %q, kind = "router"}, {name = %q}, {name = %q}},
  links = {{%q, %q, addrs = {"10.61.0.1/24", "10.61.0.2/24"}, mtu = 1400},
    {%q, %q, addrs = {"10.61.2.1/24", "10.61.2.2/24"}}, {%q, %q}}}]], p .. "a", p .. "r", p .. "c", p .. "d",
    p .. "a:eth0", p .. "r:eth0", p .. "r", p .. "d", p .. "c", p .. "d"))
end

local function cleaned(lname, p)
  local out, ok = H.nslab("--clean " .. q(lname))
  assert(ok, out)
  for _, n in ipairs { "a", "r", "c", "d" } do assert.is_false(nslab.netns.exists(p .. n)) end
  assert.is_nil((record.load(lname)))
end

describe("signals during lab:apply #root", function()
  H.guard()

  for _, case in ipairs {
    { at = "apply-undo:INT:2", status = 130, why = "two SIGINTs in the middle of the undo" },
    { at = "veth-added:TERM", status = 143, why = "SIGTERM while a link of the apply is made" },
  } do
    it(case.why .. ": the undo finishes, the lab is as before, --clean removes it", function()
      local lname, p = H.name("lsg"), H.name("ls")
      local spec = failing_spec(p)
      finally(function()
        os.remove(spec)
        H.nslab("--clean " .. q(lname))
      end)
      local before = kept(lname, p)
      local out, failed = H.nslab(string.format("--apply %s %s", q(lname), q(spec)))
      assert.is_false(failed) -- (without a signal: undone, exit 1)
      assert.matches("apply: + route " .. p .. "a: 10.9.0.0/16 via 10.77.0.1", out, 1, true)
      out = H.sh(string.format("NSLAB_TEST_SIGNAL_AT=%s %s --apply %s %s 2>&1; echo status=$?", case.at, H.bin,
        q(lname), q(spec)))
      assert.equals(case.status, math.tointeger(tonumber(out:match("status=(%d+)"))), out)
      assert.matches("cleaning up, please wait", out, 1, true)
      assert.is_false(nslab.netns.exists(p .. "d"))
      local after, ok = H.nslab("--export " .. q(lname))
      assert(ok, after)
      assert.equals(before, after)
      cleaned(lname, p)
    end)
  end

  it("SIGINT while a transaction's undo makes a link again: the link comes back, then nslab is interrupted", function()
    local lname, p = H.name("lsg"), H.name("ls")
    finally(function() H.nslab("--clean " .. q(lname)) end)
    local before = kept(lname, p)
    local script = H.tmpfile(string.format([[
      local lab = require("nslab.lab").attach(%q)
      local ok, e = pcall(lab.transaction, lab, function(l)
        l:unlink(%q, %q)
        error("boom")
      end)
      print("transaction:", ok, e)
      lab:keep()
    ]], lname, p .. "r", p .. "c"))
    finally(function() os.remove(script) end)
    local out = H.sh(string.format("NSLAB_TEST_SIGNAL_AT=veth-added:INT %s %s 2>&1; echo status=$?", H.bin, script))
    local after, ok = H.nslab("--export " .. q(lname))
    assert(ok, after)
    assert.equals(before, after)
    assert.matches("cleaning up, please wait", out, 1, true)
    assert.matches("transaction:%s+false%s+[^\n]*interrupted %(SIGINT%)", out)
    cleaned(lname, p)
  end)
  it("SIGINT held back while a batch of new nodes is made: the error names the batch, the apply is undone", function()
    local lname, p = H.name("lsb"), H.name("lb")
    local script = H.tmpfile(string.format([[
      local lab <close> = require("nslab").lab %q
      local s = { nodes = {}, links = {} }
      for i = 1, 6 do s.nodes[i] = { name = %q .. i } end
      for i = 1, 5 do s.links[i] = { %q .. i .. ":eth1", %q .. (i + 1) .. ":eth0" } end
      print("apply:", pcall(lab.apply, lab, s))
      print("nodes:", #lab.nodes)]], lname, p, p, p))
    finally(function()
      os.remove(script)
      H.nslab("--clean " .. q(lname))
    end)
    local out = H.sh(string.format("NSLAB_TEST_SIGNAL_AT=build-made:INT %s %s 2>&1; echo status=$?",
      H.bin or "./nslab", q(script)))
    assert.matches("apply: + 6 node(s) (" .. p .. "1, ...) and 5 link(s) between them, made together: " ..
      "interrupted (SIGINT)", out, 1, true)
    assert.matches("nodes:%s+0", out)
    for i = 1, 6 do assert.is_false(nslab.netns.exists(p .. i)) end
    assert.is_nil((record.load(lname)))
  end)
end)
