--- nslab.sysctl: kernel parameters (sysctl(8)) of a network namespace.
--
-- The `/proc/sys` file is opened inside the namespace (setns there and
-- straight back, error or not) and read or written from nslab, so the
-- value is that namespace's own and the caller's is never touched. Most
-- of `net.*` is per namespace and starts at the kernel's defaults in a
-- new one, whatever the host has: `net.ipv4.ip_forward` is 0 in every new
-- netns (pitfall P7), so a router must set it.
--
-- Only `net.*` keys belong to a network namespace. The others
-- (`kernel.hostname`, `kernel.domainname`, `vm.*`, `fs.*`) are the UTS or
-- IPC namespace's or the whole machine's whatever netns the file is opened
-- in, so with a netns named they are refused (EINVAL, "kernel.hostname is
-- not per network namespace: only net.* keys can be set for a netns"),
-- for `get` as for `set`: a lab host's sysctls never change the machine.
-- With netns nil the key is nslab's own namespaces' as `sysctl(8)` would
-- see it, and any key may be read or written (root's business, as with
-- `sysctl -w`).
--
-- Keys are written as sysctl(8) takes them: `"net.ipv4.ip_forward"`, or
-- with slashes when a part holds dots (a VLAN interface):
-- `"net/ipv4/conf/eth0.100/forwarding"`. Empty parts, `.` and `..` parts,
-- whitespace and control characters are refused (EINVAL) so a key never
-- leaves `/proc/sys`.
-- @module nslab.sysctl
local core = require("nslab.core").sysctl

local M = {}

--- Reads a sysctl in a namespace.
-- @tparam string|nil netns namespace name (nil: nslab's own)
-- @tparam string key e.g. `"net.ipv4.ip_forward"`
-- @treturn string the value, trailing newline removed (`"0"`, or
--   `"4096\t131072\t6291456"` for several numbers)
-- @raise ENOENT no such sysctl, or no such netns; EISDIR the key names a
--   directory; EINVAL a bad key or netns name, a NUL byte, or a key other
--   than `net.*` with a netns; EPERM when entering another netns without
--   CAP_SYS_ADMIN.
-- @usage print(nslab.sysctl.get("red", "net.ipv4.ip_forward"))
M.get = core.get

--- Writes a sysctl in a namespace, in one write(2) as `sysctl -w` does.
-- Needs root (CAP_NET_ADMIN in the namespace's owner user namespace for
-- `net.*`, CAP_SYS_ADMIN to enter another netns).
-- @tparam string|nil netns namespace name (nil: nslab's own)
-- @tparam string key e.g. `"net.ipv6.conf.all.forwarding"`
-- @tparam string|number value written as text
-- @raise EINVAL the kernel refused the value, a bad key, a NUL byte in
--   key or value, or a key other than `net.*` with a netns (nothing is
--   written); ENOENT no such sysctl or netns; EACCES a read-only sysctl.
-- @usage nslab.sysctl.set("red", "net.ipv4.ip_forward", 1)
M.set = core.set

return M
