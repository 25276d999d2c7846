--- nslab.declare: a lab as data (its declared form), read from a running
-- lab (`lab:spec()`), checked, and written out as a Lua script that builds
-- it again (`lab:export()`). `lab:diff` and `lab:apply` (nslab.plan,
-- nslab.apply) take the same form.
--
-- A spec is plain Lua data, a table with:
--
-- * `name` (string, optional): the lab's name (what `from_spec` calls it),
-- * `nodes`: an array of nodes, each
--   `{name = "r1", kind = "router", ...}` with `kind` "host" (the default),
--   "router" or "bridge"; the options of `lab:host` (`hostname`, `dirs`,
--   `ipc`, `time`, `pid`, `cgroup`; `bird` (config text) and `frr` for a
--   router; `ifname` for a bridge's device); `sysctls` (key ->
--   value: set at creation, or later through `node:sysctl` or an apply);
--   `addrs` (ifname -> address or list: addresses on interfaces that are no
--   lab link, such as `lo`); `routes` (an array of `nslab.route.add`
--   tables without `netns`: `{dst = "default", via = "10.0.0.1"}`),
-- * `links`: an array of links, each `{"r1:eth0", "h1:eth0", ...}`: its
--   two ends as "node:ifname" (or "node": the next free ethN, or the
--   ifname of the link already joining the two; or a table `{node =
--   "r1", ifname = "eth0"}`, ifname optional, where "node:ifname" is also
--   a node's name, as for node "a" beside node "a:eth0": a text that is a
--   node's name names that node), and the options of
--   `lab:link`: `addrs` ({a_addrs, b_addrs}, each an address or a list),
--   `mtu` (bytes; left out: 1500), `mac` ({a_mac, b_mac}; left out: as
--   the kernel chose), the shaping (`rate`, `delay`, ... for both
--   directions, or `a_to_b` and `b_to_a`), and `state` ("up", the
--   default, or "down").
--
-- What `lab:spec()` returns is in that form, each link with both
-- ifnames, addresses as "address/prefixlen" (IPv6 as RFC 5952 writes it),
-- shaping as `a_to_b`/`b_to_a` tables of numbers (bit/s, seconds,
-- fractions), and only what differs from the defaults. A sysctl left out
-- of a spec is left as it is, unless it was set through the lab on a
-- running node (`node:sysctl`, an apply): then its value from before
-- comes back.
-- @module nslab.declare

-- "nslab" first: it registers nslab.core.
require "nslab"
local Link = require "nslab.link"
local opts_mod = require "nslab.opts"
local check_mod = require "nslab.declare_check"

local M = {}

--- A deep copy of v (tables copied, other values as they are).
-- @param v
-- @return the copy
local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end
M.copy = copy

--- The node options that make a node what it is: a change replaces it
-- (the kernel cannot change them in place).
M.IDENTITY = { "kind", "hostname", "ifname", "dirs", "ipc", "time", "pid", "cgroup", "bird", "frr" }
local OPTIONS = { "hostname", "ifname", "dirs", "ipc", "time", "pid", "cgroup", "bird", "frr" }

--- "address/prefixlen" as the kernel lists it ("FD00::01/64" -> "fd00::1/64"),
-- or nil when text is no address with prefix length.
-- @function canon
-- @tparam string text
-- @treturn ?string
M.canon = check_mod.canon

--- Checks a spec and returns it in one form (`nslab.declare_check.check`).
-- @function check
-- @tparam table spec
-- @tparam[opt="lab:apply"] string op the call, for errors
-- @treturn table the checked spec
M.check = check_mod.check

--- `check` for a method the user called (`nslab.declare_check.checked`).
-- @function checked
-- @tparam table spec
-- @tparam string op the method ("lab:apply")
-- @tparam integer level
-- @treturn table the checked spec
M.checked = check_mod.checked

local addr_texts = setmetatable({}, { __mode = "k" }) -- (a plan reads every address of the lab)
local function addr_text(a)
  local t = addr_texts[a] or a.address .. "/" .. a.prefixlen
  addr_texts[a] = t
  return t
end

-- ---- reading a running lab ----

--- The addresses the lab gave ifname of node, as "address/prefixlen".
-- @tparam node node
-- @tparam string ifname
-- @treturn {string,...}
function M.link_addrs(node, ifname)
  local out = {}
  for _, a in ipairs(node._addrs) do
    if a.ifname == ifname then out[#out + 1] = addr_text(a) end
  end
  return out
end

--- Whether the addresses the lab gave ifname of node are list, in its
-- order (as `link_addrs` would list them, without making the list).
-- @tparam node node
-- @tparam string ifname
-- @tparam {string,...} list "address/prefixlen" strings
-- @treturn boolean
function M.addrs_are(node, ifname, list)
  local k = 0
  for _, a in ipairs(node._addrs) do
    if a.ifname == ifname then
      k = k + 1
      if list[k] ~= addr_text(a) then return false end
    end
  end
  return k == #list
end

--- node's entry in a spec (see above).
-- @tparam node node
-- @treturn table
function M.node_entry(node)
  local o = node._opts or {}
  local n = M.node_opts(node)
  n.name, n.kind = node.name, node.kind
  if o.sysctls or node._sysctls then
    local sys = {}
    for k, v in pairs(o.sysctls or {}) do sys[(k:gsub("/", "."))] = tostring(v) end
    for k, v in pairs(node._sysctls or {}) do sys[k] = v end
    if next(sys) then n.sysctls = sys end
  end
  local ifs = node._ifs
  for _, a in ipairs(node._addrs) do
    local linked = false -- (on a lab link: the link's entry lists it)
    for k = 1, #ifs do
      if ifs[k].ifname == a.ifname then
        linked = true
        break
      end
    end
    if not linked then
      n.addrs = n.addrs or {}
      n.addrs[a.ifname] = n.addrs[a.ifname] or {}
      table.insert(n.addrs[a.ifname], addr_text(a))
    end
  end
  if #node._routes > 0 then n.routes = copy(node._routes) end
  return n
end

--- The options node was made with, as a spec holds them (`hostname`,
-- `ifname`, `dirs`, `ipc`, `time`, `pid`, `cgroup`, `bird` and `frr`, a
-- daemon's config function as the text it returned); nil ones left out.
-- @tparam node node
-- @treturn table
function M.node_opts(node)
  local o, n = node._opts or {}, {}
  for i = 1, #OPTIONS do
    local k = OPTIONS[i]
    local v = o[k]
    if v ~= nil then n[k] = type(v) == "table" and copy(v) or v end
  end
  n.pid = n.pid or nil
  local texts = node._config_texts or {}
  if type(n.bird) == "function" then n.bird = texts.bird end
  if n.frr and type(n.frr.config) == "function" then n.frr.config = texts.frr end
  return n
end

-- End "node:ifname", or {node =, ifname =} where that text is the name
-- of another node (node "a" beside a node "a:eth0").
local function end_text(node, ifname)
  local text = node.name .. ":" .. ifname
  if node.lab._by[text] then return { node = node.name, ifname = ifname } end
  return text
end

local function link_entry(l)
  local e = { end_text(l.a, l.ifnames[1]), end_text(l.b, l.ifnames[2]) }
  local a1, a2 = M.link_addrs(l.a, l.ifnames[1]), M.link_addrs(l.b, l.ifnames[2])
  if #a1 + #a2 > 0 then e.addrs = { a1, a2 } end
  e.mtu = l.mtu ~= 1500 and l.mtu or nil
  if l.mac and (l.mac[1] or l.mac[2]) then e.mac = { l.mac[1], l.mac[2] } end
  local s = l.shape or {}
  if s[1] or s[2] then e.a_to_b, e.b_to_a = copy(s[1]) or {}, copy(s[2]) or {} end
  if l.state == "down" then e.state = "down" end
  return e
end

--- The running lab in its declared form (see above): what `lab:export`
-- writes and `lab:apply` takes.
-- @tparam lab lab
-- @tparam[opt] table opts `macs` (true: every link end's MAC, read from
-- the kernel, and kept by the lab from then on)
-- @treturn table the spec
function M.spec(lab, opts)
  require("nslab.linkctl").sync(lab)
  if opts and opts.macs then
    for _, l in ipairs(lab._links) do
      l.mac = l.mac or {}
      for i, node in ipairs { l.a, l.b } do
        if not l.mac[i] then l.mac[i] = Link.get(l.ifnames[i], { netns = node.netns }).address end
      end
    end
  end
  local s = { name = lab.name, nodes = {}, links = {} }
  for i, node in ipairs(lab.nodes) do s.nodes[i] = M.node_entry(node) end
  for i, l in ipairs(lab._links) do s.links[i] = link_entry(l) end
  return s
end

-- ---- writing it out (nslab.declare_text) ----

local text_mod = require "nslab.declare_text"
M.lua_text, M.text = text_mod.lua_text, text_mod.text

--- A Lua script that builds the lab as it is now (see `nslab.declare_text.export`).
-- @tparam lab lab
-- @treturn string the script
function M.export(lab) return text_mod.export(lab, M.spec(lab, { macs = true })) end

--- Builds a new lab from a spec: `nslab.lab(name)` then `lab:apply(spec)`.
-- @tparam table spec
-- @tparam[opt] string name the lab's name (default: spec.name)
-- @tparam[opt] table opts as `nslab.lab`
-- @treturn lab
-- @raise as `nslab.lab` and `lab:apply` (the half-built lab is closed first)
-- @usage local lab <close> = require("nslab.declare").from_spec(dofile("lab.lua"))
function M.from_spec(spec, name, opts)
  name = name or type(spec) == "table" and spec.name
  if type(name) ~= "string" then opts_mod.argerror("from_spec", 1, "the spec has no name: give one", 3) end
  local checked = M.check(spec, "from_spec")
  local lab = require("nslab.lab").new(name, opts)
  local ok, e = pcall(lab.apply, lab, checked)
  if not ok then
    pcall(lab.close, lab)
    error(e, 0)
  end
  return lab
end

-- ---- the lab's methods ----

local Lab = {}

--- The running lab as data (see `nslab.declare`): `nodes` and `links`.
-- @tparam[opt] table opts `macs` (true: each link end's MAC, from the kernel)
-- @treturn table spec
-- @usage print(#lab:spec().links)
function Lab:spec(opts)
  self:_check_open("lab:spec")
  return M.spec(self, opts)
end

--- A Lua script (text) that builds the lab as it is now (see `export` above).
-- @treturn string
-- @usage io.open("lab.lua", "w"):write(lab:export())
function Lab:export()
  self:_check_open("lab:export")
  return M.export(self)
end

--- Adds spec, export, diff and apply to the lab class.
-- @tparam table class
function M.install(class)
  for k, f in pairs(Lab) do class[k] = f end
  require("nslab.apply").install(class)
end

return M
