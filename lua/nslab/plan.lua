--- nslab.plan: what it takes to bring a running lab to a spec (see
-- `nslab.declare`): the nodes, links, addresses, routes, sysctls, MTUs,
-- MACs, shaping and states to add, change or remove, each a change with
-- its text, ordered as `lab:apply` carries them out (removals first:
-- routes, addresses, links, nodes; then nodes, sysctls, links, link
-- changes, addresses, routes). Nothing is changed here.
--
-- A node whose kind or identity options (`hostname`, `ifname`, `dirs`,
-- `ipc`, `time`, `pid`, `cgroup`, `bird`, `frr`: what the kernel cannot
-- change in place) differ is replaced (`-/+ node r1 (router): pid nil ->
-- true, replaced`: removed and made again, its links too). A link is the
-- same link when it joins the same node:ifname ends (either way round); a
-- spec end without ifname takes the one of the link already joining the
-- two nodes, or the next free ethN.
-- @module nslab.plan

local declare = require "nslab.declare"
local live = require "nslab.live"
local shape = require "nslab.shape"

local M = {}

local lua_text = declare.lua_text

-- The phases, in the order apply runs them.
-- Links go down last: routes through them are then saved and put back when
-- they come up again (as lab:link_state does); the kernel takes no route
-- through a link that is down.
M.PHASES = { "route-", "addr-", "link-", "node-", "node+", "sysctl", "link+", "link~", "addr+", "route+", "route~",
  "down" }
local PHASE = {}
for i, p in ipairs(M.PHASES) do PHASE[p] = i end

