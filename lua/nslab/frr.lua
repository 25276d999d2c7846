--- nslab.frr: FRRouting (Debian `frr`, `make deps-frr`) in a lab router,
-- `lab:router(name, {frr = {daemons = {"zebra", "ospfd"}, config = ...}})`,
-- and its control: `node:vtysh(cmd)`.
--
-- The router gets a private `/etc/frr`, `/run` (so `/var/run/frr`) and
-- `/var/tmp` (FRR's crash logs), see `nslab.daemon`, as ipmininet does
-- (cnp3/ipmininet PR #110), so `vtysh` in that router, from
-- `node:vtysh` or typed in the REPL (`r1 vtysh -c "show ip route"`),
-- reaches its daemons and no other router's. The config (FRR's
-- integrated `frr.conf` text, or a function of the node returning it) is
-- written to `/etc/frr/frr.conf` and checked first with `vtysh -C` (a
-- rejected line raises EINVAL with vtysh's message, `line 6: % Unknown
-- command: ...`). Then each daemon runs in the foreground from
-- `/usr/lib/frr` (zebra first, added when the list lacks it), with its TCP
-- vty off (`-P 0`), its pid file and log in `/run/frr` (`node:log
-- "ospfd"`), and once every one answers on its vty socket, `vtysh -b`
-- loads the config into them, as FRR's own init script does.
--
-- FRR's daemons drop to user `frr` (and refuse to run as root unless
-- root is in group `frrvty`): the private directories are made frr's.
-- Rootless nslab maps only your own uid to root, so user frr does not
-- exist there: an FRR router is refused with EPERM saying so (BIRD runs
-- rootless).
--
-- Read: FRR's user guide, "Basic Setup" and "vtysh" (docs.frrouting.org).
-- @module nslab.frr

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local daemon = require "nslab.daemon"
local json = require "nslab.json"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

-- The node methods this module adds (`install`).
local Node = {}

--- The router's private directories besides `/run`.
M.DIRS = { "/etc/frr", "/var/tmp" }
--- Where FRR's daemons are installed.
M.LIBDIR = "/usr/lib/frr"
--- The daemons `frr.daemons` may name.
M.DAEMONS = { "zebra", "staticd", "bgpd", "ospfd", "ospf6d", "ripd", "ripngd", "isisd", "pimd", "ldpd", "nhrpd",
  "eigrpd", "babeld", "pbrd", "bfdd", "fabricd", "vrrpd", "pathd" }
local RUN, CONF = "/run/frr", "/etc/frr/frr.conf"
local PACKAGE = "frr (make deps-frr)"
--- The fields of the `frr` option and their types.
M.OPTS = { daemons = "table", config = "string|function" }
local OPTS = M.OPTS

local function q(s) return string.format("%q", s) end

local raise = opts_mod.raise

--- Whether FRR is installed (its zebra is there).
-- @treturn boolean
function M.available()
  local f = io.open(M.LIBDIR .. "/zebra")
  if f then f:close() end
  return f ~= nil
end

-- FRR's user's uid from /etc/passwd, or nil.
local function frr_uid()
  for l in io.lines("/etc/passwd") do
    local uid = l:match("^frr:[^:]*:(%d+):")
    if uid then return tonumber(uid) end
  end
  return nil
end

-- Whether uid is mapped in nslab's user namespace.
local function mapped(uid)
  for l in io.lines("/proc/self/uid_map") do
    local first, _, count = l:match("(%d+)%s+(%d+)%s+(%d+)")
    if first and uid >= tonumber(first) and uid < tonumber(first) + tonumber(count) then return true end
  end
  return false
end

--- Checks a router's `frr` option before anything is made: its fields,
-- the daemons' names, FRR installed, user frr usable.
-- @tparam node node
-- @tparam table frr `{daemons = {...}, config = string|function}`
-- @raise argument error for an unknown field or a wrong type; EINVAL for
-- an unknown daemon or an empty list; ENOENT naming Debian frr when it
-- (zebra, vtysh) is missing; EPERM when user frr is not mapped (rootless)
function M.check(node, frr)
  local op, object = "lab:router", q(node.name)
  opts_mod.check(op, 2, frr, OPTS, 6, "field 'frr'")
  local known = {}
  for _, n in ipairs(M.DAEMONS) do known[n] = true end
  if not frr.daemons or #frr.daemons == 0 then
    raise(op, object, E.EINVAL, "frr.daemons must list FRR daemons (such as {\"zebra\", \"ospfd\"})")
  end
  for _, n in ipairs(frr.daemons) do
    if not known[n] then
      raise(op, object, E.EINVAL, string.format("unknown FRR daemon %q (one of %s)", tostring(n),
        table.concat(M.DAEMONS, ", ")))
    end
  end
  if not M.available() then
    raise(op, object, E.ENOENT, string.format("%s/zebra is missing: install the Debian package %s", M.LIBDIR, PACKAGE))
  end
  opts_mod.need(op, object, "vtysh", PACKAGE)
  local uid = frr_uid()
  if not uid then raise(op, object, E.ENOENT, "user frr does not exist: install the Debian package " .. PACKAGE) end
  if not mapped(uid) then
    raise(op, object, E.EPERM, string.format("FRR's daemons run as user frr (uid %d), which this user namespace "
      .. "does not map (rootless nslab maps only your own uid): run FRR labs as root, or use BIRD", uid))
  end
end

-- The daemons to run, zebra first, each once.
local function daemons_of(frr)
  local list, seen = { "zebra" }, { zebra = true }
  for _, n in ipairs(frr.daemons) do
    if not seen[n] then list[#list + 1], seen[n] = n, true end
  end
  return list
end

--- Starts FRR in a router being built (called by `nslab.daemon.start`,
-- after `check` and with the private directories mounted).
-- @tparam node node
-- @tparam table frr `{daemons = {...}, config = ...}`
-- @tparam function push the step's undo push
-- @raise EINVAL with vtysh's message for a config line FRR rejects; EIO
-- when a daemon exits during its start or `vtysh -b` fails; ETIMEDOUT
-- when a daemon does not answer (with its stderr and last log lines)
function M.start(node, frr, push)
  local op, object = "lab:router", q(node.name)
  local text = frr.config == nil and "frr defaults traditional\nhostname " .. node.hostname .. "\n"
    or daemon.config_text(node, frr.config, "frr")
  daemon.write(node, CONF, text, "frr:frr")
  daemon.write(node, "/etc/frr/vtysh.conf", "service integrated-vtysh-config\n", "frr:frr")
  local prep = daemon.exec(node, { "sh", "-c", "mkdir -p " .. RUN .. " && chown frr:frr /etc/frr " .. RUN ..
    " && chmod 1777 /var/tmp" })
  if not prep.ok then raise(op, object, E.EIO, "cannot prepare FRR's directories: " .. prep.stderr) end
  local check = daemon.exec(node, { "vtysh", "-C" })
  if not check.ok then
    raise(op, object, E.EINVAL, "FRR rejects the config: " .. (check.stdout .. check.stderr):gsub("%s+$", ""))
  end
  for _, name in ipairs(daemons_of(frr)) do
    local log = RUN .. "/" .. name .. ".log"
    local d = daemon.spawn(node, name, { M.LIBDIR .. "/" .. name, "-P", "0", "-i", RUN .. "/" .. name .. ".pid",
      "--log", "file:" .. log }, log, push, PACKAGE)
    daemon.wait_ready(d, function()
      return daemon.exec(node, { "test", "-S", RUN .. "/" .. name .. ".vty" }).ok
    end)
  end
  local boot = daemon.exec(node, { "vtysh", "-b" }, { timeout = 30 })
  if not boot.ok then
    daemon.fail(node._daemons.zebra, E.EIO, "vtysh -b could not load the config", boot.stdout .. boot.stderr)
  end
end

--- Runs a vtysh command against this router's FRR; output of a command
-- ending in `json` is decoded (`nslab.json`).
-- @tparam string cmd the command ("show ip ospf neighbor json")
-- @treturn string|table vtysh's output, or the decoded JSON
-- @raise argument error when cmd is not a string; EINVAL error object with
-- vtysh's message when FRR refuses the command, or when the router runs
-- no FRR or the lab is closed; ENOENT naming Debian frr when vtysh is
-- missing; EBADMSG when `json` output does not decode
-- @usage print(r1:vtysh "show ip route")
-- for addr, n in pairs(r1:vtysh("show ip ospf neighbor json").neighbors) do print(addr) end
function Node:vtysh(cmd)
  if type(cmd) ~= "string" then opts_mod.argerror("node:vtysh", 1, "string expected, got " .. type(cmd)) end
  daemon.get(self, "node:vtysh", "zebra")
  opts_mod.need("node:vtysh", q(self.name), "vtysh", PACKAGE)
  local r = daemon.exec(self, { "vtysh", "-c", cmd })
  if not r.ok or r.stdout:find("^%% ") then
    raise("node:vtysh", q(self.name), E.EINVAL, string.format("%s: %s", cmd, (r.stdout .. r.stderr):gsub("%s+$", "")))
  end
  if cmd:match("json%s*$") then
    local ok, t = pcall(json.decode, r.stdout)
    if not ok then
      raise("node:vtysh", q(self.name), E.EBADMSG,
        string.format("%s: output is not JSON: %s", cmd, r.stdout:sub(1, 200)))
    end
    return t
  end
  return r.stdout
end

--- Installs `node:vtysh`.
-- @tparam table _ the lab's metatable (unused)
-- @tparam table node_class the node's metatable
function M.install(_, node_class)
  for k, f in pairs(Node) do node_class[k] = f end
end

return M
