--- nslab.nodens: what each lab node gets besides its network namespace.
--
-- Every node (host, router, bridge) gets its own UTS namespace, whose
-- hostname is the node's name (or `hostname =`), and a lab-wide
-- /etc/hosts: every command run in the node (`node:run`, `node:spawn`,
-- `node:ping`, the REPL's node commands, `nslab.exec` in its netns) joins
-- both, so `hostname` and `uname -n` print the node's hostname and
-- `ping blue` finds blue's addresses (IPv4 and IPv6). Both live in the
-- netns's cache entry of `nslab.exec` (`nslab.exec.node`): nothing is
-- made on any file system, and both go with the node's netns.
--
-- `dirs = {"/var/run/x", "/etc/x"}` gives the node private writable
-- directories: a fresh tmpfs on each (which must exist) in the node's
-- mount namespace, seen by its commands only. Their contents are lost if
-- that namespace is made again (when /etc/netns/NAME changes).
--
-- `ipc = true` gives the node its own IPC namespace (System V IPC, POSIX
-- message queues); `time = {monotonic = s, boottime = s}` its own time
-- namespace with those clocks moved by s seconds (fractions kept; the
-- kernel refuses, ERANGE, an offset that would make a clock negative).
-- Commands in a node with `time` start with a fork rather than a
-- vfork-like clone (setns into a time namespace requires it).
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

--- The hostname a node gets: opts.hostname (checked), else its name as
-- it is (the kernel takes any 1..64 bytes: a name such as "h_1" stays
-- usable; only `hostname =` is held to RFC 1123).
-- A node name over 64 bytes (names may have 200) gives its first 64 bytes:
-- node names keep working as before hostnames existed.
-- @raise EINVAL error object naming the node when `hostname` is not a
-- hostname
function M.hostname(op, name, opts)
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

--- Sets up a new node's UTS namespace and hosts file (called by
-- Node:_setup, before the node is listed in the lab).
function M.setup(node, opts)
  local lab = node.lab
  -- lab:apply writes the hosts file of every node once, at its end
  local hosts = lab._hosts_held and "" or M.hosts_text(lab)
  if lab._hosts_held then lab._hosts_dirty = true end
  Exec.node(node.netns, { hostname = node.hostname, hosts = hosts, dirs = opts.dirs,
    ipc = opts.ipc, time = opts.time })
end

--- Rewrites every node's /etc/hosts (after a link or an address was added).
function M.refresh(lab)
  local text = M.hosts_text(lab)
  for _, node in ipairs(lab.nodes) do Exec.node(node.netns, { hosts = text }) end
end

return M
