--- nslab.declare_check: checking a spec (see `nslab.declare`) whole
-- before anything changes, and putting it in the one form `nslab.plan`
-- and `nslab.apply` work on. Inside the library: `nslab.declare` gives
-- `check`, `checked` and `canon`.
-- @module nslab.declare_check

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local record = require "nslab.record"
local segment = require "nslab.segment"
local shape = require "nslab.shape"
local nodens = require "nslab.nodens"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local function q(s) return string.format("%q", s) end

local KINDS = { "host", "router", "bridge" }
local NODE_FIELDS = { name = "string", kind = "string", hostname = "string", ifname = "string", dirs = "table",
  ipc = "boolean", time = "table", pid = "boolean", cgroup = "table", bird = "string", frr = "table",
  sysctls = "table", addrs = "table", routes = "table" }
local LINK_FIELDS = { "string", "string", addrs = "table", mtu = "integer", mac = "table", state = "string",
  a_to_b = "table", b_to_a = "table" }
-- (for a link with an end given as a table)
local LINK_FIELDS_T = setmetatable({ "string|table", "string|table" }, { __index = LINK_FIELDS })
local SHAPED = { a_to_b = true, b_to_a = true } -- the fields that shape a link
for k, v in pairs(shape.FIELDS) do
  LINK_FIELDS[k] = v
  SHAPED[k] = true
end

-- fn(key) for a string key, remembered (specs name the same nodes, ends
-- and addresses again and again; a nil result as false); all of it
-- forgotten past 100000 keys (strings never leave a weak table).
local function remembered(fn)
  local memo, n = {}, 0
  return function(key)
    local v = memo[key]
    if v == nil then
      v = fn(key)
      if v == nil then v = false end
      n = n + 1
      if n > 100000 then memo, n = {}, 0 end
      memo[key] = v
    end
    return v
  end
end

local canon_of = remembered(function(text)
  local ok, a = pcall(core.inet.parse, text)
  return ok and a and a.has_prefixlen and a.address .. "/" .. a.prefixlen or nil
end)

--- "address/prefixlen" as the kernel lists it ("FD00::01/64" ->
-- "fd00::1/64"), or nil when text is no address with prefix length.
-- @function canon
-- @tparam string text
-- @treturn ?string
local function canon(text) return canon_of(tostring(text)) or nil end
M.canon = canon

-- opts.check, with a fast way through for a table whose fields all have
-- the one type their field allows. Returns whether a field of marks is
-- there (for a link: one that shapes it).
local function check_fields(op, t, fields, where, marks)
  local fine, marked = type(t) == "table", false
  if fine then
    for k, v in next, t do
      if fields[k] ~= type(v) then
        fine = false
        break
      end
      if marks and marks[k] then marked = true end
    end
  end
  if fine then return marked end
  opts_mod.check(op, 1, t, fields, 5, where)
  if marks then
    for k in pairs(t) do if marks[k] then return true end end
  end
  return false
end

-- "nodes[3]", "links[7]": the entries' names in errors, made once.
local function names_of(what)
  return setmetatable({}, { __index = function(t, i)
    local w = string.format("%s[%d]", what, i)
    t[i] = w
    return w
  end })
end
local NODE_AT, LINK_AT = names_of "nodes", names_of "links"

-- Whether record.check_name lets a name through.
local name_ok = remembered(function(name) return (pcall(record.check_name, "", name)) end)

-- Whether ifname cannot be a link end's (the kernel's dev_valid_name,
-- and lo, which every node has).
local function bad_ifname(ifname)
  return ifname == "" or #ifname > 15 or ifname:find("[/:%s\0]") ~= nil or ifname == "." or ifname == ".."
    or ifname == "lo"
end
local IFNAME_RULE = "at most 15 bytes, no '/', ':', whitespace or NUL, not '.', '..' or 'lo'"

-- A link end "node:ifname" split: {node|false, ifname, whether the ifname is bad}.
local end_split = remembered(function(text)
  local n, ifname = text:match("^(.*):([^:]+)$")
  return { n or false, ifname, ifname and bad_ifname(ifname) }
end)


local CHECKED = {} -- the key marking what check returned

local function bad(op, where, why) opts_mod.raise(op, where, E.EINVAL, why) end

