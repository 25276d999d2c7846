--- nslab.daemon: routing daemons in lab routers, `lab:router(name, {bird
-- = config})` (BIRD 2, `nslab.bird`) and `lab:router(name, {frr =
-- {daemons = {...}, config = ...}})` (FRR, `nslab.frr`), and waiting for
-- the routing to settle, `lab:converge{timeout = s}`.
--
-- A router with daemons gets private directories in its mount namespace
-- (a fresh tmpfs on each, seen by the router's commands only, as `dirs =`
-- gives, see `nslab.nodens`): `/run` (so `/run/bird` and `/run/frr`, the
-- daemons' sockets, pid files and logs, are the node's own), and for FRR
-- `/etc/frr` and `/var/tmp` (FRR's crash logs). So inside a router the
-- tools' defaults reach that router's daemons and no other's: `birdc`
-- and `vtysh` typed in the REPL (`r1 birdc show route`) just work, and two
-- routers of one lab cannot reach each other's control sockets (the same
-- path names a different socket in each). Nothing is made on the host's
-- file systems: all of it goes with the router's namespaces. The private
-- `/run` hides the host's `/run` (`ip netns` inside such a router lists
-- nothing). Like every `dirs =` tmpfs, they are made anew, empty, if the
-- node's mount namespace is (a file added to or removed from
-- /etc/netns/NAME while the lab runs): the daemons keep running, but
-- `birdc`/`vtysh` then no longer find their sockets.
--
-- Each daemon is a lab-owned process (`node:spawn`: in the lab's record,
-- so `nslab --clean` ends it after a SIGKILLed nslab), run in the
-- foreground so it stays nslab's child, with its own log file. The router
-- is returned once every daemon answers on its control socket. A daemon
-- that cannot start (a config it rejects, a missing program, an exit)
-- raises an error object carrying the daemon's own message and the last
-- lines of its log (field `log`), and the router's step is rolled back:
-- the daemons killed, the node removed. At close, daemons are stopped
-- first, gracefully (SIGTERM, 2 s, then SIGKILL); one that had already
-- ended (killed from outside) is reported on stderr with its last log
-- lines, and the close goes on; those of a router `lab:remove` took away
-- ended with it and are forgotten quietly. `lab:converge` fails (EIO)
-- naming a daemon that no longer runs. A router runs BIRD or FRR, not
-- both (EINVAL: both would write the one kernel routing table).
-- @module nslab.daemon

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local Exec = require "nslab.exec"
local Route = require "nslab.route"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

-- The lab and node methods this module adds (`install`).
local Lab, Node = {}, {}

local function q(s) return string.format("%q", s) end

local raise = opts_mod.raise

--- How many log lines an error carries.
M.TAIL = 10
--- Seconds a daemon gets to answer on its control socket.
M.START_TIMEOUT = 15
--- Seconds a daemon gets to end after SIGTERM before SIGKILL.
M.GRACE = 2

--- Runs argv in the node (its netns and mount namespace, its private
-- directories), whether the lab is open or closing.
-- @tparam node node
-- @tparam {string,...} argv
-- @tparam[opt] table opts as `nslab.exec`
-- @treturn table the result
function M.exec(node, argv, opts)
  local o = { timeout = 10 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return Exec.exec(node.netns, argv, o)
end

--- Writes text to path in the node's private directories (its directory
-- made first), owned by owner ("user:group", or nil: root).
-- @tparam node node
-- @tparam string path absolute path inside the node
-- @tparam string text
-- @tparam[opt] string owner
-- @raise EIO error object with the command's message when it fails
function M.write(node, path, text, owner)
  local r = M.exec(node, { "sh", "-c", 'mkdir -p "${1%/*}" && cat > "$1" && { [ -z "$2" ] || chown "$2" "$1"; }',
    "sh", path, owner or "" }, { stdin = text })
  if not r.ok then
    raise("lab:router", q(node.name), E.EIO, string.format("cannot write %s: %s", path, r.stderr))
  end
end

--- The last n lines of path in the node ("" when there is none).
-- @tparam node node
-- @tparam string path
-- @tparam[opt] integer n default `TAIL`
-- @treturn string
function M.tail(node, path, n)
  local ok, r = pcall(M.exec, node, { "tail", "-n", tostring(n or M.TAIL), path })
  return ok and r.ok and r.stdout or ""
end

-- Appends the daemon's last log lines (and its stderr) to why.
local function with_log(d, why, stderr)
  local log = M.tail(d.node, d.log)
  local text = why
  if stderr and stderr:find("%S") then text = text .. ": " .. stderr:gsub("%s+$", "") end
  if log:find("%S") then text = text .. "; last lines of " .. d.log .. ":\n" .. log:gsub("%s+$", "") end
  return text, log
