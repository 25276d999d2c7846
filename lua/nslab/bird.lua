--- nslab.bird: BIRD 2 (Debian `bird2`) in a lab router, `lab:router(name,
-- {bird = config})`, and its control: `node:birdc(cmd)`,
-- `node:birdc_routes()`.
--
-- The config (a string, or a function of the node returning one) is
-- written to `/run/bird/bird.conf` in the router's private `/run` (see
-- `nslab.daemon`), checked with `bird -p` (a rejected config raises
-- EINVAL with BIRD's message, `bird.conf:3:1 syntax error, ...`, and the
-- line's text), then BIRD runs in the foreground (`bird -f -s
-- /run/bird/bird.ctl -c /run/bird/nslab.conf -P /run/bird/bird.pid`)
-- where `nslab.conf` logs everything to `/run/bird/bird.log`
-- (`node:log "bird"`) and includes the config, so BIRD's line numbers are
-- the config's. `/run/bird/bird.ctl` is birdc's default socket: `birdc`
-- typed in the router's shell or the REPL (`r1 birdc show ospf neighbors`)
-- talks to that router's BIRD. The router is returned once `birdc show
-- status` answers. BIRD runs as root in the router (no `-u`): it needs
-- CAP_NET_ADMIN and CAP_NET_RAW there, which rootless nslab has too.
--
-- Read: the BIRD 2 user's guide (bird.network.cz), bird(8), birdc(8).
-- @module nslab.bird

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local daemon = require "nslab.daemon"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

-- The node methods this module adds (`install`).
local Node = {}

--- Where BIRD's files are, inside the router.
M.DIR = "/run/bird"
local CONF, MAIN, SOCK = M.DIR .. "/bird.conf", M.DIR .. "/nslab.conf", M.DIR .. "/bird.ctl"
local LOG, PID = M.DIR .. "/bird.log", M.DIR .. "/bird.pid"
local PACKAGE = "bird2 (make deps)"

local function q(s) return string.format("%q", s) end

local raise = opts_mod.raise

-- Runs argv in the node; a missing program raises ENOENT naming the package.
local function run(node, op, argv, opts)
  local ok, r = pcall(daemon.exec, node, argv, opts)
  if ok then return r end
  if type(r) == "table" and r.code == "ENOENT" then
    raise(op, q(node.name), E.ENOENT, string.format("%s is missing: install the Debian package %s", argv[1], PACKAGE))
  end
  error(r, 0)
end

-- BIRD's message for a rejected config, with the text of the line it names.
local function config_error(text, msg)
  msg = msg:gsub("^bird: ", ""):gsub("%s+$", "")
  local file, line = msg:match("([^%s:]+):(%d+):%d+")
  if file == CONF then
    local n = 0
    for l in (text .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      if n == tonumber(line) then return string.format("%s (line %d: %q)", msg, n, l) end
    end
  end
  return msg
end

--- Starts BIRD in a router being built (called by `nslab.daemon.start`).
-- @tparam node node
-- @tparam string|function config BIRD 2 config, or function(node) returning it
-- @tparam function push the step's undo push
-- @raise EINVAL error object with BIRD's message and the line's text for
-- a config it rejects; ENOENT naming Debian bird2 when bird is missing;
-- EIO when BIRD exits during its start, ETIMEDOUT when it does not
-- answer (with its stderr and last log lines, also in field `log`)
function M.start(node, config, push)
  local text = daemon.config_text(node, config, "bird")
  daemon.write(node, CONF, text)
  daemon.write(node, MAIN, string.format('log %q all;\ninclude %q;\n', LOG, CONF))
  local check = run(node, "lab:router", { "bird", "-p", "-c", MAIN })
  if not check.ok then
    raise("lab:router", q(node.name), E.EINVAL, "bird rejects the config: " ..
      config_error(text, check.stderr .. check.stdout))
  end
  local d = daemon.spawn(node, "bird", { "bird", "-f", "-s", SOCK, "-c", MAIN, "-P", PID }, LOG, push, PACKAGE)
  daemon.wait_ready(d, function()
    local r = daemon.exec(node, { "birdc", "-s", SOCK, "show", "status" })
    return r.ok and r.stdout:find("Daemon is up", 1, true) ~= nil
  end)
end

-- birdc's reply without its banner line ("BIRD 2.0.12 ready.").
local function reply(out) return (out:gsub("^BIRD [^\n]* ready%.\n", "", 1)) end

--- Runs a birdc command against this router's BIRD and returns its reply.
-- @tparam string cmd the command, as typed at birdc's prompt ("show route")
-- @treturn string BIRD's reply (birdc's banner left out)
-- @raise argument error when cmd is not a string; EINVAL error object with
-- BIRD's reply when BIRD refuses the command ("No such command", "Network
-- not found"); EINVAL when the router runs no BIRD or the lab is closed
-- @usage print(r1:birdc "show ospf neighbors")
function Node:birdc(cmd)
  if type(cmd) ~= "string" then opts_mod.argerror("node:birdc", 1, "string expected, got " .. type(cmd)) end
  daemon.get(self, "node:birdc", "bird")
  local r = run(self, "node:birdc", { "birdc", "-s", SOCK, cmd })
  local out = reply(r.stdout)
  if not r.ok then
    raise("node:birdc", q(self.name), E.EINVAL, string.format("%s: %s", cmd, (out .. r.stderr):gsub("%s+$", "")))
  end
  return out
end

-- One route line of `show route all`: "DST TYPE [PROTO SINCE] * ... (PREF/METRIC) [INFO]"
-- (DST blank for another route to the last DST).
local function route_line(l)
  local dst, typ, proto, since, rest = l:match("^(%S*)%s+(%S+)%s+%[(%S+)%s*([^%]]*)%]%s*(.*)$")
  if not dst then return nil end
  local r = { type = typ, proto = proto, since = since, primary = rest:sub(1, 1) == "*", nexthops = {}, attrs = {} }
  rest = rest:gsub("^%*%s*", "")
  local flags, pref, metric, info = rest:match("^(.-)%s*%((%d+)/?(%d*)%)%s*(.*)$")
  if pref then
    r.pref, r.metric = math.tointeger(tonumber(pref)), math.tointeger(tonumber(metric))
    if flags ~= "" then r.flags = flags end
    r.info = info:match("^%[(.*)%]$") or (info ~= "" and info or nil)
  end
  return dst, r
end

--- Parses the text of `birdc show route all` into routes (see `birdc_routes`).
-- @tparam string text
-- @treturn {table,...}
function M.parse_routes(text)
  local routes, tbl, dst, cur = {}, nil, nil, nil
  for l in text:gmatch("[^\n]+") do
    local t = l:match("^Table (%S+):$")
    if t then
      tbl = t
    elseif l:sub(1, 1) == "\t" then
      local line = l:sub(2)
      local via, dev = line:match("^via (%S+) on (%S+)")
      if not via then dev = line:match("^dev (%S+)") end
      if cur and (via or dev) then
        cur.nexthops[#cur.nexthops + 1] = { via = via, dev = dev }
        cur.via, cur.dev = cur.via or via, cur.dev or dev
      elseif cur then
        local k, v = line:match("^([%w_.]+):%s*(.-)%s*$")
        if k then cur.attrs[k] = v end
      end
    else
      local d, r = route_line(l)
      if r then
        if d ~= "" then dst = d end
        r.dst, r.table = dst, tbl
        routes[#routes + 1] = r
        cur = r
      end
    end
  end
  return routes
end

--- The routes this router's BIRD has (`birdc show route all`), as a list
-- of tables.
-- @tparam[opt] string filter what follows `show route all` ("table
-- master6", "protocol ospf1", "for 10.0.3.1")
-- @treturn {table,...} each `{table = "master4", dst = "10.0.1.0/24",
-- type = "unicast", proto = "ospf1", since = "19:41:38.405", primary =
-- true, pref = 150, metric = 20, flags = "I", info = "1.1.1.2", via =
-- "10.0.0.2", dev = "eth0", nexthops = {{via =, dev =}, ...}, attrs =
-- {Type = "OSPF univ", ["OSPF.metric1"] = "20", ...}}` (`metric`,
-- `flags`, `info`, `via` only when BIRD shows them; `primary`: the route
-- BIRD selected, marked `*`); an empty list when BIRD has none
-- @raise as `node:birdc`
-- @usage for _, r in ipairs(r1:birdc_routes()) do print(r.dst, r.proto, r.via) end
function Node:birdc_routes(filter)
  if filter ~= nil and type(filter) ~= "string" then
    opts_mod.argerror("node:birdc_routes", 1, "string expected, got " .. type(filter))
  end
  local ok, out = pcall(Node.birdc, self, "show route all" .. (filter and " " .. filter or ""))
  if not ok then
    if type(out) == "table" then out.op = "node:birdc_routes" end
    error(out, 0)
  end
  return M.parse_routes(out)
end

--- Installs `node:birdc` and `node:birdc_routes`.
-- @tparam table _ the lab's metatable (unused)
-- @tparam table node_class the node's metatable
function M.install(_, node_class)
  for k, f in pairs(Node) do node_class[k] = f end
end

return M