-- "10.0.0.1/24" -> "10.0.0.1".
local host_of = remembered(function(c) return c:match("^[^/]*") end)

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

-- An end "node" or "node:ifname" of a spec link, or a table {node =,
-- ifname =} (needed where "node:ifname" is also a node's name: node "a"
-- beside node "a:eth0"): node name, ifname|nil.
local function split_end(op, i, text, by)
  local n, ifname, bad_if
  if type(text) == "table" then
    local fine = true
    for k in pairs(text) do fine = fine and (k == "node" or k == "ifname") end
    n, ifname = text.node, text.ifname
    if not fine or type(n) ~= "string" or (ifname ~= nil and type(ifname) ~= "string") then
      bad(op, LINK_AT[i], "a link end given as a table is {node = \"name\", ifname = \"ifname\"} (ifname optional)")
    end
    bad_if = ifname and bad_ifname(ifname)
  elseif by[text] then
    return text, nil
  else
    local sp = end_split(text)
    n, ifname, bad_if = sp[1], sp[2], sp[3]
  end
  if not (n and by[n]) then
    local said = type(text) == "string" and text or n
    bad(op, LINK_AT[i], string.format("%q names no node of the spec (its nodes list has no %q)", said, n or said))
  end
  if bad_if then bad(op, LINK_AT[i], string.format("interface name %q: %s", ifname, IFNAME_RULE)) end
  return n, ifname
end

-- A link's mac[k] checked as link.veth checks an address (link_msg.c).
local function check_mac(op, where, k, m)
  local field = string.format("mac[%s]", tostring(k))
  if k ~= 1 and k ~= 2 then bad(op, where, field .. ": mac is {a_mac, b_mac}") end
  if type(m) ~= "string" or not m:match("^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$") then
    bad(op, where, string.format("%s %q is not a MAC address (xx:xx:xx:xx:xx:xx)", field, tostring(m)))
  end
  if tonumber(m:sub(1, 2), 16) & 1 == 1 then
    bad(op, where, string.format("%s %s is multicast (a link address must be unicast: clear bit 0 of the first byte)",
      field, m))
  end
  if m == "00:00:00:00:00:00" then
    bad(op, where, string.format("%s %s is all zeros (not a valid address)", field, m))
  end
end

local KIND_OK = {}
for _, k in ipairs(KINDS) do KIND_OK[k] = true end

local function check_node(op, i, n, by)
  local where = NODE_AT[i]
  check_fields(op, n, NODE_FIELDS, where)
  if n.name == nil then opts_mod.argerror(op, 1, where .. ": field 'name' (a string) is missing") end
  if not name_ok(n.name) then record.check_name(op, n.name, 3) end
  -- a shallow copy (what changes below is made anew), made whole at once
  -- for the common node (a table grown field by field is made again and
  -- again: garbage, on a spec of thousands of nodes)
  local node = { name = n.name, kind = n.kind or "host", index = i }
  for k, v in next, n do
    if node[k] == nil then node[k] = v end
  end
  if not KIND_OK[node.kind] then opts_mod.choice(op, where, "kind", node.kind, KINDS) end
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

-- End text of links[i] checked: {node =, ifname =}; ifs: the ends seen
-- so far ("node:ifname" -> index of their link: the text names one end,
-- one way).
local function end_of(op, i, text, by, ifs)
  local n, ifname = split_end(op, i, text, by)
  if ifname then
    local key = type(text) == "string" and text or n .. ":" .. ifname -- (split at the last ':': one end, one key)
    local other = ifs[key]
    if other == i then bad(op, LINK_AT[i], string.format("a node cannot be linked to itself (%q)", n)) end
    if other then
      bad(op, LINK_AT[i], string.format("%s:%s is on two links (links[%d] and links[%d])", n, ifname, other, i))
    end
    ifs[key] = i
  end
  return { node = n, ifname = ifname }
end