end

--- Raises the error of a daemon that cannot start: op "lab:router", the
-- router as object, errno, why followed by the daemon's stderr and the
-- last lines of its log (also in field `log`).
-- @tparam table d the daemon
-- @tparam integer errno
-- @tparam string why
-- @tparam[opt] string stderr what the daemon printed
function M.fail(d, errno, why, stderr)
  local text, log = with_log(d, why, stderr)
  local e = core.error { op = "lab:router", object = q(d.node.name), errno = errno, extack = text }
  e.log = log
  error(e, 0)
end

--- A daemon's config text: config itself, or what config(node) returns.
-- @tparam node node
-- @tparam string|function config
-- @tparam string what the daemon, for the message ("bird")
-- @treturn string
-- @raise EINVAL error object when the function returns no string
function M.config_text(node, config, what)
  if type(config) ~= "function" then return config end
  local t = config(node)
  if type(t) ~= "string" then
    raise("lab:router", q(node.name), E.EINVAL, string.format("the %s config function returned %s, not a string", what,
      type(t)))
  end
  node._config_texts = node._config_texts or {} -- for lab:spec (nslab.declare)
  node._config_texts[what] = t
  return t
end

--- Starts one daemon in the node: a lab-owned process (`node:spawn`),
-- with an undo entry that stops it if the router's step fails.
-- @tparam node node
-- @tparam string name the daemon's name ("bird", "zebra")
-- @tparam {string,...} argv
-- @tparam string log its log file, inside the node
-- @tparam function push the step's undo push
-- @tparam string package the Debian package that has it
-- @treturn table the daemon `{node, name, proc, log}`
-- @raise ENOENT error object naming the package when the program is missing
function M.spawn(node, name, argv, log, push, package)
  local d = { node = node, name = name, log = log }
  core.defer_signals(function()
    local ok, proc = pcall(node.spawn, node, argv)
    if not ok then
      local e = proc
      if type(e) == "table" and e.code == "ENOENT" then
        raise("lab:router", q(node.name), E.ENOENT, string.format("%s is missing: install the Debian package %s",
          argv[1], package))
      end
      error(e, 0)
    end
    d.proc = proc
    push { what = name .. " in " .. q(node.name), fn = function() M.stop(d) end }
  end)
  node._daemons = node._daemons or {}
  node._daemons[name] = d
  node._daemons[#node._daemons + 1] = d
  return d
end

--- Waits until ready() is true while the daemon runs; raises (`fail`)
-- when it exits first (EIO, with its status and stderr) or after
-- `START_TIMEOUT` seconds (ETIMEDOUT).
-- @tparam table d the daemon
-- @tparam function ready called repeatedly
function M.wait_ready(d, ready)
  local deadline = core.monotime() + M.START_TIMEOUT
  while true do
    if not d.proc:running() then
      local r = d.proc:wait()
      M.fail(d, E.EIO, string.format("%s exited during its start (%s)", d.name,
        r.signal and "killed by " .. r.signal or "status " .. tostring(r.status)), r.stderr)
    end
    if ready() then return end
    if core.monotime() > deadline then
      M.fail(d, E.ETIMEDOUT, string.format("%s did not answer within %g s", d.name, M.START_TIMEOUT))
    end
    core.sleep(0.02)
  end
end

--- Stops a daemon: SIGTERM, then SIGKILL after `GRACE` seconds; waits
-- for it. Does nothing the second time.
-- @tparam table d the daemon
function M.stop(d)
  if d.stopped then return end
  d.stopped = true
  local p = d.proc
  if p:running() then
    p:kill("SIGTERM")
    p:wait(M.GRACE)
    if p:running() then
      p:kill("SIGKILL")
      p:wait()
    end
  end
end

-- How a daemon's process ended: "killed by SIGKILL", "status 1".
local function ended(d)
  local r = d.proc:wait()
  return r.signal and "killed by " .. r.signal or "status " .. tostring(r.status)
end

-- The lab's daemons still to be looked after: those of removed nodes
-- (`lab:remove` ended them with the node's other processes) are
-- forgotten quietly.
local function live_daemons(lab)
  local out = {}
  for _, d in ipairs(lab._daemons or {}) do
    if d.node.removed then d.stopped = true end
    if not d.stopped then out[#out + 1] = d end
  end
  lab._daemons = out
  return out
end

-- At close: every daemon of the lab stopped, newest first; one that had
-- ended before (killed from outside) said on stderr with its log.
local function close_all(lab)
  local list = live_daemons(lab)
  for i = #list, 1, -1 do
    local d = list[i]
    if not d.stopped and not d.proc:running() then
      local text = with_log(d, string.format("lab %q: %s of router %q had ended before the lab closed (%s)",
        lab.name, d.name, d.node.name, ended(d)))
      io.stderr:write("nslab: ", text, "\n")
      d.stopped = true
    end
    M.stop(d)
  end
end

--- Checks a node's daemon options before anything is made: `bird` and
-- `frr` on one router are refused (two routing suites would each
-- install their routes into the one kernel table, overwriting each
-- other's: run them on two routers).
-- @tparam string op "lab:router"
-- @tparam string name the node's name
-- @tparam table opts its options
-- @raise EINVAL error object naming the router when both are given;
-- argument error for an unknown field or a wrong type in `frr`
function M.check(op, name, opts)
  if opts.bird ~= nil and opts.frr ~= nil then
    raise(op, q(name), E.EINVAL, string.format("router %q cannot run both bird and frr: two routing daemons "
      .. "would fight over one kernel routing table (give one; put the other on a second router)", name))
  end
  -- frr's fields: argument errors at the user's line, not inside the step
  if opts.frr ~= nil then opts_mod.check(op, 2, opts.frr, require("nslab.frr").OPTS, nil, "field 'frr'") end
end

--- Starts a new router's daemons (called by `lab:router` inside its
-- building step, once the node is set up): its private directories, then
-- BIRD (`nslab.bird`) and FRR (`nslab.frr`) as opts ask; the lab stops
-- them when it closes.
-- @tparam node node
-- @tparam table opts the router's options (`bird`, `frr`, `dirs`)
-- @tparam function push the step's undo push
-- @raise as `nslab.bird.start` and `nslab.frr.start`
function M.start(node, opts, push)
  local dirs, seen = {}, {}
  local function add(d)
    if not seen[d] then dirs[#dirs + 1], seen[d] = d, true end
  end
  for _, d in ipairs(opts.dirs or {}) do add(d) end
  add("/run")
  local frr
  if opts.frr ~= nil then
    frr = require "nslab.frr"
    for _, d in ipairs(frr.DIRS) do add(d) end
    frr.check(node, opts.frr)
  end
  Exec.node(node.netns, { dirs = dirs })
  local started = {}
  if opts.bird ~= nil then require("nslab.bird").start(node, opts.bird, push) end
  if frr then frr.start(node, opts.frr, push) end
  for _, d in ipairs(node._daemons or {}) do started[#started + 1] = d end
  local lab = node.lab
  if not lab._daemons then
    lab._daemons = {}
    lab._closers = lab._closers or {}
    lab._closers[#lab._closers + 1] = function() close_all(lab) end
  end
  for _, d in ipairs(started) do lab._daemons[#lab._daemons + 1] = d end
end

--- The daemon called name of node, or raises.
-- @tparam node node
-- @tparam string op
-- @tparam string name
-- @treturn table the daemon
-- @raise EINVAL error object when the node runs no such daemon
function M.get(node, op, name)
  node.lab:_check_open(op, q(node.name))
  local d = node._daemons and node._daemons[name]
  if not d then
    local names = {}
    for _, x in ipairs(node._daemons or {}) do names[#names + 1] = x.name end
    raise(op, q(node.name), E.EINVAL, string.format("%s %q runs no daemon %q (%s)", node.kind, node.name,
      tostring(name), #names > 0 and "it runs " .. table.concat(names, ", ") or "it runs none"))
  end
  return d
end

-- ---- lab:converge ----

-- A text that changes when the node's kernel routes (every table, both
-- families) change.
local function routes_text(node)
  local lines = {}
  for _, r in ipairs(Route.list { netns = node.netns, table = "all" }) do
    lines[#lines + 1] = table.concat({ r.family, tostring(r.table), r.dst, r.type or "", r.via or "",
      r.dev or "", tostring(r.metric or "") }, " ")
  end
  table.sort(lines)
  return table.concat(lines, "\n")
end

-- The addresses of node (those the lab gave it, `node:addr` ones
-- included) except on links that are down (a cable pulled with
-- lab:link_state takes its addresses out of the routing) and IPv6
-- link-local ones.
local function live_addrs(node)
  local down = {}
  for _, i in ipairs(node._ifs) do
    if i.link and i.link.state == "down" then down[i.ifname] = true end
  end
  local out = {}
  for _, a in ipairs(node._addrs) do
    if not down[a.ifname] and not a.address:lower():find("^fe80:") then out[#out + 1] = a.address end
  end
  return out
end

-- The pairs of routers that do not reach each other (a list of "a -> b
-- (address)").
local function unreached(routers)
  local jobs = {}
  for _, a in ipairs(routers) do
    for _, b in ipairs(routers) do
      for _, addr in ipairs(a ~= b and live_addrs(b) or {}) do
        jobs[#jobs + 1] = { src = a, dst = addr, name = string.format("%s -> %s (%s)", a.name, b.name, addr) }
      end
    end
  end
  require("nslab.node").ping_many(jobs, { timeout = 0.5 })
  local bad = {}
  for _, j in ipairs(jobs) do
    if not j.ok then bad[#bad + 1] = j.name end
  end
  return bad
end

local CONVERGE_OPTS = { timeout = "number", stable = "number" }

-- Raises EIO naming the first daemon of the lab that is no longer
-- running (killed from outside, crashed), with its last log lines: the
-- routing cannot settle as configured without it. Said once: close
-- does not report it again.
local function dead_daemon(lab)
  for _, d in ipairs(live_daemons(lab)) do
    if not d.proc:running() then
      d.stopped = true
      local text, log = with_log(d, string.format("%s of router %q is not running (%s)", d.name, d.node.name,
        ended(d)))
      local e = core.error { op = "lab:converge", object = q(lab.name), errno = E.EIO, extack = text }
      e.log = log
      error(e, 0)
    end
  end
end

--- Waits until the routing has settled: every router's kernel routing
-- tables (`nslab.route.list`, all tables) unchanged for `stable` seconds,
-- and every router reaching every address of every other (a ping to each
-- address the lab gave it, `node:addr` ones included, except on links
-- that are down and IPv6 link-local ones).
-- @tparam[opt] table opts `timeout` (seconds, default 30), `stable`
-- (seconds the tables must stay unchanged, default 1)
-- @treturn number seconds from the call until the routing had settled
-- (the last change seen with every pair reaching each other; the
-- `stable` seconds of checking after it are not counted)
-- @raise argument error for an unknown field or a wrong type; EINVAL error
-- object for a timeout or stable not above 0, or a closed lab; EIO error
-- object naming a routing daemon that is no longer running (with its
-- last log lines, also in field `log`), checked at each round; ETIMEDOUT
-- error object naming the routers whose tables still change, or the pairs
-- that do not reach each other
-- @usage print(string.format("converged in %.1f s", lab:converge{timeout = 20}))
function Lab:converge(opts)
  local lab = self
  lab:_check_open("lab:converge")
  opts = opts_mod.check("lab:converge", 1, opts, CONVERGE_OPTS)
  local timeout, stable = opts.timeout or 30, opts.stable or 1
  opts_mod.range("lab:converge", nil, "timeout", timeout, 1e-3)
  opts_mod.range("lab:converge", nil, "stable", stable, 1e-3)
  local routers = {}
  for _, n in ipairs(lab.nodes) do
    if n.kind == "router" then routers[#routers + 1] = n end
  end
  local t0 = core.monotime()
  local deadline = t0 + timeout
  local last, changed, reached_at = {}, t0, nil
  local bad = {}
  while true do
    dead_daemon(lab)
    local moving = {}
    for _, r in ipairs(routers) do
      local text = routes_text(r)
      if text ~= last[r] then
        last[r], changed = text, core.monotime()
        moving[#moving + 1] = r.name
      end
    end
    if #moving > 0 or not reached_at then
      bad = unreached(routers)
      reached_at = #bad == 0 and (reached_at or core.monotime()) or nil
    end
    local now = core.monotime()
    if reached_at and now - changed >= stable then return math.max(changed, reached_at) - t0 end
    if now > deadline then
      local why = #bad > 0 and "not reached: " .. table.concat(bad, ", ")
        or "routing tables still changing in " .. table.concat(moving, ", ")
      raise("lab:converge", q(lab.name), E.ETIMEDOUT, string.format("no convergence within %g s (%s)", timeout, why))
    end
    core.sleep(0.1)
  end
end

--- The log of one of the router's daemons: "bird", or an FRR daemon's
-- name ("zebra", "ospfd").
-- @tparam string daemon
-- @treturn string its log so far
-- @raise EINVAL error object when the router runs no such daemon, or the
-- lab is closed
-- @usage print(r1:log "bird")
function Node:log(daemon)
  local d = M.get(self, "node:log", daemon)
  local r = M.exec(self, { "cat", d.log })
  return r.ok and r.stdout or ""
end

--- Installs `lab:converge`, `node:log`, and the methods of `nslab.bird`
-- and `nslab.frr` (`node:birdc`, `node:birdc_routes`, `node:vtysh`).
-- @tparam table lab_class the lab's metatable
-- @tparam table node_class the node's metatable
function M.install(lab_class, node_class)
  for k, f in pairs(Lab) do lab_class[k] = f end
  for k, f in pairs(Node) do node_class[k] = f end
  require("nslab.bird").install(lab_class, node_class)
  require("nslab.frr").install(lab_class, node_class)
end

return M
