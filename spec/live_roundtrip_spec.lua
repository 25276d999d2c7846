-- Live labs (issue 18, review L1, L3, L4): a lab's own spec applied to it
-- changes nothing, in the process that made it and from another shell
-- (`nslab --export` then `nslab --apply` of that export, twice); what
-- lab:spec() holds (hostname, lo addresses, sysctls, shaping, pid, dirs,
-- bird, ...) survives the record; a node option the kernel cannot change
-- in place replaces the node, and the plan says so; `--inspect` counts
-- what is left after removals.
local H = require "helper"
local nslab = require "nslab"
local json = require "nslab.json"

local q = H.q

local function ifindex(ns, ifname) return H.ipj("-n " .. q(ns) .. " link show dev " .. ifname)[1].ifindex end

local function nslab_ok(args)
  local out, ok = H.nslab(args)
  assert(ok, out)
  return out
end

local function inspect_row(lname)
  for _, l in ipairs(json.decode(nslab_ok("--inspect --json"))) do
    if l.name == lname then return l end
  end
end

-- A kept lab with every kind of thing lab:spec() holds: it writes its own
-- export (in-process) to file first.
local function kept_lab(lname, p, file, extra)
  nslab_ok(string.format("--keep -e %s", q(string.format([[
    local lab = require("nslab").lab %q
    local a = lab:host(%q, {hostname = "alpha", ipc = true, pid = true, dirs = {"/var/tmp"}, time = {monotonic = 7},
      sysctls = {["net.ipv4.ip_default_ttl"] = 60}})
    local r, s, b = lab:router %q, lab:bridge %q, lab:host %q
    lab:link(a, r, {addrs = {{"10.51.1.1/24", "fd51:1::1/64"}, {"10.51.1.2/24", "fd51:1::2/64"}},
      a_to_b = {rate = "2mbit"}})
    lab:link(r, s, {addrs = {"10.51.2.1/24"}, mtu = 1400})
    lab:link(b, s, {addrs = {"10.51.2.2/24"}, mtu = 1400})
    lab:link_state(b, s, "down")
    a:sysctl("net.ipv4.conf.all.rp_filter", 2)
    a:addr("lo", "10.51.255.1/32")
    a:route("default", "10.51.1.2")
    a:route {dst = "default", via = "fd51:1::2"}
    r:sysctl("net.ipv4.ip_default_ttl", 33)
    lab:impair(r, s, {rate = "5mbit"})
    a:spawn {"sleep", "60"}
    %s
    local f = assert(io.open(%q, "w"))
    f:write(lab:export())
    f:close()]], lname, p .. "a", p .. "r", p .. "s", p .. "b", extra or "", file))))
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

