--- nslab.uplink: a way out of a lab (`lab:uplink`): a veth from a node
-- to the namespace nslab runs in, addressed from a private /30, a default
-- route in the node through it and, with `nat = true`, the node's traffic
-- masqueraded there (an nft table of its own, `net.ipv4.ip_forward` on),
-- so the node reaches what nslab's namespace reaches.
--
-- It is the only lab call that changes something outside the lab's own
-- namespaces: the veth end in nslab's netns (named `nsuXXXXXXXX`, eight
-- hex digits from the lab's and node's names), the nft table
-- (`nslab_uplink_XXXXXXXX`, ip family) and the forwarding sysctl. Each is
-- written to the lab's record (`nslab.record`: `link`, `nft`, `sysctl`
-- lines) before it is made, with its identity (ifindex, table handle) once
-- it exists, so close and `nslab --clean` undo exactly that: the veth end
-- and the table only while they are still the ones made (same ifindex,
-- same handle), the sysctl put back to its old value unless a running
-- lab's uplink still needs it.
--
-- As root, nslab's namespace is the one it was started in (the host's, or
-- a sandbox's). Rootless (`nslab --rootless`), it is the rootless run's
-- own network namespace, which ends with nslab: the uplink reaches that
-- namespace only, not the host's network (no slirp).
--
-- Needs CAP_NET_ADMIN in nslab's namespace; `nat` needs `nft` (Debian
-- package `nftables`).
-- @module nslab.uplink

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local Link = require "nslab.link"
local Addr = require "nslab.addr"
local Route = require "nslab.route"
local Sysctl = require "nslab.sysctl"
local Exec = require "nslab.exec"
local record = require "nslab.record"
local opts_mod = require "nslab.opts"
local fault = require "nslab.fault"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local FORWARD = "net.ipv4.ip_forward"
local OPTS = { addrs = "table", nat = "boolean", ifname = "string", ipv6 = "boolean" }
--- Where default /30s are taken from (RFC 6598 shared address space).
M.pool = "100.64.0.0/10"

local function q(s) return string.format("%q", s) end

local raise = opts_mod.raise

-- FNV-1a, 32 bits, as 8 hex digits: a short stable name for an uplink.
local function hash(s)
  local h = 2166136261
  for i = 1, #s do h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff end
  return string.format("%08x", h)
end

-- "a.b.c.d/len" -> integer address, prefixlen; nil when not that.
local function parse4(s)
  local a, b, c, d, len = tostring(s):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
  if not a then return nil end
  local n = 0
  for _, x in ipairs { a, b, c, d } do
    x = tonumber(x)
    if x > 255 then return nil end
    n = n * 256 + x
  end
  len = tonumber(len)
  if len > 32 then return nil end
  return n, len
end

local function text4(n)
  return string.format("%d.%d.%d.%d", n >> 24 & 255, n >> 16 & 255, n >> 8 & 255, n & 255)
end

local function mask(len) return len == 0 and 0 or (0xffffffff << (32 - len)) & 0xffffffff end

local function overlaps(a, alen, b, blen)
  local m = mask(math.min(alen, blen))
  return a & m == b & m
end

