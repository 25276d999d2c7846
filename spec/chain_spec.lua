-- A large topology from the primitives alone: 200 namespaces joined in a
-- chain by veth pairs made in place and up, checked with ip, then torn
-- down with nothing left.
local H = require "helper"
local nslab = require "nslab"
local link, netns = nslab.link, nslab.netns

local N = 200

describe("a chain of 200 namespaces #root", function()
  H.guard()

  it("is built with veths up between neighbours and torn down leaving nothing", function()
    local prefix = H.name("chain")
    local names, made = {}, {}
    for i = 1, N do names[i] = prefix .. "-" .. i end
    finally(function()
      for _, ns in ipairs(names) do
        if netns.exists(ns) then netns.del(ns) end
      end
    end)

    local t0 = nslab.core.monotime()
    for i = 1, N do netns.add(names[i]) end
    local t1 = nslab.core.monotime()
    for i = 1, N - 1 do
      -- eth1 of node i faces node i+1, whose eth0 faces back
      made[i] = link.veth { name = "eth1", netns = names[i], peer = "eth0",
                            peer_netns = names[i + 1], up = true }
    end
    local t2 = nslab.core.monotime()
    io.stderr:write(string.format("\n[chain] %d netns.add: %.3f s, %d veth up: %.3f s\n",
      N, t1 - t0, N - 1, t2 - t1))

    -- every namespace lists exactly the links of its place in the chain
    for _, i in ipairs { 1, 2, 57, 100, 199, N } do
      local want = { lo = true, eth0 = i > 1 or nil, eth1 = i < N or nil }
      local got = {}
      for _, l in ipairs(H.ipj("-n " .. names[i] .. " link show")) do got[l.ifname] = l end
      for n in pairs(want) do assert.is_not_nil(got[n], names[i] .. " lacks " .. n) end
      for n in pairs(got) do assert.is_true(want[n], names[i] .. " has " .. n) end
    end

    -- a sample of pairs: the ends point at each other and come up
    for _, i in ipairs { 1, 50, 123, N - 1 } do
      local a = H.ipj("-n " .. names[i] .. " link show eth1")[1]
      local b = H.ipj("-n " .. names[i + 1] .. " link show eth0")[1]
      assert.equals(a.ifindex, made[i].ifindex)
      assert.equals(b.ifindex, made[i].peer_ifindex)
      assert.equals(b.ifindex, a.link_index)
      assert.equals(a.ifindex, b.link_index)
      assert.is_truthy(H.wait_for(function()
        return H.ipj("-n " .. names[i] .. " link show eth1")[1].operstate == "UP"
          and H.ipj("-n " .. names[i + 1] .. " link show eth0")[1].operstate == "UP"
      end), "pair " .. i .. " did not come up")
    end

    for _, ns in ipairs(names) do netns.del(ns) end
    for _, ns in ipairs(netns.list()) do
      assert.is_nil(ns:find(prefix, 1, true), "left behind: " .. ns)
    end
    assert.equals("", (H.sh("ls /run/netns | grep -F " .. prefix)))
  end)
end)
