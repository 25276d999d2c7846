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
--   `ipc`, `time`; `ifname` for a bridge's device); `sysctls` (key ->
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
  ipc = "boolean", time = "table", sysctls = "table", addrs = "table", routes = "table" }
local LINK_FIELDS = { "string", "string", addrs = "table", mtu = "integer", mac = "table", state = "string",
  a_to_b = "table", b_to_a = "table" }
local SHAPED = { a_to_b = true, b_to_a = true } -- the fields that shape a link
for k, v in pairs(shape.FIELDS) do
  LINK_FIELDS[k] = v
  SHAPED[k] = true
end
--- The node options that make a node what it is: a change replaces it.
M.IDENTITY = { "kind", "hostname", "ifname", "dirs", "ipc", "time" }

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
  local n = { name = node.name, kind = node.kind, hostname = o.hostname, ifname = o.ifname, dirs = copy(o.dirs),
    ipc = o.ipc, time = copy(o.time) }
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
  if node.hostname then nodens.hostname(op, q(node.name), node) end
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
  return out
end

-- ---- writing it out ----

local function is_ident(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") and k ~= "end" and k ~= "and" end

-- Keys written first, in this order; the others sorted after them.
local FIRST = { name = 1, kind = 2, addrs = 3, mtu = 4, mac = 5, state = 6, a_to_b = 7, b_to_a = 8 }

-- v as a Lua constructor on one line, keys sorted.
local function lua_text(v)
  local t = type(v)
  if t == "string" then return q(v) end
  if t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.17g", v)
  end
  if t ~= "table" then return tostring(v) end
  local parts, n = {}, #v
  for i = 1, n do parts[#parts + 1] = lua_text(v[i]) end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    local ra, rb = FIRST[a] or 99, FIRST[b] or 99
    if ra ~= rb then return ra < rb end
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(keys) do
    local key = is_ident(k) and k or "[" .. lua_text(k) .. "]"
    parts[#parts + 1] = key .. " = " .. lua_text(v[k])
  end
  if #parts == 0 then return "{}" end
  return "{ " .. table.concat(parts, ", ") .. " }"
end
--- v as the text of a Lua constructor on one line, keys sorted (name,
-- kind, addrs, mtu, mac, state, a_to_b, b_to_a first): what `export`
-- writes, and a way to compare two specs.
-- @function lua_text
-- @param v a string, number, boolean or table of them
-- @treturn string
M.lua_text = lua_text

--- The spec as the text of a Lua table constructor, one node and one link
-- per line.
-- @tparam table spec
-- @treturn string
function M.text(spec)
  local out = { "{" }
  if spec.name then out[#out + 1] = "  name = " .. q(spec.name) .. "," end
  for _, part in ipairs { "nodes", "links" } do
    out[#out + 1] = "  " .. part .. " = {"
    for _, e in ipairs(spec[part] or {}) do out[#out + 1] = "    " .. lua_text(e) .. "," end
    out[#out + 1] = "  },"
  end
  out[#out + 1] = "}"
  return table.concat(out, "\n")
end

--- A Lua script that builds the lab as it is now: run by nslab
-- (`nslab --keep lab.lua`, `nslab -i lab.lua`) it makes a lab of the same
-- name with the same nodes, links (ifnames, addresses, MTU, MACs read from
-- the kernel, shaping, state), routes and sysctls (`from_spec`), and
-- returns it; called with the argument "--spec" (as `nslab --apply` does)
-- it only returns the spec.
-- @tparam lab lab
-- @treturn string the script
function M.export(lab)
  local spec = M.spec(lab, { macs = true })
  return table.concat({
    string.format("-- nslab lab %q, written by lab:export() (%d nodes, %d links).", lab.name, #spec.nodes,
      #spec.links),
    "-- Build it: nslab --keep THIS.lua (or nslab -i THIS.lua); reconcile a running lab to it:",
    "-- nslab --apply NAME THIS.lua. Its spec is plain data (see nslab.declare).",
    "local spec = " .. M.text(spec),
    'if ... == "--spec" then return spec end',
    'return require("nslab.declare").from_spec(spec)',
    "",
  }, "\n")
end

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
  M.check(spec, "from_spec")
  local lab = require("nslab.lab").new(name, opts)
  local ok, e = pcall(lab.apply, lab, spec)
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