local function same(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  return lua_text(a) == lua_text(b)
end

--- A route's text: `default via 10.0.0.1 metric 10`.
-- @tparam table r
-- @treturn string
function M.route_text(r)
  local out = { r.dst }
  local keys = {}
  for k in pairs(r) do if k ~= "dst" then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do out[#out + 1] = k .. " " .. tostring(r[k]) end
  return table.concat(out, " ")
end

-- The node names of the plan being made (lab's and spec's), and a link
-- end as text: "node:ifname", or as a spec table where that text is a
-- node's name (node "a" beside node "a:eth0").
local named = {}
local function end_key(n, i)
  local t = n .. ":" .. i
  if named[t] then return string.format("{node = %q, ifname = %q}", n, i) end
  return t
end

-- A finder of the running lab's links: find(a, ia, b, ib) is the lab
-- link joining a:ia and b:ib (either way round), or nil, looked up in the
-- node's own interfaces (no table built per link); and the lab's links
-- with their places (link -> index in lab._links).
local function link_finder(lab)
  local inlab = {}
  for i, l in ipairs(lab._links) do inlab[l] = i end
  local by = lab._by
  local function find(a, ia, b, ib)
    local n = by[a]
    if not n then return nil end
    for _, x in ipairs(n._ifs) do
      local l = x.link
      if x.ifname == ia and l and inlab[l] then
        local la, lb, li = l.a.name, l.b.name, l.ifnames
        if la == a and li[1] == ia and lb == b and li[2] == ib
          or lb == a and li[2] == ia and la == b and li[1] == ib then
          return l
        end
        return nil
      end
    end
  end
  return find, inlab
end

-- A lab link in the form `check` gives a spec's (index: its place).
local function link_entry(l, index)
  local s = l.shape or {}
  return { index = index, ends = { { node = l.a.name, ifname = l.ifnames[1] }, { node = l.b.name,
    ifname = l.ifnames[2] } }, addrs = { declare.link_addrs(l.a, l.ifnames[1]), declare.link_addrs(l.b, l.ifnames[2]) },
    mtu = l.mtu ~= 1500 and l.mtu or nil, mac = l.mac and { l.mac[1], l.mac[2] }, state = l.state or "up",
    shape = { declare.copy(s[1]), declare.copy(s[2]) } }
end

local function link_text(l) return end_key(l.ends[1].node, l.ends[1].ifname) .. " -- " ..
  end_key(l.ends[2].node, l.ends[2].ifname) end

-- want link l turned to match have link h's direction.
local function turn(l)
  l.ends = { l.ends[2], l.ends[1] }
  l.addrs = { l.addrs[2], l.addrs[1] }
  if l.mac then l.mac = { l.mac[2], l.mac[1] } end
  l.shape = { l.shape[2], l.shape[1] }
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list or {}) do s[v] = true end
  return s
end

-- Adds the changes of one list of addresses on node:ifname.
local function addr_changes(p, node, ifname, have, want, hidden)
  have, want = have or {}, want or {}
  if #have == #want then
    local differ = false
    for i = 1, #have do differ = differ or have[i] ~= want[i] end
    if not differ then return end
  end
  local hs, ws = set_of(have), set_of(want)
  for _, a in ipairs(have or {}) do
    if not ws[a] then p:add("addr-", "-", "addr", string.format("addr %s on %s:%s", a, node, ifname),
      { node = node, ifname = ifname, addr = a }, hidden) end
  end
  for _, a in ipairs(want or {}) do
    if not hs[a] then p:add("addr+", "+", "addr", string.format("addr %s on %s:%s", a, node, ifname),
      { node = node, ifname = ifname, addr = a }) end
  end
end

local function route_changes(p, node, have, want, gone)
  local hk, wk = {}, {}
  for _, r in ipairs(have or {}) do hk[live.route_key(r)] = r end
  for _, r in ipairs(want or {}) do wk[live.route_key(r)] = r end
  for _, r in ipairs(have or {}) do
    local w = not gone and wk[live.route_key(r)]
    if not w then
      p:add("route-", "-", "route", string.format("route %s: %s", node, M.route_text(r)), { node = node, route = r },
        gone)
    elseif not same(w, r) then
      p:add("route~", "~", "route", string.format("route %s: %s (was %s)", node, M.route_text(w), M.route_text(r)),
        { node = node, route = w, old = r })
    end
  end
  for _, r in ipairs(want or {}) do
    if gone or not hk[live.route_key(r)] then
      p:add("route+", "+", "route", string.format("route %s: %s", node, M.route_text(r)), { node = node, route = r })
    end
  end
end

-- The running lab's nodes in the form `check` returns (without checking:
-- the lab's own data is good), for planning; its links are read where a
-- plan needs them (link_finder, link_entry).
local function current(lab)
  require("nslab.linkctl").sync(lab)
  local out = { name = lab.name, nodes = {}, by = {} }
  for i, node in ipairs(lab.nodes) do
    local n = declare.node_entry(node)
    n.index = i
    out.nodes[i] = n
    out.by[n.name] = n
  end
  return out
end

local Plan = {}
Plan.__index = Plan

function Plan:add(phase, sign, kind, text, args, hidden)
  local c = { phase = phase, sign = sign, kind = kind, text = text, args = args, hidden = hidden, seq = #self.changes }
  self.changes[#self.changes + 1] = c
  if not hidden then
    local f = sign == "+" and "adds" or sign == "-" and "removes" or "changes_count"
    self[f] = self[f] + 1
  end
  return c
end

--- The plan as text, one change a line (`+` add, `-` remove, `~` change,
-- `-/+` replace), then a summary line.
-- @treturn string
function Plan:text()
  local out = {}
  for _, c in ipairs(self.changes) do
    if not c.hidden then out[#out + 1] = (c.shown_sign or c.sign) .. " " .. c.text end
  end
  if #out == 0 then return "No changes: the lab matches the spec.\n" end
  out[#out + 1] = string.format("Plan: %d to add, %d to change, %d to remove.", self.adds, self.changes_count,
    self.removes)
  return table.concat(out, "\n") .. "\n"
end
--- The plan's summary line (what `:text()` ends with; `lab:diff` has
-- printed the rest): `plan: 2 to add, 1 to change, 0 to remove`.
Plan.__tostring = function(self)
  return string.format("plan: %d to add, %d to change, %d to remove", self.adds, self.changes_count, self.removes)
end

-- The have/want nodes and what happens to each: "keep", "replace", "remove", "add".
local function node_plan(p, have, want)
  local fate = {}
  for _, n in ipairs(have.nodes) do
    local w = want.by[n.name]
    if not w then
      fate[n.name] = "remove"
    else
      local diff
      for _, f in ipairs(declare.IDENTITY) do
        local x, y = n[f], w[f]
        if x ~= y and not same(x, y) then
          diff = diff or {}
          local was, now = lua_text(x), lua_text(y)
          diff[#diff + 1] = #was + #now > 60 and f .. " changed" or string.format("%s %s -> %s", f, was, now)
        end
      end
      fate[n.name] = diff and "replace" or "keep"
      if diff then p.why[n.name] = table.concat(diff, ", ") end
    end
  end
  for _, w in ipairs(want.nodes) do
    if not have.by[w.name] then fate[w.name] = "add" end
  end
  return fate
end

-- Gives each want link end without ifname one: the link already joining
-- the two nodes, else the next free ethN of the node (not one it has now).
local function resolve_ifnames(want, fate, find, lab)
  local missing = false
  for _, l in ipairs(want.links) do
    if not (l.ends[1].ifname and l.ends[2].ifname) then
      missing = true
      break
    end
  end
  if not missing then return end
  local used, taken = {}, {}
  local function use(n, i)
    used[n] = used[n] or {}
    used[n][i] = true
  end
  for _, l in ipairs(want.links) do
    for _, e in ipairs(l.ends) do if e.ifname then use(e.node, e.ifname) end end
  end
  for _, l in ipairs(want.links) do
    if l.ends[1].ifname and l.ends[2].ifname then
      local h = find(l.ends[1].node, l.ends[1].ifname, l.ends[2].node, l.ends[2].ifname)
      if h then taken[h] = true end
    end
  end
  for _, l in ipairs(want.links) do
    local a, b = l.ends[1], l.ends[2]
    if not (a.ifname and b.ifname) and fate[a.node] == "keep" and fate[b.node] == "keep" then
      for _, h in ipairs(lab._links) do
        if not taken[h] then
          local he = { { node = h.a.name, ifname = h.ifnames[1] }, { node = h.b.name, ifname = h.ifnames[2] } }
          for _, o in ipairs { { 1, 2 }, { 2, 1 } } do
            local ha, hb = he[o[1]], he[o[2]]
            local free_a = a.ifname == ha.ifname or not a.ifname and not (used[a.node] or {})[ha.ifname]
            local free_b = b.ifname == hb.ifname or not b.ifname and not (used[b.node] or {})[hb.ifname]
            if not taken[h] and ha.node == a.node and hb.node == b.node and free_a and free_b then
              a.ifname, b.ifname = ha.ifname, hb.ifname
              use(a.node, a.ifname)
              use(b.node, b.ifname)
              taken[h] = true
            end
          end
        end
      end
    end
  end
  for _, l in ipairs(want.links) do
    for _, e in ipairs(l.ends) do
      if not e.ifname then
        local i = 0
        -- (not one the node has now, such as an uplink's, either)
        local now = fate[e.node] == "keep" and lab._by[e.node]._ifset or {}
        while (used[e.node] or {})["eth" .. i] or now["eth" .. i] do i = i + 1 end
        e.ifname = "eth" .. i
        use(e.node, e.ifname)
      end
    end
  end
end

-- Whether lab link l is as want link w (turned alike) has it, read
-- without building its entry (most links of a plan are).
local function link_same(l, w)
  if (l.mtu or 1500) ~= (w.mtu or 1500) or (l.state or "up") ~= w.state then return false end
  if w.mac and (w.mac[1] or w.mac[2]) then return false end
  local s = l.shape or {}
  if not (same(s[1], w.shape[1]) and same(s[2], w.shape[2])) then return false end
  return declare.addrs_are(l.a, l.ifnames[1], w.addrs[1]) and declare.addrs_are(l.b, l.ifnames[2], w.addrs[2])
end

-- The changes of a link kept (h have, w want, turned alike).
local function link_changes(p, h, w)
  if (h.mtu or 1500) ~= (w.mtu or 1500) then
    p:add("link~", "~", "mtu", string.format("link %s: mtu %d (was %d)", link_text(h), w.mtu or 1500,
      h.mtu or 1500),
      { ends = h.ends, mtu = w.mtu or 1500, old = h.mtu or 1500 })
  end
  for i = 1, 2 do
    local wm, hm = w.mac and w.mac[i], h.mac and h.mac[i]
    if wm and (not hm or wm:lower() ~= hm:lower()) then
      p:add("link~", "~", "mac", string.format("link %s: mac of %s %s (was %s)", link_text(h),
        end_key(h.ends[i].node, h.ends[i].ifname), wm, hm or "the kernel's"),
        { ends = h.ends, i = i, mac = wm, old = hm })
    end
  end
  if not same(h.shape[1], w.shape[1]) or not same(h.shape[2], w.shape[2]) then
    local function t(s) return s and shape.text(s) ~= "" and shape.text(s) or "none" end
    p:add("link~", "~", "shape", string.format("link %s: shaping %s / %s (was %s / %s)", link_text(h),
      t(w.shape[1]), t(w.shape[2]), t(h.shape[1]), t(h.shape[2])), { ends = h.ends, shape = w.shape, old = h.shape })
  end
  if h.state ~= w.state then
    p:add(w.state == "down" and "down" or "link~", "~", "state",
      string.format("link %s: %s (was %s)", link_text(h), w.state, h.state),
      { ends = h.ends, state = w.state, old = h.state })
  end
  for i = 1, 2 do addr_changes(p, h.ends[i].node, h.ends[i].ifname, h.addrs[i], w.addrs[i]) end
end

local function sysctl_changes(p, node, h, w, restorable)
  if h.sysctls == nil and w.sysctls == nil then return end
  local hs, ws = h.sysctls or {}, w.sysctls or {}
  local keys = {}
  for k in pairs(ws) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if hs[k] ~= ws[k] then
      p:add("sysctl", "~", "sysctl", string.format("node %s: sysctl %s = %s (was %s)", node, k, ws[k],
        hs[k] or "as it was"), { node = node, key = k, value = ws[k], old = hs[k] })
    end
  end
  keys = {}
  for k in pairs(hs) do if ws[k] == nil and restorable[k] then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    p:add("sysctl", "~", "sysctl", string.format("node %s: sysctl %s = %s (back from %s)", node, k, restorable[k],
      hs[k]), { node = node, key = k, value = restorable[k], old = hs[k], reset = true })
  end
end

--- The plan that brings lab to spec.
-- @tparam lab lab
-- @tparam table spec
-- @tparam[opt="lab:diff"] string op the call, for errors
-- @treturn table plan: `changes` (in order), counts `adds`, `changes_count`, `removes`, `:text()`
-- @raise as `nslab.declare.check` for a bad spec
function M.plan(lab, spec, op)
  local want = declare.check(spec, op or "lab:diff")
  local have = current(lab)
  named = {}
  for _, n in ipairs(have.nodes) do named[n.name] = true end
  for _, n in ipairs(want.nodes) do named[n.name] = true end
  local p = setmetatable({ changes = {}, adds = 0, changes_count = 0, removes = 0, why = {} }, Plan)
  p.want = want
  local fate = node_plan(p, have, want)
  local find, inlab = link_finder(lab)
  resolve_ifnames(want, fate, find, lab)
  -- nodes leaving: their routes and addresses with them (not shown)
  for _, n in ipairs(have.nodes) do
    local f = fate[n.name]
    if f ~= "keep" then
      route_changes(p, n.name, n.routes, nil, true)
      for ifname, list in pairs(n.addrs or {}) do addr_changes(p, n.name, ifname, list, nil, true) end
      local c = p:add("node-", "-", "node", string.format("node %s (%s)", n.name, n.kind), { node = n })
      c.hidden = f == "replace" or nil -- (counted: a replace is one remove and one add)
    end
  end
  for _, w in ipairs(want.nodes) do
    local f = fate[w.name]
    if f == "add" or f == "replace" then
      local c = p:add("node+", "+", "node", string.format("node %s (%s)", w.name, w.kind), { node = w })
      if f == "replace" then
        c.shown_sign = "-/+"
        c.text = string.format("node %s (%s): %s, replaced", w.name, w.kind, p.why[w.name])
      end
      for ifname, list in pairs(w.addrs or {}) do addr_changes(p, w.name, ifname, nil, list) end
      route_changes(p, w.name, nil, w.routes)
    else
      local h = have.by[w.name]
      sysctl_changes(p, w.name, h, w, (lab._by[w.name] or {})._sysctl_old or {})
      if h.addrs or w.addrs then
        local ifs = {}
        for k in pairs(h.addrs or {}) do ifs[k] = true end
        for k in pairs(w.addrs or {}) do ifs[k] = true end
        for ifname in pairs(ifs) do
          addr_changes(p, w.name, ifname, (h.addrs or {})[ifname], (w.addrs or {})[ifname])
        end
      end
      if h.routes or w.routes then route_changes(p, w.name, h.routes, w.routes) end
    end
  end
  -- links
  local kept = {}
  for _, w in ipairs(want.links) do
    local a, b = w.ends[1], w.ends[2]
    local l = find(a.node, a.ifname, b.node, b.ifname)
    if l and fate[a.node] == "keep" and fate[b.node] == "keep" then
      kept[l] = true
      if l.a.name ~= a.node or l.ifnames[1] ~= a.ifname then turn(w) end
      if not link_same(l, w) then link_changes(p, link_entry(l, inlab[l]), w) end
    else
      p:add("link+", "+", "link", "link " .. link_text(w) .. M.link_detail(w), { link = w })
      if w.state == "down" then
        p:add("down", "~", "state", "", { ends = w.ends, state = "down", old = "up" }, true)
      end
    end
  end
  for i, l in ipairs(lab._links) do
    if not kept[l] then
      local h = link_entry(l, i)
      p:add("link-", "-", "link", "link " .. link_text(h), { link = h })
    end
  end
  -- by phase, each in the order planned (a stable bucket sort)
  local buckets, out = {}, {}
  for i = 1, #M.PHASES do buckets[i] = {} end
  for _, c in ipairs(p.changes) do
    local b = buckets[PHASE[c.phase]]
    b[#b + 1] = c
  end
  for _, b in ipairs(buckets) do
    for _, c in ipairs(b) do out[#out + 1] = c end
  end
  p.changes = out
  return p
end

--- What a new link carries, as text: ` (10.0.0.1/24 -- 10.0.0.2/24, mtu 9000)`.
-- @tparam table l a checked link
-- @treturn string
function M.link_detail(l)
  local parts = {}
  if #l.addrs[1] + #l.addrs[2] > 0 then
    local function list(a) return #a > 0 and table.concat(a, " ") or "no address" end
    parts[#parts + 1] = list(l.addrs[1]) .. " -- " .. list(l.addrs[2])
  end
  if l.mtu then parts[#parts + 1] = "mtu " .. l.mtu end
  local s1, s2 = shape.text(l.shape[1]), shape.text(l.shape[2])
  if s1 ~= "" or s2 ~= "" then parts[#parts + 1] = "shaping " .. (s1 ~= "" and s1 or "none") .. " / " ..
    (s2 ~= "" and s2 or "none") end
  if l.state == "down" then parts[#parts + 1] = "down" end
  if #parts == 0 then return "" end
  return " (" .. table.concat(parts, ", ") .. ")"
end

return M
