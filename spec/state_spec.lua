-- nslab.state and nslab.graph: lab:state(), lab:json(), lab:dot(),
-- lab:mermaid(), lab:svg(), checked against `ip -j` and the tools.
local H = require "helper"
local nslab = require "nslab"
local json = require "nslab.json"

local raises = H.raises

-- A lab with a bridge, a router, IPv4 and IPv6, a default route and a
-- shaped link; returns lab, names.
local function build()
  local n = { lab = H.name "stl", h1 = H.name "sth", h2 = H.name "sth", r = H.name "str", s = H.name "sts" }
  local lab = nslab.lab(n.lab)
  local h1, h2, r, s = lab:host(n.h1), lab:host(n.h2), lab:router(n.r), lab:bridge(n.s)
  lab:link(h1, s, { addrs = { { "10.50.0.1/24", "fd00:50::1/64" } } })
  lab:link(r, s, { addrs = { { "10.50.0.254/24", "fd00:50::fe/64" } } })
  lab:link(r, h2, { addrs = { { "10.50.1.254/24", "fd00:51:0:0::fe/64" }, { "10.50.1.1/24", "fd00:51::1/64" } },
    rate = "10mbit" })
  h1:route("default", "10.50.0.254")
  h1:route { dst = "fd00:51::/64", via = "fd00:50::fe" }
  return lab, n
end

local function set(list, key)
  local s = {}
  for _, x in ipairs(list) do s[key(x)] = true end
  return s
end

local function str(v) return v == nil and "-" or tostring(v) end

