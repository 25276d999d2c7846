-- scripts/*.lua: each example lab runs to the end, exits 0 and leaves
-- nothing behind (no netns, link, process or /run/nslab record).
local H = require "helper"


describe("scripts #root", function()
  H.guard()

  local expect = {
    ["veth-pair"] = { "red reaches blue", "blue reaches red", "red and blue are gone" },
    isolation = { "each server answers on its own port 80", "changed nothing elsewhere",
      "fd00::2 exists only in blue", "red has its table, blue's ruleset is empty",
      "each node's hostname is its name", "the sleep blue runs is not among red's processes",
      "a message queue made in red is not in blue's ipcs -q", "red's boot clock runs one hour ahead of blue's",
      "a file red writes in its /mnt is not in blue's" },
    bridge = { "0% dropped (6/6 received)" },
    router = { "left reaches right through router", "left no longer reaches right" },
    shaping = { "h1 -> h2 at 9.0-10.5 Mbit/s", "h1 -> h2 at 1.8-2.2 Mbit/s", "pings lost while the link was down",
      "h1 reaches h2 again" },
    ospf = { "converged in", "Full/PtP", "link r1 -- r2 down", "re-converged in", " 2  10.0.4.1 ",
      "h1 reaches h2 again, through r4" },
    bgp = { "session up, prefix learnt", "192.0.2.0/24 via 10.0.0.1, AS path 65001",
      "r2 reaches 192.0.2.1 through BGP" },
    playground = { "every host reaches every other (12/12 pings)" },
    evolve = { "Plan: 7 to add, 0 to change, 0 to remove.", "Plan: 8 to add, 0 to change, 0 to remove.",
      "- node evo-d (host)", "~ link evo-a:eth0 -- evo-r:eth0: mtu 9000 (was 1500)", "kept its ifindex",
      "the lab matches the spec: no changes" },
  }
  for _, name in ipairs { "veth-pair", "isolation", "bridge", "router", "shaping", "ospf", "bgp", "playground",
    "evolve" } do
    it(name .. ".lua exits 0, shows its evidence and leaves nothing behind", function()
      local out, ok, code = H.nslab("scripts/" .. name .. ".lua")
      assert.is_true(ok, "exit " .. tostring(code) .. ":\n" .. out)
      for _, s in ipairs(expect[name]) do assert.matches(s, out, 1, true) end
      assert.equals("", (H.sh("ls -A /run/nslab")))
    end)
  end
end)