-- Every IPv4 prefix in use in nslab's namespace and in the lab's nodes.
local function used(lab)
  local list = {}
  local function add(address, prefixlen)
    local n = parse4(address .. "/" .. prefixlen)
    if n then list[#list + 1] = { n, prefixlen } end
  end
  for _, a in ipairs(Addr.list { family = "inet" }) do add(a.address, a.prefixlen) end
  for _, node in ipairs(lab.nodes) do
    for _, a in ipairs(Addr.list { netns = node.netns, family = "inet" }) do add(a.address, a.prefixlen) end
  end
  return list
end

-- The node's and nslab's addresses: given ({node, nslab}, one /30 or
-- wider subnet) or the first /30 of the pool nothing uses.
local function addresses(op, lab, given)
  local inuse = used(lab)
  if given then
    local n1, l1 = parse4(given[1])
    local n2, l2 = parse4(given[2])
    if #given ~= 2 or not (n1 and n2) or l1 ~= l2 or l1 > 30 or not overlaps(n1, l1, n2, l2) or n1 == n2 then
      opts_mod.invalid(op, nil, "addrs must be two IPv4 addresses of one subnet (/30 or wider), " ..
        "the node's then nslab's, as {\"100.64.0.1/30\", \"100.64.0.2/30\"}")
    end
    for _, u in ipairs(inuse) do
      if overlaps(n1, l1, u[1], u[2]) then
        opts_mod.invalid(op, nil, string.format("%s overlaps %s/%d, already used in nslab's namespace or the lab",
          given[1], text4(u[1]), u[2]))
      end
    end
    return given[1], given[2]
  end
  local base, len = parse4(M.pool)
  for net = base, base + (1 << (32 - len)) - 4, 4 do
    local free = true
    for _, u in ipairs(inuse) do
      if overlaps(net, 30, u[1], u[2]) then free = false break end
    end
    if free then return text4(net + 1) .. "/30", text4(net + 2) .. "/30" end
  end
  raise(op, nil, E.EADDRINUSE, "no free /30 left in " .. M.pool .. ": give addrs")
end

local function nft(args, stdin)
  local r = Exec.exec(nil, args, { stdin = stdin })
  if not r.ok then raise("nft", nil, E.EINVAL, (r.stderr or ""):gsub("%s+$", "")) end
  return r.stdout
end

-- ---- undoing, for close and for `nslab --clean` (from the record) ----

--- Deletes link name in nslab's namespace while it has ifindex id.
-- @treturn boolean whether it was there and deleted
function M.del_link(name, id)
  local ok, l = pcall(Link.get, name)
  if not ok or l.ifindex ~= id then return false end
  Link.del(name)
  return true
end

--- Deletes nft table name (ip family) in nslab's namespace while it has
-- handle id (a handle is never reused in a namespace).
-- @treturn boolean
function M.del_table(name, id)
  local r = Exec.exec(nil, { "nft", "-a", "list", "table", "ip", name })
  if not (r.ok and tonumber(r.stdout:match("# handle (%d+)")) == id) then return false end
  nft { "nft", "delete", "table", "ip", "handle", tostring(id) }
  return true
end

-- The old value that a running lab other than lab recorded for key (any
-- lab's record, running or not yet cleaned, with `any`: the value before
-- the first of them changed it).
local function held(key, lab, any)
  for _, name in ipairs((record.names())) do
    local rec = name ~= lab and record.load(name)
    if rec and (any or record.alive(rec.pid, rec.start)) then
      for _, o in ipairs(record.contents(rec).outside) do
        if o[1] == "sysctl" and o[2] == key then return o[3] end
      end
    end
  end
end

--- The old value of sysctl key that a lab other than lab recorded: a
-- running one's, or with `any` any record's (the value before the first
-- of them changed it); nil when none did.
-- @tparam string key
-- @tparam string lab
-- @tparam[opt] boolean any
-- @treturn string|nil
M.held = held

--- Puts sysctl key of nslab's namespace back to old, unless a running lab
-- other than lab still holds it (its record names it).
-- @treturn boolean whether it was put back
function M.restore(key, old, lab)
  if held(key, lab) then return false end
  Sysctl.set(nil, key, old)
  return true
end

--- Undoes one `outside` item of a record ({kind, name, id|old}) for
-- `nslab --clean`; says what it left alone.
-- @tparam table o
-- @tparam string lab
-- @tparam function say
function M.clean_item(o, lab, say)
  local kind, name, id = o[1], o[2], o[3]
  if kind == "sysctl" then
    if not M.restore(name, id, lab) then
      say(string.format("sysctl %s: a running lab's uplink still needs it: left as it is", name))
    end
  elseif id == nil then
    -- never identified: a veth end went with the node's netns; a table
    -- of that name may be anyone's
    if kind == "nft" and Exec.exec(nil, { "nft", "list", "table", "ip", name }).ok then
      say(string.format("nft table %s exists but lab %q did not record making it: left alone", name, lab))
    end
  elseif kind == "link" then
    M.del_link(name, id)
  elseif kind == "nft" then
    M.del_table(name, id)
  end
end

-- ---- lab:uplink ----

-- node of lab from a node or its name.
local node_of = require("nslab.linkctl").node

--- Joins node to the namespace nslab runs in (see the module): a veth,
-- `ifname` in the node (default the next free ethN) and `nsuXXXXXXXX` in
-- nslab's namespace, addressed from a free /30 of 100.64.0.0/10 (or
-- `addrs`), up; a default route in the node via nslab's end; with `nat`,
-- the node's traffic masqueraded when it leaves nslab's namespace by
-- another link (nft table `nslab_uplink_XXXXXXXX`) and
-- `net.ipv4.ip_forward` = 1 there. Recorded first, undone at close and by
-- `nslab --clean`.
-- @tparam lab lab
-- @tparam node|string node a host or router of the lab (or its name)
-- @tparam[opt] table opts `addrs` {node_addr, nslab_addr} (IPv4 with
-- prefix length, one subnet), `nat` (boolean, default false), `ifname`,
-- `ipv6` (boolean: also a unique local /64, fd6e:736c:XXXX:XXXX::1 the
-- node's and ::2 nslab's, and an IPv6 default route via ::2; no NAT66:
-- the node reaches nslab's namespace's own addresses, IPv6 forwarding
-- there is left alone, since turning it on makes a host ignore router
-- advertisements)
-- @treturn table the uplink {node =, ifname =, peer = (nslab's end),
-- addrs = {node_addr, nslab_addr}, via = (nslab's address), nat =, table =,
-- and with ipv6 addrs6 = {node_addr6, nslab_addr6}, via6 =}
-- @raise argument errors for a bad node or option; EEXIST error object
-- when the node has an uplink already, its ifname is taken, or it has a
-- default route (IPv4; IPv6 too with `ipv6`) already; ENOENT naming
-- Debian nftables when `nat` is asked and nft is missing; EINVAL for
-- bad addrs, a bridge; EADDRINUSE when the pool is used up; kernel and
-- nft errors (with `step`) after undoing what the step made
-- @usage lab:uplink("red", {nat = true})
function M.uplink(lab, node, opts)
  local op = "lab:uplink"
  lab:_check_open(op)
  node = node_of(lab, node, op)
  opts = opts_mod.check(op, 2, opts, OPTS, 3)
  if node._uplink then
    raise(op, q(node.name), E.EEXIST, string.format("node %q has an uplink already (%s)", node.name,
      node._uplink.ifname))
  end
  if node.kind == "bridge" then opts_mod.invalid(op, q(node.name), "a bridge has no addresses: uplink a host") end
  -- Everything the kernel or nft would refuse halfway, checked before
  -- anything is made.
  if opts.nat then opts_mod.need(op, q(node.name), "nft", "nftables (make deps)") end
  for _, r in ipairs(Route.list { netns = node.netns }) do
    if r.dst == "default" and (r.family == "inet" or opts.ipv6) and (r.table == nil or r.table == "main") then
      raise(op, q(node.name), E.EEXIST, string.format("node %q has a%s default route already (%s): the uplink "
        .. "adds its own; remove that one first, or give the node no default route", node.name,
        r.family == "inet6" and "n IPv6" or "n IPv4",
        table.concat({ r.via and "via " .. r.via or nil, r.dev and "dev " .. r.dev or nil }, " ")))
    end
  end
  local ifname = opts.ifname or node:_next_ifname()
  if node._ifset[ifname] then
    raise(op, q(ifname), E.EEXIST, string.format("node %q already has %q", node.name, ifname))
  end
  local mine, via = addresses(op, lab, opts.addrs)
  local n, len = parse4(mine)
  local subnet = text4(n & mask(len)) .. "/" .. len
  local h = hash(lab.name .. "\0" .. node.name)
  local peer, tbl = "nsu" .. h, "nslab_uplink_" .. h
  local rec = lab._rec
  local up = { node = node, ifname = ifname, peer = peer, addrs = { mine, via }, via = via:match("^[^/]+"),
    nat = opts.nat == true, table = opts.nat and tbl or nil }
  if opts.ipv6 then
    -- a unique local /64 (RFC 4193) named by the same hash: fd6e:736c::/32 ("ns", "l")
    -- groups without leading zeros (RFC 5952), as the kernel prints them
    local p6 = string.format("fd6e:736c:%x:%x::", tonumber(h:sub(1, 4), 16), tonumber(h:sub(5, 8), 16))
    up.addrs6, up.via6 = { p6 .. "1/64", p6 .. "2/64" }, p6 .. "2"
  end
  lab:_step(string.format("uplink %s:%s -- %s", node.name, ifname, peer), function(push)
    core.defer_signals(function()
      rec:add("link", peer)
      local ok, l = pcall(Link.veth, { name = peer, peer = ifname, peer_netns = node.netns, up = true })
      if not ok then
        rec:drop("link", peer)
        error(l, 0)
      end
      rec:add("link-id", peer, l.ifindex)
      fault.at("uplink-added")
      push { what = "veth " .. peer, lines = { { "link", peer }, { "link-id", peer, l.ifindex } },
        drop = { "link", peer }, fn = function() M.del_link(peer, l.ifindex) end }
    end)
    Addr.add(peer, via)
    Addr.add(ifname, mine, { netns = node.netns })
    Route.add { netns = node.netns, dst = "default", via = up.via }
    if up.addrs6 then
      -- usable at once (nodad): the /64 is the uplink's own
      Addr.add(peer, up.addrs6[2], { nodad = true })
      Addr.add(ifname, up.addrs6[1], { netns = node.netns, nodad = true })
      Route.add { netns = node.netns, dst = "default", via = up.via6 }
    end
    if not opts.nat then return end
    core.defer_signals(function()
      local old = held(FORWARD, lab.name, true) or Sysctl.get(nil, FORWARD)
      rec:add("sysctl", FORWARD, old)
      push { what = "sysctl " .. FORWARD, lines = { { "sysctl", FORWARD, old } }, drop = { "sysctl", FORWARD },
        fn = function() M.restore(FORWARD, old, lab.name) end }
      Sysctl.set(nil, FORWARD, "1")
    end)
    core.defer_signals(function()
      rec:add("nft", tbl)
      local ok, e = pcall(nft, { "nft", "-f", "-" }, string.format(
        "table ip %s {\n chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n" ..
        "  ip saddr %s oifname != %q masquerade\n }\n}\n", tbl, subnet, peer))
      local handle = ok and tonumber(Exec.exec(nil, { "nft", "-a", "list", "table", "ip", tbl })
        .stdout:match("# handle (%d+)"))
      if not handle then
        rec:drop("nft", tbl)
        error(ok and "nft: table " .. tbl .. " made but not listed" or e, 0)
      end
      rec:add("nft-id", tbl, handle)
      push { what = "nft table " .. tbl, lines = { { "nft", tbl }, { "nft-id", tbl, handle } }, drop = { "nft", tbl },
        fn = function() M.del_table(tbl, handle) end }
    end)
  end)
  node._uplink = up
  node._ifset[ifname] = true
  return up
end

--- Adds `uplink` to the lab class.
-- @tparam table class the lab's metatable
function M.install(class)
  class.uplink = M.uplink
end

return M
