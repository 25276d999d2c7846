--- nslab.node: a node of a lab (host, router or bridge), which is one
-- network namespace named like the node. Nodes are made by `lab:host`,
-- `lab:router` and `lab:bridge`; their interfaces by `lab:link`.
--
-- Fields: `name`, `netns` (netns name, equal to name), `kind` ("host",
-- "router" or "bridge"), `hostname` (its UTS namespace's, see
-- `nslab.nodens`), `lab`, and for bridges `bridge` (the bridge device).
-- @module nslab.node

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local Addr = require "nslab.addr"
local Exec = require "nslab.exec"
local Link = require "nslab.link"
local Nft = require "nslab.nft"
local nodens = require "nslab.nodens"
local Route = require "nslab.route"
local Sysctl = require "nslab.sysctl"
local opts_mod = require "nslab.opts"

local check_opts = opts_mod.check
local FAMILIES = { "inet", "inet6" }

local function q(s) return string.format("%q", s) end

local Node = {}
Node.__index = Node

--- Makes the Lua side of a node (the lab builds the namespace).
-- @tparam lab lab
-- @tparam string name
-- @tparam string kind "host", "router" or "bridge"
-- @tparam string hostname
-- @treturn node
function Node.new(lab, name, kind, hostname)
  return setmetatable({ lab = lab, name = name, netns = name, kind = kind, hostname = hostname,
    _ifs = {}, _ifset = {}, _addrs = {}, _nif = 0, _routes = {} }, Node)
end

local function sorted_pairs(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local i = 0
  return function()
    i = i + 1
    return keys[i], t[keys[i]]
  end
end

-- Every group mapped in nslab's user namespace may ping (P8): "0 2147483647"
-- as root; rootless (README, "Without root") only gid 0 is mapped and the
-- kernel refuses unmapped groups (EINVAL), so "0 0" there.
local function ping_groups()
  local lo, hi
  local f = io.open("/proc/self/gid_map")
  for l in f and f:lines() or function() end do
    local first, _, count = l:match("(%d+)%s+(%d+)%s+(%d+)")
    if first then
      first, count = math.tointeger(first), math.tointeger(count)
      lo, hi = math.min(lo or first, first), math.max(hi or 0, first + count - 1)
    end
  end
  if f then f:close() end
  return string.format("%d %d", lo or 0, math.min(hi or 2147483647, 2147483647))
end
local PING_GROUPS = ping_groups()

-- A fixed MAC for the bridge of node name: locally administered unicast
-- (02:...), the other 5 bytes from a hash (FNV-1a) of the name, so the
-- same lab gets the same MACs each run. A bridge made without an address
-- takes the lowest of its ports' MACs, changing as ports join, and the
-- neighbours' ARP caches go stale; one set at creation stays.
local function bridge_mac(name)
  local h = 0xcbf29ce484222325
  for i = 1, #name do h = ((h ~ name:byte(i)) * 0x100000001b3) & 0xffffffffffffffff end
  local b = { 0x02 }
  for i = 1, 5 do b[i + 1] = (h >> (8 * (i - 1))) & 0xff end
  return string.format("%02x:%02x:%02x:%02x:%02x:%02x", table.unpack(b))
end

-- Sets up the node's new namespace (lab:host, lab:router, lab:bridge, as
-- one building step): lo up; for hosts and routers ping open to every
-- mapped group and no DAD; forwarding on in a router; the bridge device
-- (opts.ifname, default "br0") in a bridge; then opts.sysctls, by key.
function Node:_setup(opts, push)
  local name = self.netns
  nodens.setup(self, opts, push)
  -- P1: a new netns has lo down; up gives 127.0.0.1/8 and ::1.
  Link.set("lo", { up = true }, { netns = name })
  local list = Node.default_sysctls(self.kind)
  for i = 1, #list, 2 do Sysctl.set(name, list[i], list[i + 1]) end
  if self.kind == "bridge" then
    local br = opts.ifname or "br0"
    Link.add { name = br, kind = "bridge", netns = name, address = bridge_mac(name) }
    Link.set(br, { up = true }, { netns = name })
    self.bridge = br
    self._seg = {} -- address -> node name, for every host on this segment
  end
  self:_own_sysctls(opts)
end

