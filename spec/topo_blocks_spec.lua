-- nslab.topo's address blocks, checked as data without privilege (no
-- #root tag: `busted --exclude-tags=root` runs it): the aligned blocks
-- that summarise routes, and the addresses and routes of line and ring,
-- followed hop by hop by longest-prefix match over the topology's own
-- data, so every node must reach every address the short way.
local topo = require "nslab.topo"

-- Address text to an array of bytes (4 or 16); spec-side only, to check
-- the library's output independently of it.
local function parse(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a then return { tonumber(a), tonumber(b), tonumber(c), tonumber(d) } end
  local head, tail = s:match("^(.-)::(.*)$")
  local function groups(t)
    local g = {}
    for x in t:gmatch("[^:]+") do g[#g + 1] = tonumber(x, 16) end
    return g
  end
  local hg, tg = groups(head or s), groups(tail or "")
  while head and #hg + #tg < 8 do hg[#hg + 1] = 0 end
  for _, x in ipairs(tg) do hg[#hg + 1] = x end
  assert(#hg == 8, "bad address in spec: " .. s)
  local out = {}
  for _, x in ipairs(hg) do out[#out + 1] = x >> 8; out[#out + 1] = x & 255 end
  return out
end

local parsed = {}
local function bytes(s)
  parsed[s] = parsed[s] or parse(s)
  return parsed[s]
end

-- {bytes, plen} of "addr/plen" ("default": /0 of the family of `like`).
local prefixes = {}
local function prefix(s, like)
  if s == "default" then s = like and #like == 16 and "::/0" or "0.0.0.0/0" end
  if not prefixes[s] then
    local a, l = s:match("^(.-)/(%d+)$")
    prefixes[s] = { bytes = bytes(a or s), plen = tonumber(l) or (s:find(":") and 128 or 32) }
  end
  return prefixes[s]
end

local function covers(p, addr)
  if #p.bytes ~= #addr then return false end
  local whole, rest = p.plen // 8, p.plen % 8
  for i = 1, whole do
    if p.bytes[i] ~= addr[i] then return false end
  end
  local m = (0xff << (8 - rest)) & 0xff
  return rest == 0 or p.bytes[whole + 1] & m == addr[whole + 1] & m
end

local function is_aligned(p)
  for bit = p.plen, #p.bytes * 8 - 1 do
    if p.bytes[bit // 8 + 1] & (0x80 >> (bit % 8)) ~= 0 then return false end
  end
  return true
end

-- Each node's interfaces: {prefix, peer node, peer address} per address.
local function interfaces(t)
  local ifs = {}
  for _, n in ipairs(t.nodes) do ifs[n.name] = {} end
  for _, l in ipairs(t.links) do
    for e = 1, 2 do
      local me, peer = e == 1 and l.a or l.b, e == 1 and l.b or l.a
      local mine, theirs = l.addrs[e], l.addrs[3 - e]
      if type(mine) == "string" then mine, theirs = { mine }, { theirs } end
      for f = 1, #mine do
        local p = prefix(mine[f])
        local list = ifs[me]
        list[#list + 1] = { prefix = p, addr = p.bytes, peer = peer, peer_addr = prefix(theirs[f]).bytes }
      end
    end
  end
  return ifs
end

local function same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

-- Follows dst from node `from` by longest-prefix match; returns the hop
-- count, or nil and why.
local function walk(t, ifs, from, dst, limit)
  local at, hops = from, 0
  while true do
    for _, i in ipairs(ifs[at]) do
      if same(i.addr, dst) then return hops end
    end
    if hops >= limit then return nil, "over " .. limit .. " hops from " .. from end
    local best, next_node
    for _, i in ipairs(ifs[at]) do -- connected: the peer on that link
      if covers(i.prefix, dst) and (not best or i.prefix.plen > best) then
        best, next_node = i.prefix.plen, same(i.peer_addr, dst) and i.peer or false
      end
    end
    for _, r in ipairs(t.routes[at] or {}) do
      local p = prefix(r.dst, dst)
      if covers(p, dst) and (not best or p.plen > best) then
        best, next_node = p.plen, nil
        for _, i in ipairs(ifs[at]) do
          if same(i.peer_addr, bytes(r.via)) then next_node = i.peer end
        end
        if not next_node then return nil, at .. ": gateway " .. r.via .. " is on no link" end
      end
    end
    if not next_node then return nil, at .. ": no route" end
    at, hops = next_node, hops + 1
  end
end

-- Every node reaches every address of the topology within limit(from, to).
local function check_reach(t, limit)
  local ifs = interfaces(t)
  for _, a in ipairs(t.nodes) do
    for _, b in ipairs(t.nodes) do
      for _, i in ipairs(ifs[b.name]) do
        local hops, why = walk(t, ifs, a.name, i.addr, limit)
        assert(hops, why)
        assert(a ~= b or hops == 0, a.name .. " does not own its address")
      end
    end
  end
end

describe("topo address blocks", function()
  describe("blocks", function()
    -- The fewest aligned blocks covering [lo, hi), by dynamic programming.
    local function fewest(lo, hi)
      local best = { [hi] = 0 }
      for x = hi - 1, lo, -1 do
        local size = 1
        while x % size == 0 and x + size <= hi do
          local c = 1 + best[x + size]
          if not best[x] or c < best[x] then best[x] = c end
          size = size * 2
        end
      end
      return best[lo]
    end

    it("covers every range up to 80 exactly, aligned, with the fewest blocks", function()
      for lo = 0, 80 do
        for hi = lo, 80 do
          local b, at = topo.blocks(lo, hi), lo
          for _, blk in ipairs(b) do
            assert.equals(at, blk[1])
            assert.equals(0, blk[1] % (1 << blk[2]), "unaligned block in " .. lo .. ".." .. hi)
            at = at + (1 << blk[2])
          end
          assert.equals(hi, at)
          assert.equals(fewest(lo, hi), #b, "blocks(" .. lo .. ", " .. hi .. ")")
        end
      end
    end)
  end)

  describe("line and ring addresses", function()
    it("give every link end its own address inside base, both ends in one /30", function()
      local t = topo.line(70, { base = "10.9.0.0/16", ipv6 = "fd00:9::/48" })
      local seen, base = {}, prefix("10.9.0.0/16")
      for k, l in ipairs(t.links) do
        local a, b = prefix(l.addrs[1][1]), prefix(l.addrs[2][1])
        assert.equals(30, a.plen)
        assert.is_true(covers(base, a.bytes))
        assert.is_true(covers({ bytes = a.bytes, plen = 30 }, b.bytes))
        assert.is_true(a.bytes[4] % 4 == 1 and b.bytes[4] % 4 == 2, "not the /30's hosts")
        for _, s in ipairs { l.addrs[1][1], l.addrs[1][2], l.addrs[2][1], l.addrs[2][2] } do
          assert.is_nil(seen[s], "address used twice: " .. s)
          seen[s] = true
        end
        -- IPv6: fd00:9:0:SUBNET::END/64, the subnet the link's index
        for e = 1, 2 do
          local p6 = prefix(l.addrs[e][2])
          assert.equals(64, p6.plen)
          assert.same({ 0xfd, 0, 0, 9, 0, 0, (k - 1) >> 8, (k - 1) & 255, 0, 0, 0, 0, 0, 0, 0, e }, p6.bytes)
        end
      end
    end)

    it("masks the host part of base and refuses a line that does not fit", function()
      assert.equals("192.168.1.1/30", topo.line(2, { base = "192.168.1.77/24" }).links[1].addrs[1])
      assert.equals(63, #topo.line(64, { base = "10.1.0.0/24" }).links)
      assert.has_error(function() topo.line(66, { base = "10.1.0.0/24" }) end)
    end)

    it("summarise routes into aligned prefixes", function()
      for _, t in ipairs { topo.line(40, { ipv6 = true }), topo.ring(41, { ipv6 = true }) } do
        for name, rs in pairs(t.routes) do
          for _, r in ipairs(rs) do
            if r.dst ~= "default" then
              assert.is_true(is_aligned(prefix(r.dst)), name .. ": " .. r.dst .. " is not aligned")
            end
          end
        end
      end
    end)

    for _, n in ipairs { 2, 3, 4, 7, 16, 33 } do
      it("route a line of " .. n .. " so every node reaches every address (IPv4 and IPv6)", function()
        check_reach(topo.line(n, { ipv6 = true }), n - 1)
      end)
    end

    -- Routes are per subnet: the far end of the link opposite a node in
    -- an odd ring is one hop past half way, whichever way is chosen.
    for _, n in ipairs { 3, 4, 5, 8, 16, 33 } do
      it("route a ring of " .. n .. " the short way round (IPv4 and IPv6)", function()
        check_reach(topo.ring(n, { ipv6 = "fd00:1:2::/48" }), (n + 1) // 2)
      end)
    end
  end)

  describe("star and tree addresses", function()
    it("put all hosts in one subnet wide enough for them", function()
      local function plens(t)
        local seen, out = {}, {}
        for _, l in ipairs(t.links) do
          if l.addrs then
            local a = l.addrs[1]
            assert.is_nil(seen[a], "address used twice: " .. a)
            seen[a] = true
            out[prefix(a).plen] = (out[prefix(a).plen] or 0) + 1
          end
        end
        return out
      end
      assert.same({ [24] = 253 }, plens(topo.star(253)))
      assert.same({ [24] = 254 }, plens(topo.star(254)))
      assert.same({ [23] = 255 }, plens(topo.star(255)))
      assert.same({ [24] = 27 }, plens(topo.tree(3, 3)))
      assert.has_error(function() topo.star(300, { base = "10.0.0.0/24" }) end)
    end)
  end)
end)
