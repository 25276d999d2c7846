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
--   ifname of the link already joining the two), and the options of
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
local core = require("nslab").core
local Link = require "nslab.link"
local record = require "nslab.record"
local segment = require "nslab.segment"
local shape = require "nslab.shape"
local nodens = require "nslab.nodens"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local function q(s) return string.format("%q", s) end

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

local KINDS = { "host", "router", "bridge" }
local NODE_FIELDS = { name = "string", kind = "string", hostname = "string", ifname = "string", dirs = "table",
  ipc = "boolean", time = "table", pid = "boolean", cgroup = "table", bird = "string", frr = "table",
  sysctls = "table", addrs = "table", routes = "table" }
local LINK_FIELDS = { "string", "string", addrs = "table", mtu = "integer", mac = "table", state = "string",
  a_to_b = "table", b_to_a = "table" }
local SHAPED = { a_to_b = true, b_to_a = true } -- the fields that shape a link
for k, v in pairs(shape.FIELDS) do
  LINK_FIELDS[k] = v
  SHAPED[k] = true
end
--- The node options that make a node what it is: a change replaces it
-- (the kernel cannot change them in place).
M.IDENTITY = { "kind", "hostname", "ifname", "dirs", "ipc", "time", "pid", "cgroup", "bird", "frr" }
local OPTIONS = { "hostname", "ifname", "dirs", "ipc", "time", "pid", "cgroup", "bird", "frr" }

-- "address/prefixlen" as the kernel would list it, or nil; remembered
-- (a plan reads the same addresses again and again).
local canon_memo, canon_n = {}, 0
local function canon(text)
  text = tostring(text)
  local c = canon_memo[text]
  if c ~= nil then return c or nil end
  local ok, a = pcall(core.inet.parse, text)
  c = ok and a and a.has_prefixlen and a.address .. "/" .. a.prefixlen or false
  if canon_n > 100000 then canon_memo, canon_n = {}, 0 end
  canon_memo[text], canon_n = c, canon_n + 1
  return c or nil
end

-- opts.check, with a fast way through for a table whose fields all have
-- the one type their field allows.
local function check_fields(op, t, fields, where)
  if type(t) == "table" then
    local fine = true
    for k, v in pairs(t) do
      if fields[k] ~= type(v) then
        fine = false
        break
      end
    end
    if fine then return t end
  end
  return opts_mod.check(op, 1, t, fields, 5, where)
end

--- "address/prefixlen" as the kernel lists it ("FD00::01/64" -> "fd00::1/64"),
-- or nil when text is no address with prefix length.
-- @function canon
-- @tparam string text
-- @treturn ?string
M.canon = canon

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
  local links = {}
  if node._addrs[1] then
    for _, i in ipairs(node._ifs) do links[i.ifname] = true end
  end
  for _, a in ipairs(node._addrs) do
    if not links[a.ifname] then
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
  for _, k in ipairs(OPTIONS) do n[k] = copy(o[k]) end
  n.pid = n.pid or nil
  local texts = node._config_texts or {}
  if type(n.bird) == "function" then n.bird = texts.bird end
  if n.frr and type(n.frr.config) == "function" then n.frr.config = texts.frr end
  return n
end

local function link_entry(l)
  local e = { l.a.name .. ":" .. l.ifnames[1], l.b.name .. ":" .. l.ifnames[2] }
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

-- ---- checking a spec ----

local CHECKED = {} -- the key marking what check returned

local function bad(op, where, why) opts_mod.raise(op, where, E.EINVAL, why) end

