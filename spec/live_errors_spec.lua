-- Bad input to the live-lab methods (issue 18, review L5, L6): each error
-- names the operation the user called, the object and the reason, blames
-- the user's line (never a file of the library), and nothing changes.
local H = require "helper"
local nslab = require "nslab"
local declare = require "nslab.declare"

local text = declare.lua_text
local THIS = "spec/live_errors_spec%.lua:%d+: "

describe("live labs refuse bad input #root", function()
  H.guard()

  local function lab_ab()
    local lab = nslab.lab(H.name("lve"))
    local p = H.name("le")
    local a, b = lab:host(p .. "a"), lab:router(p .. "b")
    lab:link(a, b, { addrs = { "10.71.0.1/24", "10.71.0.2/24" } })
    a:route("default", "10.71.0.2")
    return lab, a, b, p
  end

  -- fn must raise a message matching each of wants (plain text, or a
  -- pattern when it starts with "^"), and leave the lab and the netns as
  -- they were.
  local function refused(lab, fn, wants)
    local before, names = text(lab:spec { macs = true }), text(nslab.netns.list())
    local ok, e = pcall(fn)
    assert.is_false(ok)
    e = tostring(e)
    for _, w in ipairs(wants) do
      if w:sub(1, 1) == "^" then assert.matches(w, e) else assert.matches(w, e, 1, true) end
    end
    assert.is_nil(e:find("[nslab]", 1, true), e)
    assert.equals(before, text(lab:spec { macs = true }))
    assert.equals(names, text(nslab.netns.list()))
  end

  it("argument errors of lab:apply and lab:diff blame the caller's line and name the method", function()
    local lab <close>, _, _, p = lab_ab()
    refused(lab, function() lab:apply(42) end,
      { "^" .. THIS, "bad argument #1 to 'lab:apply' (spec table expected, got number)" })
    refused(lab, function() lab:diff "x" end,
      { "^" .. THIS, "bad argument #1 to 'lab:diff' (spec table expected, got string)" })
    refused(lab, function() lab:apply { nodes = {}, links = "x" } end,
      { "^" .. THIS, "bad argument #1 to 'lab:apply' (spec: field 'links' must be a table, not string)" })
    refused(lab, function() lab:diff { nodes = {}, links = "x" } end,
      { "^" .. THIS, "bad argument #1 to 'lab:diff' (spec: field 'links' must be a table, not string)" })
    refused(lab, function() lab:apply { nodes = { { name = p .. "a", frob = 1 } } } end,
      { "^" .. THIS, "'lab:apply' (nodes[1]: unknown field 'frob')" })
    refused(lab, function() lab:apply { nodes = { { kind = "host" } } } end,
      { "^" .. THIS, "'lab:apply' (nodes[1]: field 'name' (a string) is missing)" })
    refused(lab, function() lab:diff { nodes = { { name = "x" }, { name = "y" } }, links = { 42 } } end,
      { "^" .. THIS, "'lab:diff' (links[1]: table expected, got number)" })
    local mtu_x = { nodes = { { name = "x" }, { name = "y" } }, links = { { "x", "y", mtu = "x" } } }
    refused(lab, function() lab:apply(mtu_x) end,
      { "^" .. THIS, "'lab:apply' (links[1]: field 'mtu' must be an integer, not string)" })
    refused(lab, function() lab:apply({ nodes = {} }, 5) end,
      { "^" .. THIS, "bad argument #2 to 'lab:apply' (table expected, got number)" })
  end)

  it("bad node options in a spec: EINVAL naming the entry and why", function()
    local lab <close>, _, _, p = lab_ab()
    local spec = lab:spec()
    spec.nodes[1].bird = "router id 1.1.1.1;"
    refused(lab, function() lab:apply(spec) end,
      { "lab:apply nodes[1]", string.format('only a router runs bird (node "%sa" is a host)', p), "(EINVAL)" })
    spec = lab:spec()
    spec.nodes[1].pid = "yes"
    refused(lab, function() lab:diff(spec) end, { "^" .. THIS, "'lab:diff' (nodes[1]: field 'pid' must be a boolean" })
  end)

  it("a removed node given to lab:link and the others: node X was removed from lab L", function()
    local lab <close>, a, b = lab_ab()
    local c = lab:host(H.name("le"))
    lab:remove(a)
    for _, call in ipairs {
      { "lab:link", function() lab:link(a, b) end },
      { "lab:link", function() lab:link(c, a) end },
      { "lab:impair", function() lab:impair(a, b, { rate = "1mbit" }) end },
      { "lab:unlink", function() lab:unlink(b, a) end },
      { "lab:remove", function() lab:remove(a) end },
    } do
      refused(lab, call[2], { string.format('%s "%s": ', call[1], a.name),
        string.format('node "%s" was removed from lab "%s" (ENOENT)', a.name, lab.name) })
    end
  end)
end)