--- The sysctls a new node of kind gets, in the order set: {key, value, ...}
-- (nslab.build writes them as it makes the namespaces).
-- @tparam string kind "host", "router" or "bridge"
-- @treturn {string,...}
function Node.default_sysctls(kind)
  if kind == "bridge" then return {} end
  -- P8: "1 0" would stop ping for commands run with user=.
  -- P2: interfaces made later skip DAD, link-local addresses included.
  local list = { "net.ipv4.ping_group_range", PING_GROUPS, "net.ipv6.conf.default.accept_dad", "0" }
  if kind == "router" then
    for _, x in ipairs { "net.ipv4.ip_forward", "1", "net.ipv6.conf.all.forwarding", "1" } do list[#list + 1] = x end
  end
  return list
end

-- The node's own sysctls (opts.sysctls, by key), set last in _setup.
function Node:_own_sysctls(opts)
  for key, value in sorted_pairs(opts.sysctls or {}) do
    Sysctl.set(self.netns, key, tostring(value))
  end
end

-- The next free ethN in this node (taken only once the link is made).
--- The lab's /etc/hosts changed (lab:link added addresses): read again by
-- the next command in each node, rewritten at once where commands ran
-- (`nslab.nodens.refresh`).
-- @tparam lab lab
-- While lab:apply holds it (`_hosts_held`), notes it for the end instead.
function Node.hosts_changed(lab)
  lab._hosts_text = nil -- made again when next asked for (nodens.source)
  if lab._hosts_held then
    lab._hosts_dirty = true
    return
  end
  nodens.refresh(lab)
end

function Node:_next_ifname()
  local i = self._nif
  while self._ifset["eth" .. i] do i = i + 1 end
  return "eth" .. i
end

-- An address as inet_pton(3) reads it (core.inet.parse: the prefix
-- length, if any, apart), or nil when text is none.
local function parse(text)
  local ok, a = pcall(core.inet.parse, tostring(text))
  return ok and a or nil
end

local function note_addr(self, ifname, addr)
  local a = parse(addr)
  if not a then return end -- the kernel took it: cannot happen
  self._addrs[#self._addrs + 1] = { ifname = ifname, address = a.address, prefixlen = a.prefixlen, family = a.family }
end

-- Called by lab:link once the link exists.
function Node:_attach(ifname, peer, peer_ifname, addrs, link)
  self._ifs[#self._ifs + 1] = { ifname = ifname, peer = peer, peer_ifname = peer_ifname, addrs = addrs, link = link }
  self._ifset[ifname] = true
  if ifname == "eth" .. self._nif then self._nif = self._nif + 1 end
  for _, addr in ipairs(addrs) do note_addr(self, ifname, addr) end
end

local function argv_of(cmd)
  if type(cmd) == "string" then return { "/bin/sh", "-c", cmd } end
  return cmd
end

-- Calls exec/sh/spawn(netns, cmd, opts) for a node method, so that an
-- argument error names the method and its argument as the user wrote
-- them, at the user's line ("bad argument #2 to 'node:run'"), instead of
-- a line of this file. Other errors (error objects, interrupts) pass on
-- unchanged.
local function as_method(method, f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then return table.unpack(r, 2, r.n) end
  local e = r[2]
  if type(e) == "string" then
    -- pcall calls f directly: the message carries no position
    local n, rest = e:match("^bad argument #(%d+) to '[^']*' (.*)$")
    if n then error(string.format("bad argument #%d to '%s' %s", tonumber(n) - 1, method, rest), 3) end
  end
  error(e, 0)
end

--- Runs a command in the node and waits for it (see `nslab.exec`).
-- @tparam table|string cmd argv array, or a shell command line (`/bin/sh -c`)
-- @tparam[opt] table opts as `nslab.exec`: timeout (seconds), stdin, env,
-- cwd, capture, check, user, caps, stdout
-- @treturn table {ok, status, signal, stdout, stderr, elapsed, timed_out}
-- @raise as `nslab.exec`
-- @usage print(red:run{"ip", "-br", "addr"}.stdout)
function Node:run(cmd, opts)
  self.lab:_check_open("node:run", string.format("%q", self.name))
  self.lab:_quiet()
  -- not tail calls: as_method's error level counts this frame
  local r = as_method("node:run", type(cmd) == "string" and Exec.sh or Exec.exec, self.netns, cmd, opts)
  return r
end

--- Starts a command in the node without waiting; the lab kills it when it
-- closes, or leaves it running when kept (`lab:keep()`); `nslab --clean`
-- kills it if the lab's process died. Lab commands are started with
-- `pdeathsig = false` (a SIGKILLed nslab leaves them, with the rest of the
-- lab, to `nslab --clean`) unless opts say otherwise.
-- @tparam table|string cmd argv array or shell command line
-- @tparam[opt] table opts as `nslab.spawn`
-- @treturn proc with `pid`, `:wait([timeout])`, `:kill([signal])`, `:running()`
-- @raise as `nslab.spawn` (argument errors naming `node:spawn`); EINVAL
-- error object when the lab is closed
-- @usage local srv = red:spawn{"nc", "-l", "80"}
function Node:spawn(cmd, opts)
  self.lab:_check_open("node:spawn", string.format("%q", self.name))
  local o = opts
  if opts == nil or type(opts) == "table" then
    o = { pdeathsig = false }
    for k, v in pairs(opts or {}) do o[k] = v end
  end
  local proc = as_method("node:spawn", Exec.spawn, self.netns, argv_of(cmd), o)
  self.lab:_own(proc)
  return proc
end

--- The first address the lab gave this node (in link order), without
-- prefixlen.
-- @tparam[opt] string family "inet" or "inet6"; nil: any
-- @treturn string|nil
-- @raise argument error for a family that is not a string; EINVAL error
-- object for another word than "inet" and "inet6"
function Node:first_addr(family)
  if family ~= nil then
    if type(family) ~= "string" then
      opts_mod.argerror("node:first_addr", 1, "string expected, got " .. type(family))
    end
    opts_mod.choice("node:first_addr", q(self.name), "family", family, FAMILIES)
  end
  for _, a in ipairs(self._addrs) do
    if family == nil or a.family == family then return a.address end
  end
  return nil
end

local PING_OPTS = { count = "integer", timeout = "number", family = "string", user = "any", process = "boolean" }

-- node:ping's options, their values checked too.
local function check_ping_opts(op, argn, opts)
  opts = check_opts(op, argn, opts, PING_OPTS, 4)
  if opts.family then opts_mod.choice(op, nil, "family", opts.family, FAMILIES) end
  if opts.count then opts_mod.range(op, nil, "count", opts.count, 1) end
  if opts.timeout and opts.timeout <= 0 then
    opts_mod.invalid(op, nil, string.format("timeout %s is out of range (> 0 seconds)", opts.timeout))
  end
  return opts
end

-- A ping target's address: text without its prefix length, a %zone kept
-- (ping takes fe80::1%eth0), and its family; nil when text is no address.
local function ping_address(text)
  if type(text) ~= "string" then return nil end
  local zone = text:match("%%[%w_.-]+") or ""
  local a = parse((text:gsub("%%[%w_.-]+", "", 1)))
  if not a then return nil end
  return a.address .. zone, a.family
end

-- The nodes a ping is about, raising as node:ping does.
local function ping_target(src, target, opts)
  if src.kind == "bridge" then
    opts_mod.invalid("node:ping", q(src.name), string.format("bridge %q has no address to ping from", src.name))
  end
  if type(target) == "string" and src.lab and src.lab:node(target) then target = src.lab:node(target) end
  if getmetatable(target) == Node then
    local addr = target:first_addr(opts.family)
    if not addr then
      opts_mod.invalid("node:ping", q(target.name), string.format("%s %q has no %saddress", target.kind,
        target.name, opts.family and opts.family .. " " or ""))
    end
    return addr
  end
  if type(target) ~= "string" then
    opts_mod.argerror("node:ping", 1, "node, node name or address expected, got " .. type(target), 4)
  end
  local addr, family = ping_address(target)
  if not addr then
    opts_mod.invalid("node:ping", q(target), string.format(
      "%q is neither a node of lab %q nor an IPv4/IPv6 address", target, src.lab and src.lab.name or "?"))
  end
  if opts.family and opts.family ~= family then
    opts_mod.invalid("node:ping", q(target), string.format("family %s does not match address %s", opts.family, addr))
  end
  return addr
end

-- argv for iputils ping from src to target (a node or its name: its first
-- address of the family; or an address), and the exec timeout covering
-- all replies.
local function ping_argv(src, target, opts)
  local addr = ping_target(src, target, opts)
  local count, timeout = opts.count or 1, opts.timeout or 1
  local argv = { "ping", "-n", "-q", "-c", tostring(count), "-W", tostring(timeout) }
  if count > 1 then
    argv[#argv + 1] = "-i"
    argv[#argv + 1] = "0.2"
  end
  argv[#argv + 1] = addr
  return argv, count * 0.2 + timeout + 2
end

-- ok, rtt (seconds, the average) from iputils ping's result; when it
-- failed: false, why, why (its error, or its statistics line).
local function ping_result(r, argv)
  local ok = r.status == 0
  local rtt = r.stdout and r.stdout:match("= [%d.]+/([%d.]+)/")
  if ok then return true, rtt and tonumber(rtt) / 1000 or nil end
  local text = (r.stderr or ""):gsub("%s+$", ""):gsub("\n", "; ")
  if text == "" then text = (r.stdout or ""):match("(%d+ packets transmitted[^\n]*)") or "" end
  if text == "" then
    text = r.timed_out and "timed out" or r.signal and "killed by " .. r.signal or "status " .. tostring(r.status)
  end
  local why = string.format("ping %s: %s", argv[#argv], text)
  return false, why, why
end

--- Pings a node (its first address of the family) or an address, from
-- this node: ICMP/ICMPv6 echo sent by nslab itself from a socket in the
-- node's namespace (`nslab.reach`), or with iputils ping when asked
-- (`process = true`), when running as another `user`, or for a
-- link-local address with a zone (`fe80::1%eth0`).
-- @tparam node|string target a node, the name of a node of the same lab,
-- or an IPv4/IPv6 address (a prefixlen is ignored)
-- @tparam[opt] table opts `count` (default 1), `timeout` (seconds to wait
-- for each reply, default 1), `family` ("inet"|"inet6", for a node
-- target), `user` (run ping as this user), `process` (run iputils ping)
-- @treturn boolean whether replies came back
-- @treturn number|string average round-trip time in seconds; when no
-- reply came, why instead, e.g. "left has no route to 10.0.2.2",
-- "10.0.1.1 says net unreachable", "no ARP answer from 10.0.1.7 on
-- left:eth0" (iputils ping: "ping 10.0.0.9: 1 packets transmitted, 0
-- received, ..."), so `assert(red:ping(blue))` raises with the reason
-- @treturn string|nil when no reply came, why again (nslab 0.1.0's place
-- for it: `local ok, _, why = red:ping(x)` still works)
-- @raise argument error for a target that is not a node or a string, an
-- unknown field or a field of the wrong type (`count` integer, `timeout`
-- number, `family` string); EINVAL error object for a string that is
-- neither a node name nor an address, a family other than "inet"/"inet6"
-- or not the address's, a count below 1, a timeout not above 0, a target
-- node without an address of the family, and when this node is a bridge
-- (it has no address to ping from)
-- @usage assert(red:ping(blue))
function Node:ping(target, opts)
  opts = check_ping_opts("node:ping", 2, opts)
  if not opts.process and not opts.user then
    local addr = ping_target(self, target, opts)
    if not addr:find("%", 1, true) then
      if self.lab then self.lab:_check_open("node:ping", q(self.name)) end
      local j = require("nslab.reach").run({ { src = self, addr = addr } },
        { timeout = opts.timeout or 1, count = opts.count or 1, interval = 0.2, stop = false })[1]
      if j.ok then return true, j.rtt end
      return false, j.why, j.why
    end
  end
  local argv, timeout = ping_argv(self, target, opts)
  return ping_result(self:run(argv, { timeout = timeout, user = opts.user }), argv)
end

--- Runs many pings at once: each job `{src = node, dst = node|address}`
-- gets `ok` and `rtt` (seconds) set, or `why` when it failed. At most `width` pings run together;
-- an error (a signal) kills those still running before it is re-raised.
-- @tparam {table,...} jobs
-- @tparam table opts as `node:ping`
-- @tparam[opt=32] integer width
function Node.ping_many(jobs, opts, width)
  opts = check_ping_opts("node.ping_many", 2, opts)
  width = width or 32
  local running, next_job = {}, 1
  local ok, err = pcall(function()
    while next_job <= #jobs or #running > 0 do
      while #running < width and next_job <= #jobs do
        local j = jobs[next_job]
        next_job = next_job + 1
        local argv, timeout = ping_argv(j.src, j.dst, opts)
        j.argv = argv
        j.proc = Exec.spawn(j.src.netns, argv, { timeout = timeout, user = opts.user })
        running[#running + 1] = j
      end
      local j = table.remove(running, 1)
      local ok1, v = ping_result(j.proc:wait(), j.argv)
      j.ok, j.rtt, j.why = ok1, ok1 and v or nil, not ok1 and v or nil
      j.argv = nil
      j.proc = nil
    end
  end)
  if not ok then
    for _, j in ipairs(running) do
      if j.proc then
        pcall(j.proc.kill, j.proc, "SIGKILL")
        pcall(j.proc.wait, j.proc)
      end
    end
    error(err, 0)
  end
end

--- Addresses: with no argument, lists them (`nslab.addr.list` in this
-- node); with (ifname, addr[, opts]), adds one (IPv6 without DAD, so it
-- answers at once).
-- @tparam[opt] string ifname
-- @tparam[opt] string addr "10.0.0.1/24" or "fd00::1/64"
-- @tparam[opt] table opts as `nslab.addr.add`
-- @treturn table|nil the listing when called without arguments
-- @raise as `nslab.addr.add` and `nslab.addr.list`
-- @usage red:addr("eth0", "fd00::1/64")
function Node:addr(ifname, addr, opts)
  if ifname == nil then return Addr.list { netns = self.netns } end
  local o = { netns = self.netns }
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.nodad == nil and tostring(addr):find(":", 1, true) then o.nodad = true end
  Addr.add(ifname, addr, o)
  note_addr(self, ifname, addr)
  Node.hosts_changed(self.lab)
end

--- Routes: with no argument, lists them (`nslab.route.list` in this
-- node); with a table, adds that route (`nslab.route.add`, netns filled
-- in); with (dst, via), adds a route to dst through the gateway via.
-- @tparam[opt] table|string spec route table, or dst ("default", "10.1.0.0/24")
-- @tparam[opt] string via gateway address when spec is a dst
-- @treturn table|nil the listing when called without arguments
-- @raise as `nslab.route.add` and `nslab.route.list`
-- @usage h1:route("default", "10.0.1.1")
function Node:route(spec, via)
  if spec == nil then return Route.list { netns = self.netns } end
  local r = { netns = self.netns }
  if type(spec) == "table" then
    for k, v in pairs(spec) do r[k] = v end
  else
    r.dst, r.via = spec, via
  end
  Route.add(r)
  r.netns = nil
  self._routes[#self._routes + 1] = r -- for lab:spec (nslab.live)
end

--- Loads an nftables ruleset in the node, atomically (`nslab.nft.load`):
-- all of it or, when nft or the kernel refuses any part, nothing.
-- @tparam string|table ruleset nft syntax (as `nft -f` reads), or a table
-- in nft's JSON schema (`{nftables = {{table = {...}}, ...}}`, as
-- `nft -j -f` reads; what `node:nft_list()` returns loads back)
-- @raise argument error for another type, or a table JSON cannot encode;
-- EINVAL error object (op "node:nft") with nft's own message and line
-- (`/dev/stdin:3:1-5: Error: ...`; field `line`); ENOENT error object
-- when nft is missing (Debian nftables); EINVAL when the lab is closed
-- @usage red:nft [[table inet f { chain in { type filter hook input priority 0; icmp type echo-request drop; } }]]
function Node:nft(ruleset)
  self.lab:_check_open("node:nft", q(self.name))
  Nft.load(self.netns, ruleset, "node:nft", q(self.name))
end

--- The node's nftables ruleset (`nft -j list ruleset`) as Lua tables in
-- nft's JSON schema (`nslab.nft.list`).
-- @treturn table `{nftables = {{metainfo = {...}}, {table = {...}}, ...}}`
-- @raise as `nslab.nft.list` (op "node:nft_list")
-- @usage for _, o in ipairs(red:nft_list().nftables) do print(o.rule and o.rule.chain) end
function Node:nft_list()
  self.lab:_check_open("node:nft_list", q(self.name))
  return Nft.list(self.netns, "node:nft_list", q(self.name))
end

--- The node's links as the kernel lists them (`nslab.link.list`).
-- @treturn {table,...}
-- @raise as `nslab.link.list`
function Node:links() return Link.list { netns = self.netns } end

--- `host red (netns red): eth0 10.0.0.1/24 -> blue:eth0`
Node.__tostring = function(self)
  local parts = {}
  for _, i in ipairs(self._ifs) do
    local s = i.ifname
    if #i.addrs > 0 then s = s .. " " .. table.concat(i.addrs, " ") end
    s = s .. " -> " .. i.peer.name .. ":" .. i.peer_ifname
    if i.link then
      local shaped = require("nslab.linkctl").egress_text(i.link, self, i.ifname)
      if i.link.state == "down" then s = s .. " (down)" end
      if shaped ~= "" then s = s .. " [" .. shaped .. "]" end
    end
    parts[#parts + 1] = s
  end
  local head = string.format("%s %s (netns %s)", self.kind, self.name, self.netns)
  if self.bridge then head = head .. " bridge " .. self.bridge end
  if self.lab and not self.lab._open then
    return head .. string.format(": gone, lab %q is closed", self.lab.name)
  end
  if #parts == 0 then return head .. ": no links" end
  return head .. ": " .. table.concat(parts, ", ")
end

return Node