describe("a lab's own spec #root", function()
  H.guard()

  it("applied to it in-process changes nothing, again and again", function()
    local lab <close> = nslab.lab(H.name("lrt"))
    local p = H.name("lr")
    local a, r = lab:host(p .. "a", { hostname = "alpha", ipc = true }), lab:router(p .. "r")
    lab:link(a, r, { addrs = { "10.52.1.1/24", "10.52.1.2/24" }, a_to_b = { rate = "1mbit" } })
    a:addr("lo", "10.52.255.1/32")
    a:sysctl("net.ipv4.ip_default_ttl", 44)
    a:route("default", "10.52.1.2")
    local idx = ifindex(a.netns, "eth0")
    for _ = 1, 3 do
      assert.equals(0, #lab:apply(lab:spec()).changes)
      assert.equals(0, #lab:diff(lab:spec { macs = true }, { quiet = true }).changes)
      local spec = assert(load(lab:export()))("--spec")
      assert.equals(0, #lab:apply(spec).changes)
    end
    assert.equals(idx, ifindex(a.netns, "eth0"))
  end)

  it("tells node a's end a:eth0 from a node named a:eth0, in lab:spec() and its export", function()
    local lab <close> = nslab.lab(H.name("lrt"))
    local p = H.name("lr")
    local a, b, c = lab:host(p .. "a"), lab:host(p .. "a:eth0"), lab:host(p .. "c")
    lab:link(a, b, { addrs = { "10.53.1.1/24", "10.53.1.2/24" } })
    lab:link(b, c)
    local spec = lab:spec()
    assert.same({ node = p .. "a", ifname = "eth0" }, spec.links[1][1])
    assert.equals(p .. "a:eth0:eth0", spec.links[1][2])
    assert.equals(p .. "a:eth0:eth1", spec.links[2][1])
    local idx = ifindex(a.netns, "eth0")
    assert.equals(0, #lab:apply(spec).changes)
    assert.equals(0, #lab:apply(assert(load(lab:export()))("--spec")).changes)
    -- written by hand: the table form, and the text naming the node itself
    spec.links[2][1] = { node = p .. "a:eth0", ifname = "eth1" }
    assert.equals(0, #lab:diff(spec, { quiet = true }).changes)
    spec.links[2][1] = p .. "a:eth0"
    assert.equals(0, #lab:diff(spec, { quiet = true }).changes)
    assert.equals(idx, ifindex(a.netns, "eth0"))
    -- a plan names such an end as the spec does
    table.remove(spec.links, 1)
    assert.matches(string.format('- link {node = %q, ifname = "eth0"} -- %s:eth0', p .. "a", p .. "a:eth0"),
      lab:diff(spec, { quiet = true }):text(), 1, true)
  end)

  it("exported from another shell equals the in-process export; --apply of it twice is no change", function()
    local lname, p, file, file2 = H.kept_names(finally, "lrt", "lr")
    kept_lab(lname, p, file)
    local exported = nslab_ok("--export " .. q(lname))
    assert.equals(H.read_all(file), exported)
    for _, want in ipairs { 'hostname = "alpha"', "ipc = true", "pid = true", 'dirs = { "/var/tmp" }',
      "time = { monotonic = 7 }", 'lo = { "10.51.255.1/32" }', '["net.ipv4.ip_default_ttl"] = "60"',
      '["net.ipv4.conf.all.rp_filter"] = "2"', '["net.ipv4.ip_default_ttl"] = "33"', "a_to_b = { rate = 2000000 }",
      "a_to_b = { rate = 5000000 }", 'state = "down"', "mtu = 1400" } do
      assert.matches(want, exported, 1, true)
    end
    write(file2, exported)
    local idx = { ifindex(p .. "a", "eth0"), ifindex(p .. "r", "eth1"), ifindex(p .. "b", "eth0") }
    local sleeper = H.sh("pgrep -f '^sleep 60$' | head -1")
    for _ = 1, 2 do
      local out = nslab_ok(string.format("--apply %s %s", q(lname), q(file2)))
      assert.matches("No changes: the lab matches the spec.", out, 1, true)
      assert.same(idx, { ifindex(p .. "a", "eth0"), ifindex(p .. "r", "eth1"), ifindex(p .. "b", "eth0") })
      assert.equals(exported, nslab_ok("--export " .. q(lname)))
    end
    -- attached in another process: its own spec and the export are no change; its export is the same
    local out = nslab_ok(string.format("-e %s", q(string.format([[
      local lab = require("nslab.lab").attach(%q)
      print("own", #lab:apply(lab:spec()).changes, #lab:apply(lab:spec()).changes)
      print("export", #lab:apply(assert(loadfile(%q))("--spec")).changes)
      print("same", lab:export() == io.open(%q):read("a"))
      lab:keep()]], lname, file2, file2))))
    assert.matches("own\t0\t0\nexport\t0\nsame\ttrue\n", out)
    assert.is_truthy(sleeper:match("%d+"))
    assert.equals(sleeper, H.sh("pgrep -f '^sleep 60$' | head -1"))
    local row = inspect_row(lname)
    assert.equals(4, row.nodes)
    assert.equals(3, row.links)
    nslab_ok("--clean " .. q(lname))
    for _, n in ipairs { "a", "r", "s", "b" } do assert.is_false(nslab.netns.exists(p .. n)) end
    assert.is_nil(inspect_row(lname))
  end)

  it("replaces a node whose pid, dirs or bird changes, saying why; then the spec is the lab's", function()
    if not H.which("bird") then
      pending("bird is not installed (Debian bird2: make deps)")
      return
    end
    local lname, p, file, file2 = H.kept_names(finally, "lrt", "lr")
    kept_lab(lname, p, file, string.format(
      [[lab:router(%q, {bird = function() return "router id 1.1.1.1;\nprotocol device {}\n" end})]], p .. "x"))
    local text = H.read_all(file)
    assert.matches('bird = "router id 1.1.1.1;', text, 1, true)
    local changed = text:gsub("pid = true, ", ""):gsub("1%.1%.1%.1", "2.2.2.2")
    write(file2, changed)
    local keep = ifindex(p .. "r", "eth1")
    local out = nslab_ok(string.format("--apply %s %s", q(lname), q(file2)))
    assert.matches("-/+ node " .. p .. "a (host): pid true -> nil, replaced", out, 1, true)
    assert.matches("-/+ node " .. p .. "x (router): bird changed, replaced", out, 1, true)
    assert.equals(keep, ifindex(p .. "r", "eth1"))
    out = nslab_ok(string.format("--apply %s %s", q(lname), q(file2)))
    assert.matches("No changes", out, 1, true)
    assert.equals(4 + 1, inspect_row(lname).nodes)
    assert.matches("router id 2.2.2.2", nslab_ok("--export " .. q(lname)), 1, true)
    out = nslab_ok(string.format("--apply %s %s", q(lname), q(file)))
    assert.matches("pid nil -> true", out, 1, true)
    assert.matches("No changes", nslab_ok(string.format("--apply %s %s", q(lname), q(file))), 1, true)
  end)

  it("--inspect counts nodes and links left after lab:remove, lab:unlink and lab:apply", function()
    local lname, p = H.name("lrt"), H.name("lr")
    finally(function() H.nslab("--clean " .. q(lname)) end)
    nslab_ok(string.format("--keep -e %s", q(string.format([[
      local lab = require("nslab").lab %q
      local a, b, c, d = lab:host %q, lab:host %q, lab:host %q, lab:host %q
      lab:link(a, b); lab:link(b, c); lab:link(a, c); lab:link(c, d)
      lab:remove(a)
      lab:unlink(b, c)
      local s = lab:spec()
      s.nodes[#s.nodes + 1] = {name = %q}
      s.links[#s.links + 1] = {%q, %q}
      lab:apply(s)]], lname, p .. "a", p .. "b", p .. "c", p .. "d", p .. "e", p .. "e", p .. "b"))))
    local row = inspect_row(lname)
    assert.equals(4, row.nodes)
    assert.equals(2, row.links)
    local text = nslab_ok("--inspect")
    assert.matches("kept%s*|%s*4%s*|%s*2%s*|", text)
  end)
end)