describe("lab:state #root", function()
  H.guard()

  it("matches ip -j for every node: links, addresses, routes", function()
    local lab <close>, n = build()
    local st = lab:state()
    assert.equals(1, st.schema)
    assert.equals(n.lab, st.name)
    assert.equals("alive", st.status)
    assert.equals(4, #st.nodes)
    assert.same({ "host", "host", "router", "bridge" },
      { st.nodes[1].kind, st.nodes[2].kind, st.nodes[3].kind, st.nodes[4].kind })
    assert.equals("br0", st.nodes[4].bridge)
    for _, node in ipairs(st.nodes) do
      assert.equals(node.name, node.netns)
      assert.equals(node.name, node.hostname)
      -- links
      local want = set(H.ipj("-n " .. H.q(node.netns) .. " link"), function(l)
        return table.concat({ l.ifname, l.ifindex, l.address, l.mtu, l.operstate:lower(), str(l.master) }, " ")
      end)
      local got = set(node.interfaces, function(i)
        return table.concat({ i.ifname, i.ifindex, i.mac, i.mtu, i.operstate, str(i.master) }, " ")
      end)
      assert.same(want, got)
      -- addresses
      local wa = {}
      for _, l in ipairs(H.ipj("-n " .. H.q(node.netns) .. " addr")) do
        for _, a in ipairs(l.addr_info) do
          local fam = a.family == "inet" and "inet" or "inet6"
          wa[table.concat({ l.ifname, fam, a["local"], a.prefixlen, a.scope }, " ")] = true
        end
      end
      assert.same(wa, set(node.addrs, function(a)
        return table.concat({ a.ifname, a.family, a.address, a.prefixlen, a.scope }, " ")
      end))
      -- routes, both families
      local wr = {}
      for _, fam in ipairs { "-4", "-6" } do
        for _, r in ipairs(H.ipj("-n " .. H.q(node.netns) .. " " .. fam .. " route")) do
          wr[table.concat({ r.dst, str(r.gateway), str(r.dev) }, " ")] = true
        end
      end
      assert.same(wr, set(node.routes, function(r) return table.concat({ r.dst, str(r.via), str(r.dev) }, " ") end))
    end
    -- what the lab knows: ends, peers, shaping
    assert.equals(3, #st.links)
    local l3 = st.links[3]
    assert.same({ n.r, "eth1", n.h2, "eth0" }, { l3.a.node, l3.a.ifname, l3.b.node, l3.b.ifname })
    assert.equals(10000000, l3.shape.a_to_b.rate)
    assert.is_nil(st.links[1].shape)
    assert.equals("up", st.links[1].state)
    local r_eth1 = st.nodes[3].interfaces[3]
    assert.same({ node = n.h2, ifname = "eth0" }, r_eth1.peer)
    assert.equals("tbf", r_eth1.qdiscs[1].kind)
    assert.equals(H.ipj("-n " .. H.q(n.r) .. " link show eth1")[1].ifindex, l3.a.ifindex)
    -- IPv6 in RFC 5952 form
    local h2 = st.nodes[2]
    local found
    for _, a in ipairs(h2.addrs) do found = found or a.address == "fd00:51::1" end
    assert.is_true(found)
  end)

  it("lists the processes living in a node", function()
    local lab <close>, n = build()
    local p = lab:node(n.h1):spawn { "sleep", "30" }
    H.wait_for(function() return #lab:state().nodes[1].processes == 1 end)
    local st = lab:state()
    assert.same({ p.pid }, st.nodes[1].processes)
    assert.same({}, st.nodes[2].processes)
  end)

  it("encodes as JSON python3 and nslab.json read back, lists as arrays", function()
    local lab <close> = build()
    local text = lab:json()
    assert.is_nil(text:find("\n", 1, true))
    local path = H.tmpfile(text)
    local out, ok = H.sh("python3 -m json.tool " .. path)
    os.remove(path)
    assert.is_true(ok, out)
    assert.truthy(out:find('"processes": []', 1, true))
    local back = json.decode(text)
    assert.equals(4, #back.nodes)
    assert.equals(lab:state().nodes[3].routes[1].dst, back.nodes[3].routes[1].dst)
  end)

  it("lists every uplink, not only the last", function()
    local lab <close> = nslab.lab(H.name "stl")
    local a, b = lab:host(H.name "sth"), lab:host(H.name "sth")
    lab:uplink(a)
    lab:uplink(b)
    local st = lab:state()
    assert.same({ { node = a.name, ifname = "eth0" }, { node = b.name, ifname = "eth0" } }, st.uplinks)
    assert.same(st.uplinks[1], st.uplink)
    assert.same(st.uplinks, json.decode(lab:json()).uplinks)
  end)

  it("refuses a closed lab", function()
    local lab, n = build()
    lab:close()
    local e = raises("EINVAL", lab.state, lab)
    assert.truthy(tostring(e):find("lab:state", 1, true))
    assert.truthy(tostring(e):find(n.lab, 1, true))
  end)
end)

describe("lab graphs #root", function()
  H.guard()

  it("prints IPv6 in RFC 5952 form in dot and mermaid", function()
    local lab <close>, n = build()
    local dot, mer = lab:dot(), lab:mermaid()
    assert.truthy(dot:find("fd00:51::fe/64", 1, true))
    assert.is_nil(dot:find("fd00:51:0:0::", 1, true))
    assert.truthy(mer:find("^graph LR\n"))
    assert.truthy(mer:find('n3{"' .. n.r .. "<br/>10.50.0.254/24<br/>fd00:50::fe/64", 1, true))
    assert.truthy(mer:find('n4(("' .. n.s .. '"))', 1, true))
    assert.truthy(mer:find('n3 ---|"eth1 -- eth0"| n2', 1, true))
  end)

  it("draws SVG with Graphviz", function()
    if not H.which("dot") then
      pending("Graphviz's dot is not installed (apt-get install graphviz)")
      return
    end
    local lab <close>, n = build()
    local svg = lab:svg()
    assert.truthy(svg:find("<svg", 1, true))
    assert.truthy(svg:find((n.r:gsub("%-", "&#45;")), 1, true)) -- Graphviz writes '-' as &#45;
  end)
end)