local function check_link(op, i, l, by, fake, ifs)
  local where = LINK_AT[i]
  local tabled = type(l) == "table" and (type(l[1]) == "table" or type(l[2]) == "table")
  local shaped = check_fields(op, l, tabled and LINK_FIELDS_T or LINK_FIELDS, where, SHAPED)
  local t1, t2 = type(l[1]), type(l[2])
  if not ((t1 == "string" or t1 == "table") and (t2 == "string" or t2 == "table")) then
    bad(op, where, 'a link is {"node:ifname", "node:ifname", ...} (its two ends first; an end may also be '
      .. '{node = "name", ifname = "ifname"})')
  end
  local e1 = end_of(op, i, l[1], by, ifs)
  local e2 = end_of(op, i, l[2], by, ifs)
  if e1.node == e2.node then
    bad(op, where, string.format("a node cannot be linked to itself (%q)", e1.node))
  end
  local ends = { e1, e2 }
  local addrs = l.addrs or {}
  if l.mtu and (l.mtu < 68 or l.mtu > 65535) then
    bad(op, where, string.format("mtu %d is out of range (68..65535 bytes)", l.mtu))
  end
  if l.mac then
    for k, m in pairs(l.mac) do check_mac(op, where, k, m) end
  end
  local state = l.state or "up"
  if state ~= "up" then opts_mod.choice(op, where, "state", state, { "up", "down" }) end
  local link = { index = i, ends = ends, addrs = { addr_list(op, where, addrs[1]), addr_list(op, where, addrs[2]) },
    mtu = l.mtu ~= 1500 and l.mtu or nil, mac = l.mac and { l.mac[1], l.mac[2] } or nil, state = state,
    shape = shaped and { shape.directions(op, 1, where, l, l.mtu, 4) } or {} }
  -- A node's addrs on an ifname that is an end of this link are that
  -- end's (as lab:spec() lists them): moved here, so the address rules
  -- below see them and a plan compares them where the lab has them.
  for k = 1, 2 do
    local node, ifname = by[ends[k].node], ends[k].ifname
    local list = ifname and node.addrs and node.addrs[ifname]
    if list then
      local mine, have = link.addrs[k], {}
      for _, a in ipairs(mine) do have[a] = true end
      for _, a in ipairs(list) do
        if not have[a] then mine[#mine + 1] = a end
      end
      node.addrs[ifname] = nil
      if next(node.addrs) == nil then node.addrs = nil end
    end
  end
  if not (by[ends[1].node].kind == "bridge" or by[ends[2].node].kind == "bridge" or (l.mtu and l.mtu < 1280)) then
    -- two hosts: their addresses must differ (the rest is checked above)
    local a1, a2 = link.addrs[1], link.addrs[2]
    if #a1 == 0 or #a2 == 0 then return link end
    if #a1 == 1 and #a2 == 1 then
      if host_of(a1[1]) ~= host_of(a2[1]) then return link end
    end
    local mine = {}
    for _, c in ipairs(a1) do mine[host_of(c)] = true end
    for _, c in ipairs(a2) do
      local k = host_of(c)
      if mine[k] then
        bad(op, where, string.format("%q: %s would be on both %q and %q, the two ends of this link: " ..
          "addresses must differ on a segment", c, k, ends[1].node, ends[2].node))
      end
    end
    return link
  end
  -- The addresses against the segment rules, as lab:link checks them,
  -- on stand-ins of the nodes (made once a spec needs them).
  if not fake.list then
    fake.list, fake.by = {}, {} -- (by name: a node may be named "list")
    for _, n in ipairs(fake.nodes) do
      local f = { name = n.name, kind = n.kind, _seg = n.kind == "bridge" and {} or nil }
      fake.by[n.name] = f
      fake.list[#fake.list + 1] = f
    end
  end
  local stand = {}
  for k = 1, 2 do stand[k] = { node = fake.by[ends[k].node], ifname = ends[k].ifname or "?", addrs = link.addrs[k] } end
  local ok, e = pcall(function()
    local mine = segment.check(stand, l.mtu)
    segment.join(fake.list, stand, mine)
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
  local out, by = { name = spec.name, nodes = {}, links = {} }, {}
  local fake = { nodes = out.nodes }
  for i, n in ipairs(spec.nodes or {}) do out.nodes[i] = check_node(op, i, n, by) end
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

--- The fields a spec link may have (field -> type): its two ends (1, 2),
-- `lab:link`'s options and shaping. Read by a spec that makes sure a plan
-- sees a change of each (plan.link_same and plan's link_changes).
M.LINK_FIELDS = LINK_FIELDS

return M
