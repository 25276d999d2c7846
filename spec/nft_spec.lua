-- node:nft and node:nft_list (nslab.nft): firewall rules as data, loaded
-- with nft -f / nft -j -f in the node and listed with nft -j, checked
-- against `ip netns exec NAME nft list ruleset` (an independent view).
-- Quick: no traffic, one or two hosts per test.
local H = require "helper"
local nslab = require "nslab"

local raises, q = H.raises, H.q

local function ruleset(ns) return (H.sh("ip netns exec " .. q(ns) .. " nft list ruleset")) end

-- The objects of kind ("table", "chain", "rule") in a listing.
local function objects(list, kind)
  local out = {}
  for _, o in ipairs(list.nftables) do
    if o[kind] then out[#out + 1] = o[kind] end
  end
  return out
end

local DROP_PING = [[
table inet fw {
  chain input {
    type filter hook input priority 0; policy accept;
    icmp type echo-request drop
  }
}
]]

describe("node:nft #root", function()
  H.guard()

  it("loads a ruleset in nft syntax into the node only", function()
    local lab <close> = nslab.lab(H.name("nft"))
    local a, b = lab:host(H.name("na")), lab:host(H.name("nb"))
    a:nft(DROP_PING)
    local text = ruleset(a.netns)
    assert.matches("table inet fw", text, 1, true)
    assert.matches("icmp type echo-request drop", text, 1, true)
    assert.equals("", (ruleset(b.netns):gsub("%s", "")))
  end)

  it("loads a table in nft's JSON schema", function()
    local lab <close> = nslab.lab(H.name("nft"))
    local a = lab:host(H.name("na"))
    a:nft { nftables = {
      { table = { family = "inet", name = "j" } },
      { chain = { family = "inet", table = "j", name = "input", type = "filter", hook = "input", prio = 0,
        policy = "accept" } },
      { rule = { family = "inet", table = "j", chain = "input", expr = {
        { match = { op = "==", left = { payload = { protocol = "tcp", field = "dport" } }, right = 8080 } },
        { drop = nslab.nft.null } } } },
    } }
    local text = ruleset(a.netns)
    assert.matches("table inet j", text, 1, true)
    assert.matches("tcp dport 8080 drop", text, 1, true)
  end)

  it("lists the ruleset as tables that load back the same", function()
    local lab <close> = nslab.lab(H.name("nft"))
    local a, b = lab:host(H.name("na")), lab:host(H.name("nb"))
    a:nft(DROP_PING)
    local list = a:nft_list()
    assert.equals("table", type(list.nftables[1].metainfo))
    local tables, chains, rules = objects(list, "table"), objects(list, "chain"), objects(list, "rule")
    assert.same({ "inet", "fw" }, { tables[1].family, tables[1].name })
    assert.same({ "input", "filter", "input", 0, "accept" },
      { chains[1].name, chains[1].type, chains[1].hook, chains[1].prio, chains[1].policy })
    assert.equals("integer", math.type(rules[1].handle))
    assert.equals(1, #rules)
    assert.same({}, objects(b:nft_list(), "table"))
    b:nft(list)
    assert.equals(ruleset(a.netns), ruleset(b.netns))
  end)

  it("raises EINVAL with nft's message and line for a syntax error", function()
    local lab <close> = nslab.lab(H.name("nft"))
    local a = lab:host(H.name("na"))
    local e = raises("EINVAL", a.nft, a, "table inet t {\n  chain c {\n    bogus rule\n  }\n}\n")
    assert.equals("node:nft", e.op)
    assert.equals(string.format("%q", a.name), e.object)
    assert.equals(3, e.line)
    assert.matches("/dev/stdin:3:%d+%-%d+: Error: syntax error", e.extack)
    assert.matches("bogus rule", tostring(e), 1, true)
    -- nft -j reports the schema's errors too
    e = raises("EINVAL", a.nft, a, { nftables = { { table = { family = "nope", name = "x" } } } })
    assert.matches("Error: Unknown family 'nope'", e.extack, 1, true)
    assert.is_nil(e.line) -- nft -j gives no line ("internal:0:0-0")
  end)

  it("applies nothing of a ruleset with an error, syntax or kernel's", function()
    local lab <close> = nslab.lab(H.name("nft"))
    local a = lab:host(H.name("na"))
    a:nft(DROP_PING)
    local before = ruleset(a.netns)
    raises("EINVAL", a.nft, a, "flush ruleset\n" ..
      "table inet second { chain c { type filter hook output priority 0; } }\n" ..
      "add rule inet second c tcp dport 22 drop\nadd rule inet second c this is not nft\n")
    assert.equals(before, ruleset(a.netns))
    -- parses, but the kernel refuses the last command (no such table):
    -- the flush and the new table before it are undone with it
    local e = raises("EINVAL", a.nft, a, "flush ruleset\nadd table inet second\ndelete table inet nosuch\n")
    assert.matches("/dev/stdin:3:%d+%-%d+: Error: Could not process rule: No such file or directory", e.extack)
    assert.equals(before, ruleset(a.netns))
  end)

  it("refuses what is neither nft text nor a JSON-able table (argument errors)", function()
    local lab <close> = nslab.lab(H.name("nft"))
    local a = lab:host(H.name("na"))
    assert.has_error(function() a:nft(42) end, "bad argument #1 to 'node:nft' (string or table expected, got number)")
    assert.has_error(function() a:nft() end, "bad argument #1 to 'node:nft' (string or table expected, got nil)")
    assert.has_error(function() a:nft { nftables = { print } } end,
      "bad argument #1 to 'node:nft' (ruleset cannot be encoded as JSON: type not supported)")
    assert.has_error(function() nslab.nft.load(a.netns, true) end,
      "bad argument #2 to 'nft.load' (string or table expected, got boolean)")
    assert.equals("", (ruleset(a.netns):gsub("%s", "")))
  end)

  it("names Debian nftables when nft is missing", function()
    local code = string.format("local l <close> = require('nslab').lab(%q) local h = l:host(%q) " ..
      "print(pcall(h.nft, h, ''))", H.name("nft"), H.name("na"))
    -- nothing on PATH: nft is /usr/sbin/nft
    local out = H.sh("PATH=/nonexistent " .. q(H.bin) .. " -e " .. q(code))
    assert.matches("false\tnode:nft \"[^\"]+\" in netns \"[^\"]+\": No such file or directory: " ..
      "the program nft is missing: apt%-get install nftables %(Debian package nftables%) %(ENOENT%)", out)
  end)

  it("leaves nothing when the lab closes: the tables go with the netns", function()
    local lab = nslab.lab(H.name("nft"))
    local a = lab:host(H.name("na"))
    a:nft(DROP_PING)
    lab:close()
    assert.is_falsy(H.sh("ip netns list"):find(a.netns, 1, true))
    local e = raises("EINVAL", a.nft, a, DROP_PING)
    assert.matches("is closed", tostring(e), 1, true)
    assert.has_error(function() a:nft_list() end)
  end)
end)