local function addr_list(op, where, v)
  local out = {}
  if v == nil then return out end
  if type(v) ~= "table" then
    local c = canon(v)
    if c then
      out[1] = c
      return out
    end
  end
  for _, a in ipairs(segment.list_of(v)) do
    local c = canon(a)
    if not c then
      bad(op, where, string.format("%s is not an address with prefix length (write 10.0.0.1/24 or fd00::1/64)",
        tostring(a)))
    end
    out[#out + 1] = c
  end
  return out
end

-- An end "node" or "node:ifname" of a spec link: node name, ifname|nil.
local function split_end(op, where, text, by)
  if by[text] then return text, nil end
  local n, ifname = text:match("^(.*):([^:]+)$")
  if n and by[n] then
    if #ifname > 15 or ifname:find("[/%s]") then
      bad(op, where, string.format("interface name %q: at most 15 bytes, no '/', ':' or whitespace", ifname))
    end
    return n, ifname
  end
  bad(op, where, string.format("%q names no node of the spec (its nodes list has no %q)", text, n or text))
end

local function check_node(op, i, n, by)
  local where = string.format("nodes[%d]", i)
  check_fields(op, n, NODE_FIELDS, where)
  if n.name == nil then opts_mod.argerror(op, 1, where .. ": field 'name' (a string) is missing") end
  record.check_name(op, n.name, 3)
  local node = {} -- (a shallow copy: what changes below is made anew)
  for k, v in pairs(n) do node[k] = v end
  node.kind = node.kind or "host"
  opts_mod.choice(op, where, "kind", node.kind, KINDS)
  if by[node.name] then
    bad(op, where, string.format("two nodes are named %q (nodes[%d] and nodes[%d]): node names must differ",
      node.name, by[node.name].index, i))
  end
  if node.ifname and node.kind ~= "bridge" then bad(op, where, "only a bridge has an ifname (its device)") end
  if (node.bird or node.frr) and node.kind ~= "router" then
    bad(op, where, string.format("only a router runs %s (node %q is a %s)", node.bird and "bird" or "frr", node.name,
      node.kind))
  end
  if node.pid == false then node.pid = nil end
  if node.hostname or node.cgroup then nodens.hostname(op, q(node.name), node) end
  if node.sysctls then
    local s = {}
    for k, v in pairs(node.sysctls) do s[(tostring(k):gsub("/", "."))] = tostring(v) end
    node.sysctls = next(s) and s or nil
  end
  if node.addrs then
    local a = {}
    for ifname, list in pairs(node.addrs) do
      a[ifname] = addr_list(op, where .. ".addrs." .. tostring(ifname), list)
    end
    node.addrs = next(a) and a or nil
  end
  for j, r in ipairs(node.routes or {}) do
    if type(r) ~= "table" or type(r.dst) ~= "string" then
      bad(op, where, string.format("routes[%d] must be a table with dst (as nslab.route.add takes)", j))
    end
    if r.netns ~= nil then bad(op, where, string.format("routes[%d]: no netns (the node is the netns)", j)) end
  end
  if node.routes and #node.routes == 0 then node.routes = nil end
  node.index = i
  by[node.name] = node
  return node
end

local function check_link(op, i, l, by, fake, ifs)
  local where = string.format("links[%d]", i)
  check_fields(op, l, LINK_FIELDS, where)
  if type(l[1]) ~= "string" or type(l[2]) ~= "string" then
    bad(op, where, 'a link is {"node:ifname", "node:ifname", ...} (its two ends first)')
  end
  local link = { index = i }
  local ends = {}
  for k = 1, 2 do
    local n, ifname = split_end(op, where, l[k], by)
    ends[k] = { node = n, ifname = ifname }
    if ifname then
      ifs[n] = ifs[n] or {}
      if ifs[n][ifname] then
        bad(op, where, string.format("%s:%s is on two links (links[%d] and links[%d])", n, ifname, ifs[n][ifname], i))
      end
      ifs[n][ifname] = i
    end
  end
  if ends[1].node == ends[2].node then
    bad(op, where, string.format("a node cannot be linked to itself (%q)", ends[1].node))
  end
  link.ends = ends
  local addrs = l.addrs or {}
  link.addrs = { addr_list(op, where, addrs[1]), addr_list(op, where, addrs[2]) }
  if l.mtu and (l.mtu < 68 or l.mtu > 65535) then
    bad(op, where, string.format("mtu %d is out of range (68..65535 bytes)", l.mtu))
  end
  link.mtu = l.mtu ~= 1500 and l.mtu or nil
  if l.mac then link.mac = { l.mac[1], l.mac[2] } end
  link.state = l.state or "up"
  if link.state ~= "up" then opts_mod.choice(op, where, "state", link.state, { "up", "down" }) end
  local shaped = false
  for k in pairs(l) do
    if SHAPED[k] then
      shaped = true
      break
    end
  end
  link.shape = {}
  if shaped then link.shape[1], link.shape[2] = shape.directions(op, 1, where, l, l.mtu, 4) end
  local fa, fb = fake[ends[1].node], fake[ends[2].node]
  if not (fa._seg or fb._seg or (l.mtu and l.mtu < 1280)) then
    -- two hosts: their addresses must differ (the rest is checked above)
    local mine = {}
    for _, c in ipairs(link.addrs[1]) do mine[c:match("^[^/]*")] = true end
    for _, c in ipairs(link.addrs[2]) do
      local k = c:match("^[^/]*")
      if mine[k] then
        bad(op, where, string.format("%q: %s would be on both %q and %q, the two ends of this link: " ..
          "addresses must differ on a segment", c, k, ends[1].node, ends[2].node))
      end
    end
    return link
  end
  -- The addresses against the segment rules, as lab:link checks them,
  -- on stand-ins of the nodes.
  local e2 = {}
  for k = 1, 2 do e2[k] = { node = fake[ends[k].node], ifname = ends[k].ifname or "?", addrs = link.addrs[k] } end
  local ok, e = pcall(function()
    local mine = segment.check(e2, l.mtu)
    segment.join(fake.list, e2, mine)
  end)
  if not ok then
    if type(e) == "table" and e.errno then bad(op, where, (e.object and e.object .. ": " or "") .. (e.extack or "")) end
    error(e, 0)
  end
  return link
end

--- Checks a spec and returns it in one form: nodes (kind filled in,
-- sysctls as strings, addresses as "address/prefixlen") with `index`,
-- `by` (name -> node), links each {index, ends = {{node =, ifname =},
-- ...}, addrs = {{...}, {...}}, mtu, mac, state, shape = {ab, ba}}.
-- Nothing is made or changed.
-- @tparam table spec
-- @tparam[opt="lab:apply"] string op the call, for errors
-- @treturn table the checked spec
-- @raise argument error for a spec that is not a table, an entry with an
-- unknown field or a field of the wrong type; EINVAL error object naming
-- the entry (`nodes[3]`, `links[2]`) for two nodes with one name, a bad
-- name or kind, a link end naming no node of the spec, an ifname on two
-- links, a self link, an address without prefix length, an address in
-- two places on one segment, a bad mtu, state or shaping
function M.check(spec, op)
  if type(spec) == "table" and rawget(spec, CHECKED) then return spec end
  op = op or "lab:apply"
  if type(spec) ~= "table" then opts_mod.argerror(op, 1, "spec table expected, got " .. type(spec), 3) end
  opts_mod.check(op, 1, spec, { name = "string", nodes = "table", links = "table" }, 4, "spec")
  local out, by, fake = { name = spec.name, nodes = {}, links = {} }, {}, { list = {} }
  for i, n in ipairs(spec.nodes or {}) do
    local node = check_node(op, i, n, by)
    out.nodes[i] = node
    fake[node.name] = { name = node.name, kind = node.kind, _seg = node.kind == "bridge" and {} or nil }
    fake.list[#fake.list + 1] = fake[node.name]
  end
  local ifs = {}
  for i, l in ipairs(spec.links or {}) do out.links[i] = check_link(op, i, l, by, fake, ifs) end
  out.by = by
  out[CHECKED] = true
  return out
end

--- `check` for a method the user called: an argument error is raised at
-- level (as for `error`, seen from the caller of checked), without the
-- library's own file and line.
-- @tparam table spec
-- @tparam string op the method ("lab:apply")
-- @tparam integer level
-- @treturn table the checked spec
-- @raise as `check`
function M.checked(spec, op, level)
  local ok, r = pcall(M.check, spec, op)
  if ok then return r end
  if type(r) == "string" then error((r:gsub("^[^\n]-:%d+: ", "", 1)), level + 1) end
  error(r, 0)
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
