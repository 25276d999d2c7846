--- nslab.nodens: what each lab node gets besides its network namespace.
--
-- Every node (host, router, bridge) gets its own UTS namespace, whose
-- hostname is the node's name (or `hostname =`), and a lab-wide
-- /etc/hosts: every command run in the node (`node:run`, `node:spawn`,
-- `node:ping`, the REPL's node commands, `nslab.exec` in its netns) joins
-- both, so `hostname` and `uname -n` print the node's hostname and
-- `ping blue` finds blue's addresses (IPv4 and IPv6). Both live in the
-- netns's cache entry of `nslab.exec` (`nslab.exec.node`): nothing is
-- made on any file system, and both go with the node's netns. The hosts
-- text is made when read: a link or an address marks it changed, the
-- next command starting in a node reads it (and nodes where commands
-- ran get it rewritten at once), so building n nodes costs no hosts
-- file at all, where rewriting it in every node at each link was O(n²).
--
-- `dirs = {"/var/tmp", "/srv"}` gives the node private writable
-- directories: a fresh tmpfs on each (which must exist: nslab makes
-- nothing on the host's file systems; /, /dev, /proc, /sys and what is
-- under /proc and /sys are refused) in the node's mount namespace, seen
-- by its commands only. Their contents are lost if
-- that namespace is made again (when /etc/netns/NAME changes).
--
-- `ipc = true` gives the node its own IPC namespace (System V IPC, POSIX
-- message queues); `time = {monotonic = s, boottime = s}` its own time
-- namespace with those clocks moved by s seconds (fractions kept; the
-- kernel refuses, ERANGE, an offset that would make a clock negative).
-- Commands in a node with `time` start with a fork rather than a
-- vfork-like clone (setns into a time namespace requires it).
--
-- `pid = true` gives the node its own PID namespace: a small init
-- (`nslab-init`, pid 1 there, a copy of nslab that reaps orphans and
-- exits on SIGTERM) is started in the node's netns, and every command of
-- the node starts as a process of that namespace, with a /proc of it
-- mounted in the node's mount namespace: `ps` in the node lists the
-- node's processes only. The init is owned by the lab like a spawned
-- command (`node.init`, a proc): close and `nslab --clean` end it, and
-- with it every process of the namespace (the kernel kills them when pid
-- 1 ends). Ended by hand, the node takes no new command (ENOMEM, "its
-- init has ended"). Commands see their parent as pid 0: nslab, which
-- waits for them, is outside. The init joins every namespace of the node,
-- so `nsenter --target PID --all` with its pid enters the node; its mount
-- namespace is the one made with the node (made again for commands when
-- /etc/netns/NAME changes, the init keeps the first).
--
-- `cgroup = {cpu =, memory =, pids =}` puts every command of the node in
-- a cgroup v2 of its own with those limits (`nslab.cgroup`; the node's
-- directory is `node.cgroup`).
-- @module nslab.nodens

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local Exec = require "nslab.exec"

local E = core.errno

local M = {}

local function q(s) return string.format("%q", s) end

local function raise(op, object, why)
  error(core.error { op = op, object = object, errno = E.EINVAL, extack = why }, 0)
end

--- Whether s is a hostname as RFC 1123 allows one: 1..64 bytes, dot-separated
-- labels of 1..63 letters, digits and hyphens, none starting or ending with
-- a hyphen.
-- @tparam string s
-- @treturn boolean
function M.is_hostname(s)
  if #s < 1 or #s > 64 then return false end
  for label in (s .. "."):gmatch("([^.]*)%.") do
    if #label < 1 or #label > 63 or label:find("[^%w-]") or label:find("^%-") or label:find("%-$") then
      return false
    end
  end
  return true
end

-- The kernel's views every command of a node needs: a tmpfs on them (or,
-- for /proc and /sys, under them) would hide them.
local NOT_PRIVATE = { ["/"] = true, ["/proc"] = true, ["/sys"] = true, ["/dev"] = true }

-- The node's `dirs`: strings, absolute paths without "..", not a
-- kernel view, and an existing directory as nslab sees it (the node's
-- mount namespace starts as a copy of nslab's). Nothing is made on the
-- host's file systems, so a missing one is refused, not created.
local function check_dirs(op, name, dirs)
  for i, d in ipairs(dirs or {}) do
    if type(d) ~= "string" then
      require("nslab.opts").argerror(op, 2, string.format("field 'dirs' must hold strings, not %s (entry %d)",
        type(d), i))
    end
    if d:sub(1, 1) ~= "/" or d:find("%z") or ("/" .. d .. "/"):find("/%.%./") then
      raise(op, q(name), string.format("dirs entries must be absolute paths without \"..\" (got %q)", d))
    end
    local norm = d:gsub("/+", "/"):gsub("(.)/$", "%1")
    if NOT_PRIVATE[norm] or norm:find("^/proc/") or norm:find("^/sys/") then
      raise(op, q(name), string.format("dirs entry %q cannot be made private: a fresh tmpfs on /, /proc, "
        .. "/sys or /dev (or under /proc and /sys) would hide what every command of the node needs", d))
    end
    local f, _, errno = io.open(d .. "/.")
    if f then
      f:close()
    elseif errno == E.ENOENT or errno == E.ENOTDIR then
      error(core.error { op = op, object = q(name), errno = errno, extack = string.format(
        "dirs entry %q is not an existing directory (each gets a fresh tmpfs mounted on it; nslab makes "
        .. "nothing on the host's file systems: make it first, or pick one that exists, such as /var/tmp or "
        .. "/srv)", d) }, 0)
    end
  end
end

-- The node's `time`: a table of monotonic and boottime offsets, numbers
-- of seconds within +-1e9 (argument errors at the user's line of
-- lab:host, 5 levels up from here).
local function check_time(op, name, time)
  if time == nil then return end
  if type(time) ~= "table" then
    require("nslab.opts").argerror(op, 2, "field 'time' must be a table {monotonic =, boottime =}, not "
      .. type(time), 5)
  end
  for k, v in pairs(time) do
    if k ~= "monotonic" and k ~= "boottime" then
      require("nslab.opts").argerror(op, 2, string.format("field 'time' takes monotonic and boottime only, "
        .. "not '%s'", tostring(k)), 5)
    end
    if type(v) ~= "number" then
      require("nslab.opts").argerror(op, 2, string.format("field 'time.%s' must be a number (seconds), not %s",
        k, type(v)), 5)
    end
    require("nslab.opts").range(op, q(name), "time." .. k, v, -1e9, 1e9)
  end
end

--- The hostname a node gets: opts.hostname (checked), else its name as
-- it is (the kernel takes any 1..64 bytes: a name such as "h_1" stays
-- usable; only `hostname =` is held to RFC 1123).
-- A node name over 64 bytes (names may have 200) gives its first 64 bytes:
-- node names keep working as before hostnames existed.
-- @raise EINVAL error object naming the node when `hostname` is not a
-- hostname, a `dirs` entry is /, /dev, or /proc, /sys or under them, a
-- `time` offset is out of +-1e9 s or not finite; ENOENT/ENOTDIR when a
-- `dirs` entry is not an existing directory; argument error when `time`
-- is not a table of monotonic/boottime numbers
function M.hostname(op, name, opts)
  -- Checked with the other options, before anything is made: argument
  -- errors at the caller's line of lab:host (7 levels up from error).
  if opts.cgroup then require("nslab.cgroup").limits(op, q(name), opts.cgroup, 6) end
  require("nslab.daemon").check(op, name, opts)
  check_time(op, name, opts.time)
  check_dirs(op, name, opts.dirs)
  local h = opts.hostname
  if h ~= nil then
    if not M.is_hostname(h) then
      raise(op, q(name), string.format("hostname %q is not a hostname (1..64 bytes of RFC 1123 "
        .. "labels: letters, digits and '-', dot-separated, no '-' at either end of a label)", h))
    end
    return h
  end
  return name:sub(1, 64)
end

--- The lab's hosts file: localhost, then every address of every node with
-- the node's name (and its hostname when it differs), in node order.
-- @tparam lab lab
-- @treturn string
function M.hosts_text(lab)
  local out = { "# nslab lab " .. lab.name, "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback" }
  for _, node in ipairs(lab.nodes) do
    local names = node.name
    if node.hostname and node.hostname ~= node.name then names = names .. " " .. node.hostname end
    for _, a in ipairs(node._addrs) do out[#out + 1] = a.address .. "\t" .. names end
  end
  return table.concat(out, "\n") .. "\n"
end

-- The lab's hosts file as nslab.exec asks for it, before each command in
-- a node (`exec.node` with `hosts = fn`): the text is made again only
-- after a change (M.refresh), so a topology of n nodes costs O(n) per
-- change and nothing per node, not O(n) per node. Nodes asked once are
-- noted (`_hosts_live`): their file exists and is rewritten at each change.
local function source(lab)
  if not lab._hosts_fn then
    lab._hosts_live = {}
    lab._hosts_fn = function(netns)
      lab._hosts_live[netns] = true
      if not lab._hosts_text then lab._hosts_text = M.hosts_text(lab) end
      return lab._hosts_text
    end
  end
  return lab._hosts_fn
end

--- The function giving lab's hosts file to `nslab.exec.node` (`hosts =`):
-- every node of the lab gets the same, and reads the lab's text when a
-- command starts in it.
-- @tparam lab lab
-- @treturn function netns -> string
M.source = source

--- Sets up a new node's namespaces, hosts file and cgroup (called by
-- Node:_setup in the node's building step, before the node is listed in
-- the lab; push: the step's undo push). With `pid = true` the init is
-- owned by the lab (killed at close, recorded for `nslab --clean`) and
-- killed by a rollback of the step.
function M.setup(node, opts, push)
  local cg = opts.cgroup and require("nslab.cgroup").make(node, opts.cgroup, push)
  local init = Exec.node(node.netns, { hostname = node.hostname, hosts = source(node.lab), dirs = opts.dirs,
    ipc = opts.ipc, time = opts.time, pid = opts.pid or nil, cgroup = cg or nil })
  node.cgroup = cg
  if init then
    node.init = init
    node.lab:_own(init)
    push { what = "init of " .. node.name, covered = true, fn = function()
      init:kill("SIGKILL")
      init:wait()
    end }
  end
end

--- After a link or an address was added (or removed): the lab's hosts
-- text is made again when next asked for (a command starting in a node),
-- and rewritten at once in the nodes that have the file already (a
-- command ran there: running ones see the new text).
-- @tparam lab lab
function M.refresh(lab)
  lab._hosts_text = nil
  local fn, live = source(lab), lab._hosts_live
  if not next(live) then return end
  for _, node in ipairs(lab.nodes) do
    if live[node.netns] then Exec.node(node.netns, { hosts = fn }) end
  end
end

return M
