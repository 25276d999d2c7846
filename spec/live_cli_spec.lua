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
    local lname, p = H.name("lcl"), H.name("lc")
    local file, file2 = os.tmpname(), os.tmpname()
    finally(function()
      os.remove(file)
      os.remove(file2)
      H.nslab("--clean " .. q(lname))
    end)
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
end)
