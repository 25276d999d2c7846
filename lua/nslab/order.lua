--- nslab.order: the order of a lab's nodes, links and each node's
-- interfaces, for `lab:apply` (nslab.apply): a spec lists them in the
-- order applied, and an undone apply leaves them as they were. An order
-- is `{nodes = {name = rank}, ends = {name = {ifname = rank of its link}}}`.
-- Inside the library.
-- @module nslab.order

local M = {}

-- Sorts list by rank(x) (what it does not know last, as they were),
-- unless it is in that order already.
local function sort(list, rank)
  local prev, r = -1, nil
  for i, x in ipairs(list) do
    local v = rank(x) or 1e15 + i
    if v < prev then
      r = {}
      break
    end
    prev = v
  end
  if not r then return end
  for i, x in ipairs(list) do r[x] = rank(x) or 1e15 + i end
  table.sort(list, function(x, y) return r[x] < r[y] end)
end

--- Puts the lab's nodes and links (and each node's interfaces) in the order
-- o gives, so a spec lists them in the order applied or, after an undo,
-- in the order before.
-- @tparam lab lab
-- @tparam table o an order
function M.reorder(lab, o)
  local ends = o.ends
  sort(lab.nodes, function(n) return o.nodes[n.name] end)
  sort(lab._links, function(l) return (ends[l.a.name] or {})[l.ifnames[1]] end)
  local at = {}
  for i, l in ipairs(lab._links) do at[l] = i end
  local function rank(it) return at[it.link] end
  for _, n in ipairs(lab.nodes) do
    if #n._ifs > 1 then sort(n._ifs, rank) end
  end
end

--- The lab's order now, kept flat (two tables, whatever the lab's size),
-- made into an order by `of_snapshot` only when an undo needs it.
-- @tparam lab lab
-- @treturn table `names` (node names in order), `ends` (per link, in
-- order: node a, ifname a, node b, ifname b)
function M.snapshot(lab)
  local names, ends = {}, {}
  for i, n in ipairs(lab.nodes) do names[i] = n.name end
  for i, l in ipairs(lab._links) do
    ends[4 * i - 3], ends[4 * i - 2], ends[4 * i - 1], ends[4 * i] = l.a.name, l.ifnames[1], l.b.name, l.ifnames[2]
  end
  return { names = names, ends = ends }
end

--- The order a snapshot holds.
-- @tparam table snap from `snapshot`
-- @treturn table an order
function M.of_snapshot(snap)
  local o = { nodes = {}, ends = {} }
  for i, name in ipairs(snap.names) do
    o.nodes[name] = i
    o.ends[name] = {}
  end
  local e = snap.ends
  for i = 1, #e // 4 do
    for k = 4 * i - 3, 4 * i - 1, 2 do
      o.ends[e[k]] = o.ends[e[k]] or {}
      o.ends[e[k]][e[k + 1]] = i
    end
  end
  return o
end

--- Whether the lab's nodes, links and each node's interfaces are in the
-- checked spec's order already (after most applies: nothing to sort).
-- @tparam lab lab
-- @tparam table want a checked spec (`nslab.declare.check`)
-- @treturn boolean
function M.matches(lab, want)
  if #lab.nodes ~= #want.nodes or #lab._links ~= #want.links then return false end
  for i, n in ipairs(lab.nodes) do
    if n.name ~= want.nodes[i].name then return false end
  end
  local at = {}
  for i, l in ipairs(lab._links) do
    local e = want.links[i].ends
    local a, ia = l.a.name, l.ifnames[1]
    if not (a == e[1].node and ia == e[1].ifname or a == e[2].node and ia == e[2].ifname) then return false end
    at[l] = i
  end
  for _, n in ipairs(lab.nodes) do
    local ifs = n._ifs
    for k = 2, #ifs do
      if (at[ifs[k].link] or 1e15) < (at[ifs[k - 1].link] or 1e15) then return false end
    end
  end
  return true
end

--- The order of a checked spec's nodes and links.
-- @tparam table want a checked spec
-- @treturn table an order
function M.of_spec(want)
  local o = { nodes = {}, ends = {} }
  for i, n in ipairs(want.nodes) do
    o.nodes[n.name] = i
    o.ends[n.name] = {}
  end
  for i, l in ipairs(want.links) do
    for _, e in ipairs(l.ends) do o.ends[e.node][e.ifname] = i end
  end
  return o
end

return M
