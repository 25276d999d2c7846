--- nslab.repl_verbs: Mininet's CLI words in the REPL, for the lab at hand
-- (the global `lab` when it is an open lab, else the newest open lab).
-- A line that is one of these words, alone or with its arguments, and
-- not a global of that name (a script's own `net` wins), runs it:
--
--     nodes              the lab's nodes
--     net                each node's links: `h1 eth0:s1:eth1 ...`
--     dump               each node: kind, netns, interfaces and addresses
--     links              each link with both ends' state: `a:eth0<->b:eth0 (OK OK)`
--     pingall            lab:pingall()
--     link A B down|up   lab:link_state(A, B, "down"|"up")
--     iperf A B          A:iperf(B) (node:iperf), printed as Mininet does
--
-- `help` lists them (`nslab.repl.help`). Output goes to stdout; a refusal
-- (an unknown node, a wrong word, no lab open) prints its one line to stderr.
-- @module nslab.repl_verbs
local M = {}

--- The verbs and their one-line help, in `help` order.
M.LIST = {
  { "nodes", "nodes", "the lab's nodes" },
  { "net", "net", "each node's links" },
  { "dump", "dump", "each node: kind, netns, interfaces, addresses" },
  { "links", "links", "each link and the state of both ends" },
  { "pingall", "pingall", "ping between every two nodes (lab:pingall())" },
  { "link", "link A B down|up", "take the link between A and B down or up" },
  { "iperf", "iperf A B", "TCP throughput from A to B (node:iperf)" },
}
local VERBS = {}
for _, v in ipairs(M.LIST) do VERBS[v[1]] = true end

local function say(...) io.stdout:write(...) end

local function words(text)
  local w = {}
  for x in text:gmatch("%S+") do w[#w + 1] = x end
  return w
end

-- "OK" when the kernel has ifname up in netns, else its operstate.
local function end_state(netns, ifname)
  local ok, l = pcall(require("nslab.link").get, ifname, { netns = netns })
  if not ok then return "MISSING" end
  local s = tostring(l.operstate or "?"):upper()
  return (s == "UP" or (s == "UNKNOWN" and l.up)) and "OK" or s
end

-- The node called name in lab, or a refusal naming the nodes there.
local function node_of(lab, name, verb)
  local node = name and lab:node(name)
  if node then return node end
  local names = {}
  for _, n in ipairs(lab.nodes) do names[#names + 1] = n.name end
  error(string.format("%s: %s; nodes of lab %s: %s", verb,
    name and string.format("no node %q", name) or "which nodes?", lab.name, table.concat(names, " ")), 0)
end

local run = {}

function run.nodes(lab)
  local names = {}
  for _, n in ipairs(lab.nodes) do names[#names + 1] = n.name end
  say("available nodes are: \n", table.concat(names, " "), "\n")
end

function run.net(lab)
  for _, n in ipairs(lab.nodes) do
    local parts = { n.name }
    for _, i in ipairs(n._ifs) do
      parts[#parts + 1] = string.format("%s:%s:%s", i.ifname, i.peer.name, i.peer_ifname)
    end
    say(table.concat(parts, " "), "\n")
  end
end

function run.dump(lab)
  for _, n in ipairs(lab.nodes) do
    local ifs = {}
    for _, i in ipairs(n._ifs) do
      ifs[#ifs + 1] = i.ifname .. (#i.addrs > 0 and ":" .. table.concat(i.addrs, ",") or "")
    end
    say(string.format("<%s %s: %s netns=%s>\n", n.kind:gsub("^%l", string.upper), n.name,
      #ifs > 0 and table.concat(ifs, " ") or "no links", n.netns))
  end
end

function run.links(lab)
  for _, l in ipairs(lab._links) do
    say(string.format("%s:%s<->%s:%s (%s %s)\n", l.a.name, l.ifnames[1], l.b.name, l.ifnames[2],
      end_state(l.a.netns, l.ifnames[1]), end_state(l.b.netns, l.ifnames[2])))
  end
end

function run.pingall(lab) lab:pingall() end

function run.link(lab, w)
  if #w ~= 4 or (w[4] ~= "down" and w[4] ~= "up") then error("usage: link A B down|up", 0) end
  node_of(lab, w[2], "link")
  node_of(lab, w[3], "link")
  lab:link_state(w[2], w[3], w[4])
  say(string.format("link %s -- %s %s\n", w[2], w[3], w[4]))
end

function run.iperf(lab, w)
  if #w ~= 3 then error("usage: iperf A B", 0) end
  local a, b = node_of(lab, w[2], "iperf"), node_of(lab, w[3], "iperf")
  say(string.format("*** Iperf: testing TCP bandwidth between %s and %s\n", a.name, b.name))
  say("*** Results: ", M.rates(a:iperf(b)), "\n")
end

local function rate_text(bps)
  for _, u in ipairs { { 1e9, "Gbits/sec" }, { 1e6, "Mbits/sec" }, { 1e3, "Kbits/sec" } } do
    if bps >= u[1] then return string.format("%.2f %s", bps / u[1], u[2]) end
  end
  return string.format("%.0f bits/sec", bps)
end

--- node:iperf's result as Mininet prints it: the rate B received (the
-- server's), then the rate A sent (the client's),
-- `['9.36 Gbits/sec', '9.37 Gbits/sec']`.
-- @tparam table r what node:iperf returned (`received_bps`, `sent_bps`)
-- @treturn string
function M.rates(r)
  return string.format("['%s', '%s']", rate_text(r.received_bps), rate_text(r.sent_bps))
end

--- What a verb says with no lab open: `no lab: pingall works on an open
-- lab; ...` and the ways to have one.
-- @tparam string verb
-- @treturn string one line
function M.no_lab(verb)
  return string.format("no lab: %s works on an open lab; make one here (lab = nslab.lab \"NAME\"), " ..
    "run a script that keeps it open (nslab -i script.lua), or reach a running or kept one (nslab --attach NAME)",
    verb)
end

--- Whether text is a verb line the REPL should run: its first word a
-- verb, not a global, and a lab open.
-- @tparam string text
-- @tparam table env the REPL's globals
-- @treturn ?string the verb
function M.match(text, env)
  local verb = text:match("^%s*(%a+)")
  if not verb or not VERBS[verb] or rawget(env, verb) ~= nil then return nil end
  local rest = text:sub(#text:match("^%s*%a+") + 1)
  if rest ~= "" and not rest:match("^%s") then return nil end -- `net.x`, `link(...)`: Lua
  return verb
end

--- Runs a verb line on lab.
-- @tparam lab lab
-- @tparam string text the line
-- @raise a one-line message for a bad use (an unknown node: the nodes
-- there), and what the lab method raises
function M.run(lab, text)
  local w = words(text)
  io.stdout:flush()
  run[w[1]](lab, w)
  io.stdout:flush()
end

--- The `help` lines for the verbs.
-- @treturn string
function M.help()
  local out = { "Mininet's words, on the lab `lab` (a global of this name wins):\n" }
  for _, v in ipairs(M.LIST) do out[#out + 1] = string.format("  %-20s %s\n", v[2], v[3]) end
  return table.concat(out)
end

return M
