--- nslab.view: looking at a lab: the `lab:show()` table (like
-- `containerlab inspect`), the `lab:dot()` Graphviz text, the
-- `lab:pingall()` matrix and the progress line of a large build.
-- @module nslab.view
local nslab = require "nslab"
local Addr = require "nslab.addr"
local Link = require "nslab.link"
local Node = require "nslab.node"
local linkctl = require "nslab.linkctl"

local M = {}

--- Formats rows as a boxed text table.
-- @tparam {string,...} header column titles
-- @tparam {{string,...},...} rows
-- @treturn string the table, lines ending in "\n"
function M.table(header, rows)
  local w = {}
  for i, h in ipairs(header) do w[i] = #h end
  for _, r in ipairs(rows) do
    for i = 1, #header do w[i] = math.max(w[i], #tostring(r[i] or "")) end
  end
  local function rule()
    local p = {}
    for i = 1, #header do p[i] = string.rep("-", w[i] + 2) end
    return "+" .. table.concat(p, "+") .. "+\n"
  end
  local function line(r)
    local p = {}
    for i = 1, #header do
      local s = tostring(r[i] or "")
      p[i] = " " .. s .. string.rep(" ", w[i] - #s) .. " "
    end
    return "|" .. table.concat(p, "|") .. "|\n"
  end
  local out = { rule(), line(header), rule() }
  for _, r in ipairs(rows) do out[#out + 1] = line(r) end
  out[#out + 1] = rule()
  return table.concat(out)
end

-- The kernel's view of one node: links by name and addresses by ifname.
local function kernel_view(node)
  local links, addrs = {}, {}
  local ok = pcall(function()
    for _, l in ipairs(Link.list { netns = node.netns }) do links[l.name] = l end
    for _, a in ipairs(Addr.list { netns = node.netns }) do
      if a.scope == "link" or a.address:find("^fe[89ab]") then goto skip end -- link-local: noise
      local list = addrs[a.ifname] or {}
      list[#list + 1] = a.address .. "/" .. a.prefixlen .. (a.tentative and " (tentative)" or "")
        .. (a.dadfailed and " (dadfailed)" or "")
      addrs[a.ifname] = list
      ::skip::
    end
  end)
  return ok and links or nil, addrs
end

local function state_of(l)
  if not l then return "?" end
  local s = l.operstate and tostring(l.operstate):lower() or (l.up and "up" or "down")
  if s == "unknown" and l.up then s = "up" end
  return s
end

--- A count with its noun: "1 node", "2 nodes".
-- @tparam integer n
-- @tparam string word singular noun
-- @treturn string
function M.count(n, word) return n .. " " .. word .. (n == 1 and "" or "s") end

--- The `lab:show()` text: one row per interface the lab made (and each
-- bridge device), with kind, peer, state, MTU and addresses from the
-- kernel, and the shaping of what it sends ("Sends": `rate 10mbit loss 1%`).
-- @tparam lab lab
-- @treturn string
function M.show(lab)
  local rows = {}
  for i, node in ipairs(lab.nodes) do
    local links, addrs = kernel_view(node)
    local function row(ifname, peer, fallback, link)
      local l = links and links[ifname]
      local a = addrs[ifname] or fallback or {}
      rows[#rows + 1] = { "", node.name, node.kind, ifname, peer,
        links and state_of(l) or "?", l and l.mtu and tostring(l.mtu) or "", table.concat(a, " "),
        link and linkctl.egress_text(link, node, ifname) or "" }
    end
    local first = #rows
    if node.bridge then row(node.bridge, "", {}) end
    for _, itf in ipairs(node._ifs) do
      row(itf.ifname, itf.peer.name .. ":" .. itf.peer_ifname, itf.addrs, itf.link)
    end
    local up = node._uplink -- lab:uplink: its peer lives in nslab's netns
    if up then row(up.ifname, "uplink " .. up.peer .. (up.nat and " (nat)" or ""), { up.addrs[1] }) end
    if #rows == first then row("lo", "", { "127.0.0.1/8", "::1/128" }) end
    -- one number and name per node, on its first row
    for r = first + 1, #rows do
      rows[r][1] = r == first + 1 and tostring(i) or ""
      if r > first + 1 then rows[r][2], rows[r][3] = "", "" end
    end
  end
  return string.format("lab %s: %s, %s\n", lab.name, M.count(#lab.nodes, "node"),
    M.count(#lab._links, "link")) ..
    M.table({ "#", "Node", "Kind", "Interface", "Peer", "State", "MTU", "Addresses", "Sends" }, rows)
end

local function dq(s) return '"' .. tostring(s):gsub('[\\"]', "\\%0") .. '"' end

local SHAPE = { host = "box", router = "diamond", bridge = "ellipse" }

--- The lab as Graphviz DOT: `graph "name" { ... }`.
-- @tparam lab lab
-- @treturn string
function M.dot(lab)
  local out = { "graph " .. dq(lab.name) .. " {", "  node [fontname=\"Helvetica\"];" }
  for _, node in ipairs(lab.nodes) do
    local label = node.name
    for _, a in ipairs(node._addrs) do label = label .. "\n" .. a.address .. "/" .. a.prefixlen end
    out[#out + 1] = string.format("  %s [shape=%s, label=%s];", dq(node.name), SHAPE[node.kind] or "box",
      (dq(label):gsub("\n", "\\n")))
  end
  for _, l in ipairs(lab._links) do
    out[#out + 1] = string.format("  %s -- %s [taillabel=%s, headlabel=%s];", dq(l.a.name), dq(l.b.name),
      dq(l.ifnames[1]), dq(l.ifnames[2]))
  end
  out[#out + 1] = "}"
  return table.concat(out, "\n") .. "\n"
end

--- The `lab:pingall()` work: pings from every node with an address to
-- every other such node, all pairs at once (in process by `nslab.reach`;
-- with `process`, at most 32 ping processes running, so each unreachable
-- pair does not cost its whole timeout in turn), and prints as Mininet
-- does unless `quiet`.
-- @tparam lab lab
-- @tparam table opts checked by the lab: quiet, timeout, family, process
-- @treturn table matrix[src_name][dst_name] = true|false
-- @treturn integer received
-- @treturn integer sent
-- @treturn table why[src_name][dst_name] = text, for failed pairs
function M.pingall(lab, opts)
  local say = opts.quiet and function() end or function(s) io.stdout:write(s) end
  local ends, jobs = {}, {}
  for _, n in ipairs(lab.nodes) do
    if n.kind ~= "bridge" and n:first_addr(opts.family) then ends[#ends + 1] = n end
  end
  for _, src in ipairs(ends) do
    for _, dst in ipairs(ends) do
      if dst ~= src then jobs[#jobs + 1] = { src = src, dst = dst } end
    end
  end
  say("*** Ping: testing ping reachability\n")
  if opts.process then
    Node.ping_many(jobs, { timeout = opts.timeout, family = opts.family }, 32)
  else
    for _, j in ipairs(jobs) do j.addr = j.dst:first_addr(opts.family) end
    require("nslab.neigh").fit(lab)
    require("nslab.reach").run(jobs, { timeout = opts.timeout or 1 })
  end
  local matrix, why, sent, got, k = {}, {}, 0, 0, 1
  for _, src in ipairs(ends) do
    local row, out = {}, {}
    for _, dst in ipairs(ends) do
      if dst ~= src then
        local ok = jobs[k].ok
        if not ok then
          why[src.name] = why[src.name] or {}
          why[src.name][dst.name] = jobs[k].why or "no reply"
        end
        k = k + 1
        row[dst.name] = ok
        sent = sent + 1
        if ok then got = got + 1 end
        out[#out + 1] = ok and dst.name or "X"
      end
    end
    matrix[src.name] = row
    say(src.name .. " -> " .. table.concat(out, " ") .. "\n")
  end
  say(string.format("*** Results: %d%% dropped (%d/%d received)\n",
    sent > 0 and math.floor((sent - got) * 100 / sent + 0.5) or 0, got, sent))
  return matrix, got, sent, why
end

--- The progress line (issue 8): on stderr, for a lab building 100 or more
-- nodes with progress on, at most 10 times a second; once what
-- `lab:expect` announced is built, shown a last time and ended with a
-- newline (the REPL ends it too before its prompt).
-- @tparam lab lab
function M.tick(lab)
  if not lab._progress then return end
  local n, expect = #lab.nodes, lab._expect
  if n < 100 and not (expect and expect.nodes >= 100) then return end
  local now = nslab.core.monotime()
  local done = expect and n >= expect.nodes and lab._nlinks >= expect.links
  if lab._shown and now - lab._shown < 0.1 and not done then return end
  lab._shown = now
  local total = expect and string.format("/%d", expect.nodes) or ""
  local ltotal = expect and string.format("/%d", expect.links) or ""
  io.stderr:write(string.format("\r\27[Klab %s: %d%s nodes, %d%s links (%.0f/s)",
    lab.name, n, total, lab._nlinks, ltotal, (n + lab._nlinks) / math.max(now - lab._t0, 1e-6)))
  if done then
    io.stderr:write("\n")
    lab._shown, lab._expect = nil, nil
  end
end

--- Ends the progress line before anything else is printed.
-- @tparam lab lab
function M.quiet(lab)
  if lab._shown then
    io.stderr:write("\r\27[K")
    lab._shown = nil
  end
  lab._expect = nil
end

-- ---- the lab's methods (installed by nslab.lab) ----
local opts_mod = require "nslab.opts"
local PINGALL_OPTS = { quiet = "boolean", timeout = "number", family = "string", process = "boolean" }
local SHOW_OPTS = { quiet = "boolean" }
local Lab = {}

--- `lab:pingall(opts)`: pings from every node with an address to every other such node
-- (bridges have none), printing as Mininet does:
-- `*** Ping: testing ping reachability`, `h1 -> h2 X`, `*** Results: 50% dropped (1/2 received)`.
-- The echo requests are sent by nslab itself, all at once, from a socket
-- in each node (`nslab.reach`); `process = true` runs one iputils `ping`
-- per pair instead (32 at a time), as before.
-- @tparam[opt] table opts `quiet` (print nothing), `timeout` (seconds per
-- ping, default 1), `family` ("inet" or "inet6": which address to ping),
-- `process` (boolean: one ping process per pair)
-- @treturn table matrix: matrix[src_name][dst_name] = true|false
-- @treturn integer received
-- @treturn integer sent
-- @treturn table why[src_name][dst_name] = text for each failed pair
-- ("no ARP answer from 10.0.0.7 on h1:eth0"; in process only: silence is
-- explained for the first 200, "no reply within 1 s" after)
-- @raise argument error for an unknown field or a wrong type (`quiet`
-- boolean, `timeout` number, `family` string); EINVAL error object for a
-- family other than "inet"/"inet6", a timeout not above 0, a closed lab
-- @usage local m = lab:pingall(); assert(m.h1.h2)
function Lab:pingall(opts)
  self:_check_open("lab:pingall")
  opts = opts_mod.check("lab:pingall", 1, opts, PINGALL_OPTS)
  if opts.family then opts_mod.choice("lab:pingall", nil, "family", opts.family, { "inet", "inet6" }) end
  if opts.timeout and opts.timeout <= 0 then
    opts_mod.invalid("lab:pingall", nil, string.format("timeout %s is out of range (> 0 seconds)", opts.timeout))
  end
  self:_quiet()
  return M.pingall(self, opts)
end

--- `lab:show(opts)`: prints the nodes, their interfaces (peer, state, MTU) and addresses as a
-- table, like `containerlab inspect`, read from the kernel (rtnetlink).
-- Returns nothing, so the REPL does not print the table twice.
-- @tparam[opt] table opts `quiet = true`: return the text, print nothing
-- @treturn[opt] string the table, with `quiet` only
-- @raise argument error for an unknown field or a `quiet` that is not a
-- boolean; EINVAL error object for a closed lab
function Lab:show(opts)
  self:_check_open("lab:show")
  opts = opts_mod.check("lab:show", 1, opts, SHOW_OPTS)
  self:_quiet()
  local text = M.show(self)
  if opts.quiet then return text end
  io.stdout:write(text)
end

--- `lab:dot()`: the topology as Graphviz DOT (`dot -Tsvg`): hosts as boxes, routers as
-- diamonds, bridges as ellipses, edges labelled with interface names.
-- @treturn string
function Lab.dot(self) return M.dot(self) end


--- Adds `pingall`, `show` and `dot` to the lab class.
-- @tparam table class the lab class
function M.install(class)
  for k, f in pairs(Lab) do class[k] = f end
end

return M
