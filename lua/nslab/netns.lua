--- nslab.netns: named network namespaces, the ip-netns(8) way.
--
-- A named netns is a bind mount of the namespace's nsfs inode at
-- `/run/netns/NAME`, with `/run/netns` a shared mount as `ip netns add`
-- leaves it, so `ip netns list`, `ip netns exec NAME` and `ip -n NAME` see
-- nslab's namespaces and nslab sees theirs. Names follow iproute2's rule
-- (pitfall P4): non-empty, not `.` or `..`, no `/`, at most 255 bytes;
-- anything else raises EINVAL before any filesystem call, and a name is
-- never rewritten. A new netns has only `lo`, and it is DOWN with no
-- 127.0.0.1 or ::1 until brought up (pitfall P1), and `ip_forward` is 0
-- whatever the host has (pitfall P7): the primitives keep the kernel's
-- semantics, and lab hosts fix both (`lab:host`, `lab:router`).
--
-- nslab keeps one rtnetlink socket per namespace, opened inside it when it
-- is created or first used, so later calls need no namespace switch.
-- All functions except `list` and `exists` need CAP_SYS_ADMIN and
-- CAP_NET_ADMIN (root, or `nslab --rootless`).
-- @module nslab.netns
local core = require("nslab.core").netns

local M = {}

--- Creates a named network namespace.
-- unshare(2) CLONE_NEWNET in the calling thread, a bind mount of it at
-- /run/netns/NAME, its rtnetlink socket opened while inside, then back to
-- nslab's own namespace, error or not.
-- @tparam string name netns name (1..255 bytes, no `/`, not `.`/`..`)
-- @tparam[opt] table opts `on_create`: function(dev, ino) called with the
--   new namespace's identity (see `id`) once it exists and before it has
--   its name, so a caller records it before it can outlive the caller; if
--   it raises, the namespace is never named and its error is raised
-- @treturn integer dev, the new namespace's identity (as `id`)
-- @treturn integer ino
-- @raise EINVAL invalid name; EEXIST the name is taken (nothing changed);
--   EPERM without CAP_SYS_ADMIN.
-- @usage nslab.netns.add("red")
M.add = core.add

--- Deletes a named network namespace.
-- Detaches the mount at /run/netns/NAME, again while mounts are stacked on
-- it (pitfall P6), then removes the file. The namespace itself ends when
-- its last process or open fd goes.
-- @tparam string name netns name
-- @tparam[opt] table id {dev = , ino = } as `id` gave them: delete only
--   when the name still holds that namespace
-- @raise EINVAL invalid name; ENOENT no such netns; ESTALE the name holds
--   another namespace than id (nothing changed); EBUSY the path stays
--   busy (the message names it: the name is still there).
-- @usage nslab.netns.del("red")
M.del = core.del

--- The identity of a named network namespace: the device and inode of
-- its nsfs inode (what stat(2) says of /run/netns/NAME and of
-- /proc/PID/ns/net for every process inside it). A name deleted and made
-- again, by anyone, names another identity: labs record it at creation and
-- delete only what still has it (`del`'s second argument).
-- @tparam string name netns name
-- @treturn integer|nil dev (st_dev); nothing when the name does not exist
-- @treturn integer ino (st_ino)
-- @raise EINVAL invalid name, or /run/netns/NAME is a symlink or no
--   network namespace (a plain file).
-- @usage local dev, ino = nslab.netns.id("red")
M.id = core.id

--- Removes /run/netns/NAME when it is only the empty file `netns.add`
-- (and `ip netns add`) creates before mounting the namespace on it: what a
-- process killed between the two leaves. Anything else there is left.
-- @tparam string name netns name
-- @treturn boolean whether such a file was there and is gone
-- @raise EINVAL invalid name.
-- @usage nslab.netns.del_placeholder("red")
M.del_placeholder = core.del_placeholder

--- Lists the named network namespaces.
-- @treturn {string,...} the names in /run/netns, sorted bytewise (those
--   made by `ip netns add` included)
-- @usage for _, name in ipairs(nslab.netns.list()) do print(name) end
M.list = core.list

--- Whether a name is taken in /run/netns.
-- @tparam string name netns name
-- @treturn boolean
-- @raise EINVAL invalid name.
M.exists = core.exists

--- The processes living in named network namespaces, found as
-- `ip netns pids` finds them: /proc/PID/ns/net is the nsfs inode bound at
-- /run/netns/NAME. A process that entered the netns by `setns`, or
-- daemonised out of a command run there, counts; zombies hold no netns
-- and do not; nslab itself never counts.
-- @tparam string|{string,...} names one netns name or an array of them;
--   names that do not exist are skipped (they hold no process)
-- @treturn {integer,...} pids, in /proc order
-- @raise EINVAL invalid name; an error object when /proc cannot be read.
-- Needs to see other processes' /proc/PID/ns (root, or `nslab --rootless`).
-- @usage print(#nslab.netns.pids("red"))
M.pids = core.pids

--- Signals every process living in named network namespaces (as `pids`
-- finds them). Each is signalled through a pidfd opened and checked to be
-- in the namespace first, so a pid reused meanwhile is never hit.
-- @tparam string|{string,...} names netns name(s); missing ones skipped
-- @tparam[opt="SIGKILL"] string signal "SIGKILL", "SIGTERM", "SIGINT" or
--   "SIGHUP"
-- @treturn integer how many processes were signalled
-- @raise EINVAL invalid name; argument error for another signal.
-- Needs CAP_KILL over them (root, or `nslab --rootless` for its own).
-- @usage nslab.netns.kill({"red", "blue"}, "SIGTERM")
M.kill = core.kill

return M
