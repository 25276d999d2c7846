--- nslab.segment: the address rules of `lab:link`, checked before
-- anything is built. An address needs its prefix length (the kernel would
-- take /32 or /128: a link no neighbour is on); an address may be on one
-- node of a segment only (the two ends of a plain link; every host on a
-- bridge, bridges linked together counting as one segment); a bridge end
-- has no address (its hosts have); an MTU below 1280 leaves no room for
-- IPv6 (RFC 8200). Addresses are compared as `nslab.core.inet.parse`
-- spells them (inet_pton(3) and back), so "FD00::01" and "fd00::1" clash.
-- @module nslab.segment

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local function q(s) return string.format("%q", s) end

local function raise(object, why)
  error(core.error { op = "lab:link", object = object, errno = E.EINVAL, extack = why }, 0)
end

--- A list of addresses from nil, one address or a list.
-- @param v nil, false, a string or a table
-- @treturn table
function M.list_of(v)
  if v == nil or v == false then return {} end
  if type(v) == "table" then return v end
  return { v }
end

-- The parsed address, or nil when it is not one (the kernel then says
-- what is wrong with it, in addr.add).
local function parse(addr)
  local ok, a = pcall(core.inet.parse, tostring(addr))
  return ok and a or nil
end

--- An address without its prefix length, spelled one way (RFC 5952 for
-- IPv6), to compare addresses by; text that is no address as it is.
-- @param addr "10.0.0.1/24", "FD00::01/64", ...
-- @treturn string
function M.key(addr)
  local a = parse(addr)
  return a and a.address or tostring(addr):match("^[^/]*")
end

-- Refuses a linked segment where two nodes would share an address.
local function check_join(ends)
  local s1, s2 = ends[1].node._seg, ends[2].node._seg
  if not (s1 and s2) or s1 == s2 then return end
  for k, owner in pairs(s1) do
    local other = s2[k]
    if other and other ~= owner then
      raise(q(k), string.format(
        "%s would be on both %q and %q, whose segments this link joins: addresses must differ on a segment",
        k, owner, other))
    end
  end
end

-- Refuses an address without prefix length, and an IPv6 address on a
-- link whose mtu is below 1280.
local function check_one(ad, mtu)
  local a = parse(ad)
  if not a then return end
  if not a.has_prefixlen then
    raise(q(ad), string.format("%s has no prefix length: write %s/%d",
      ad, ad, a.family == "inet6" and 64 or 24))
  end
  if mtu and mtu < 1280 and a.family == "inet6" then
    raise(q(ad), string.format("mtu %d is below 1280, the least IPv6 works with (RFC 8200)", mtu))
  end
end

--- Checks the addresses of a link's two ends against the rules above.
-- @tparam {table,table} ends each {node =, ifname =, addrs = {...}}
-- @tparam[opt] integer mtu the link's mtu
-- @treturn table the link's addresses: key -> node name
-- @raise EINVAL error object (op "lab:link") naming the address and the rule
function M.check(ends, mtu)
  local seg, where = {}, nil
  for _, e in ipairs(ends) do
    if e.node._seg then seg, where = e.node._seg, e.node end
    if e.node.kind == "bridge" and #e.addrs > 0 then
      raise(q(e.ifname), string.format("%q is a bridge port in %q: address the hosts, not the port",
        e.ifname, e.node.name))
    end
  end
  check_join(ends)
  local mine = {}
  for _, e in ipairs(ends) do
    for _, ad in ipairs(e.addrs) do
      check_one(ad, mtu)
      local k = M.key(ad)
      local owner = mine[k] or seg[k]
      if owner and owner ~= e.node.name then
        local seg_name = where and string.format("on the segment of bridge %q", where.name)
          or "the two ends of this link"
        raise(q(ad), string.format(
          "%s would be on both %q and %q, %s: addresses must differ on a segment", k, owner, e.node.name, seg_name))
      end
      mine[k] = e.node.name
    end
  end
  return mine
end

--- After a link is made: its hosts' addresses join the bridge's segment;
-- two bridges linked become one segment.
-- @tparam {node,...} nodes every node of the lab
-- @tparam {table,table} ends as for `check`
-- @tparam table mine what `check` returned
function M.join(nodes, ends, mine)
  local a, b = ends[1].node, ends[2].node
  local seg = a._seg or b._seg
  if not seg then return end
  if a._seg and b._seg and a._seg ~= b._seg then
    local old = b._seg
    for k, v in pairs(old) do seg[k] = v end
    for _, n in ipairs(nodes) do
      if n._seg == old then n._seg = seg end
    end
  end
  for k, v in pairs(mine) do seg[k] = v end
end

return M
