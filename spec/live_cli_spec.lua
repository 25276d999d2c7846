-- nslab --export NAME and nslab --apply NAME FILE [--dry-run] (issue 18):
-- a kept lab saved and reconciled from another shell. They reopen the lab
-- with nslab.lab.attach; without it they say so (ENOSYS).
local H = require "helper"
local nslab = require "nslab"

local q = H.q

local has_attach = type(require("nslab.lab").attach) == "function"

describe("lab commands --export and --apply #root", function()
  H.guard()

  it("refuse what they cannot do, naming it", function()
    local out, ok = H.nslab("--export")
    assert.is_false(ok)
    assert.matches("which lab? nslab --export NAME", out, 1, true)
    out, ok = H.nslab("--apply nslab-nope-lab")
    assert.is_false(ok)
    assert.matches("one script", out, 1, true)
    out, ok = H.nslab("--apply nslab-nope-lab x.lua --frob")
    assert.is_false(ok)
    assert.matches('unknown option "--frob"', out, 1, true)
    local path = H.tmpfile("return 42")
    finally(function() os.remove(path) end)
    out, ok = H.nslab("--apply nslab-nope-lab " .. q(path))
    assert.is_false(ok)
    assert.matches("returned 42, not a spec table", out, 1, true)
    path = H.tmpfile("return {nodes = {}}")
    out, ok = H.nslab("--export nslab-nope-lab")
    assert.is_false(ok)
    assert.matches(has_attach and "no lab \"nslab-nope-lab\" is recorded" or "cannot reopen a lab", out, 1, true)
  end)

  it("export a kept lab, plan a change (--dry-run), apply it, leave it kept", function()
    if not has_attach then
      pending("nslab.lab.attach is not in this build (branch inspect)")
      return
    end
    local lname, p, file, file2 = H.kept_names(finally, "lcl", "lc")
    local out, ok = H.nslab(string.format("--keep -e %s", q(string.format([[
      local lab = require("nslab").lab %q
      local r, a = lab:router %q, lab:host %q
      lab:link(r, a, {addrs = {"10.41.1.1/24", "10.41.1.2/24"}, mtu = 1400})
      a:route("default", "10.41.1.1")]], lname, p .. "r", p .. "a"))))
    assert(ok, out)
    out, ok = H.nslab(string.format("--export %s > %s", q(lname), q(file)))
    assert(ok, out)
    local script = H.read_all(file)
    assert.matches("mtu = 1400", script, 1, true)
    assert.matches('routes = { { dst = "default", via = "10.41.1.1" } }', script, 1, true)
    local f = assert(io.open(file2, "w"))
    f:write((script:gsub("mtu = 1400", "mtu = 9000"):gsub("  links = {",
      string.format('  links = {\n    { %q, %q, addrs = { "10.41.2.1/24", "10.41.2.2/24" } },', p .. "r", p .. "b"))
      :gsub("  nodes = {", string.format("  nodes = {\n    { name = %q },", p .. "b"))))
    f:close()
    out, ok = H.nslab(string.format("--apply %s %s --dry-run", q(lname), q(file2)))
    assert(ok, out)
    assert.matches("+ node " .. p .. "b (host)", out, 1, true)
    assert.matches("mtu 9000 (was 1400)", out, 1, true)
    assert.matches("Plan: 2 to add, 1 to change, 0 to remove.", out, 1, true)
    assert.is_false(nslab.netns.exists(p .. "b"))
    local ifindex = H.ipj("-n " .. q(p .. "a") .. " link show dev eth0")[1].ifindex
    out, ok = H.nslab(string.format("--apply %s %s", q(lname), q(file2)))
    assert(ok, out)
    assert.is_true(nslab.netns.exists(p .. "b"))
    local a0 = H.ipj("-n " .. q(p .. "a") .. " link show dev eth0")[1]
    assert.equals(9000, a0.mtu)
    assert.equals(ifindex, a0.ifindex)
    out, ok = H.nslab(string.format("--apply %s %s", q(lname), q(file)))
    assert(ok, out)
    assert.matches("- node " .. p .. "b (host)", out, 1, true)
    assert.is_false(nslab.netns.exists(p .. "b"))
    out, ok = H.nslab("--clean " .. q(lname))
    assert(ok, out)
    assert.is_false(nslab.netns.exists(p .. "a"))
  end)

  it("say what is wrong with a script once, before the lab is touched, and no kept notice", function()
    if not has_attach then return pending("nslab.lab.attach is not in this build") end
    local lname, p = H.name("lcm"), H.name("lm")
    local bad, builder = os.tmpname(), os.tmpname()
    finally(function()
      os.remove(bad)
      os.remove(builder)
      H.nslab("--clean " .. q(lname))
    end)
    local out, ok = H.nslab(string.format("--keep -e %s", q(string.format(
      [[local lab = require("nslab").lab %q; lab:host %q]], lname, p .. "a"))))
    assert(ok, out)
    -- a missing script: the open's errno
    out, ok = H.nslab(string.format("--apply %s /nonexistent/%s.lua", q(lname), p))
    assert.is_false(ok)
    assert.matches("cannot open the script (ENOENT)", out, 1, true)
    -- a lab script that builds (here: the same lab) instead of returning a spec: one errno
    local f = assert(io.open(builder, "w"))
    f:write(string.format("require('nslab').lab(%q)", lname))
    f:close()
    out, ok = H.nslab(string.format("--apply %s %s", q(lname), q(builder)))
    assert.is_false(ok)
    assert.matches("the script failed", out, 1, true)
    assert.matches("(EEXIST)", out, 1, true)
    assert.is_nil(out:find("(EINVAL)", 1, true))
    -- a bad spec: named as this command's, and no "kept" notice
    f = assert(io.open(bad, "w"))
    f:write(string.format(
      "return {nodes = {{name = %q}, {name = %q}}, links = {{%q, %q, addrs = {'10.0.0.1/24', 'x'}}}}",
      p .. "a", p .. "b", p .. "a:eth0", p .. "b:eth0"))
    f:close()
    out, ok = H.nslab(string.format("--apply %s %s", q(lname), q(bad)))
    assert.is_false(ok)
    assert.matches("nslab --apply links[1]: Invalid argument: x is not an address", out, 1, true)
    assert.is_nil(out:find("kept", 1, true))
    assert.is_false(nslab.netns.exists(p .. "b"))
    assert.is_true(nslab.netns.exists(p .. "a"))
  end)

  it("--keep of a script that fails before its first node keeps nothing", function()
    local lname = H.name("lck")
    finally(function() H.nslab("--clean " .. q(lname)) end)
    local out, ok = H.nslab(string.format("--keep -e %s", q(string.format(
      [[local lab = require("nslab").lab %q; lab:host "a/b"]], lname))))
    assert.is_false(ok)
    assert.matches("invalid name", out, 1, true)
    assert.is_nil(out:find("kept", 1, true))
    assert.is_nil(io.open(require("nslab.record").path_of(lname)))
  end)
end)
