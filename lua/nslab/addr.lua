--- nslab.addr: IPv4 and IPv6 addresses on links, over rtnetlink
-- (RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR), as `ip address` sets them.
--
-- Every function takes the namespace as `netns` in its option table (a
-- name from `nslab.netns.list()`; absent = the namespace nslab runs in)
-- and raises on failure, never returning `nil, err`. Input is checked
-- before anything is touched: the address is parsed with inet_pton(3)
-- as `"10.0.0.1/24"` or `"fd00::1/64"`; a missing `/prefixlen` means 32
-- (IPv4) or 128 (IPv6); prefixlen is 0..32 or 0..128. Bad input raises an
-- error object with code `EINVAL`; unknown option fields and wrong types
-- raise an argument error. Kernel refusals raise the error object with
-- the kernel's errno and extack text, e.g.
-- `addr.add 10.0.0.1/24 dev eth0 in netns "red": File exists: the address is already on eth0 (EEXIST)`.
-- All need CAP_NET_ADMIN (root, or `nslab --rootless`).
--
-- An address table, as `list` and `add` return it:
--
-- * `ifname`, `ifindex`: the link it is on,
-- * `family` (`"inet"` or `"inet6"`), `address` (text, no prefixlen),
--   `prefixlen` (bits),
-- * `scope`: `"global"`, `"site"`, `"link"`, `"host"`, `"nowhere"` (or
--   the number),
-- * `tentative` (IPv6 duplicate address detection still running: the
--   address cannot be bound yet), `dadfailed` (another node has it: the
--   address stays unusable), `deprecated`, `nodad`, `noprefixroute`,
--   `permanent` (booleans, from the 32-bit IFA_FLAGS),
-- * `broadcast` (IPv4, when set), `peer` (point-to-point peer, when set),
--   `label` (IPv4 label, when it differs from `ifname`).
-- @module nslab.addr
local core = require("nslab.core").addr

local M = {}

--- Adds an address to a link.
-- One RTM_NEWADDR with NLM_F_CREATE|NLM_F_EXCL. IPv4 gets a broadcast
-- address as `ip addr add ... brd +` gives it (host bits set; none for
-- /31 and /32) and scope host for 127.0.0.0/8, global otherwise.
--
-- IPv6 and duplicate address detection (RFC 4862; pitfall P2): a new
-- IPv6 address is `tentative` until DAD ends, and cannot be bound or
-- pinged from meanwhile. Unless `nodad` or `wait = false`, when the link
-- is up with carrier `add` waits for the outcome, polling RTM_GETADDR
-- until a deadline taken from the link's own settings (rtr_solicit_delay
-- + dad_transmits x retrans_time, plus 1 s; about 3 s by default), and
-- raises if another node already has the address. The dadfailed address
-- is then left in place, as the kernel keeps it, for `list` to show and
-- `del` to remove. On a link that is down or without carrier DAD starts
-- only when carrier comes, so `add` returns at once with
-- `tentative = true`. `nodad = true` makes the address usable at once
-- (IFA_F_NODAD), the usual choice in labs.
-- @tparam string ifname link name (1..15 bytes)
-- @tparam string address `"10.0.0.1/24"`, `"fd00::1/64"`, or an address
--   alone for /32 or /128
-- @tparam[opt] table opts
-- @tparam[opt] string opts.netns namespace (nil: nslab's own)
-- @tparam[opt] string|boolean opts.broadcast IPv4 only: an address, or
--   false for none (default: computed as `brd +`)
-- @tparam[opt=false] boolean opts.nodad IPv6 only: skip DAD
-- @tparam[opt=true] boolean opts.wait IPv6: wait for DAD's outcome
-- @tparam[opt] string|integer opts.scope IPv4 only (the kernel derives
--   IPv6 scope from the address): `"global"`, `"site"`, `"link"`,
--   `"host"`, `"nowhere"` or 0..255
-- @tparam[opt] string opts.peer point-to-point peer address (no prefixlen;
--   the prefixlen of `address` then applies to the peer)
-- @tparam[opt] string opts.label IPv4 only: label starting with ifname
-- @tparam[opt=false] boolean opts.noprefixroute add no prefix route
-- @treturn table the address table (see above); for IPv6 its `tentative`
--   is the state after waiting
-- @raise EINVAL bad address, prefixlen, ifname, netns name or option
--   value; ENOENT no such netns; ENODEV no such link; EEXIST the address
--   is already on the link; EADDRNOTAVAIL duplicate address detected;
--   ETIMEDOUT still tentative at the deadline; EPERM without privilege.
-- @usage nslab.addr.add("eth0", "10.0.0.1/24", {netns = "red"})
-- nslab.addr.add("eth0", "fd00::1/64", {netns = "red", nodad = true})
M.add = core.add

--- Removes an address from a link.
-- One RTM_DELADDR for exactly that address and prefixlen.
-- @tparam string ifname link name
-- @tparam string address `"10.0.0.1/24"` (without `/len`: /32 or /128)
-- @tparam[opt] table opts `netns` (nil: nslab's own)
-- @raise EADDRNOTAVAIL the link has no such address; ENODEV no such link;
--   ENOENT no such netns; EINVAL bad input.
-- @usage nslab.addr.del("eth0", "10.0.0.1/24", {netns = "red"})
M.del = core.del

--- Lists addresses, in the kernel's order (a RTM_GETADDR dump).
-- @tparam[opt] table opts
-- @tparam[opt] string opts.netns namespace (nil: nslab's own)
-- @tparam[opt] string opts.ifname only this link's addresses
-- @tparam[opt] string opts.family `"inet"` or `"inet6"` only
-- @treturn {table,...} array of address tables (see above)
-- @raise ENODEV no such link; ENOENT no such netns.
-- @usage for _, a in ipairs(nslab.addr.list{netns = "red", family = "inet6"}) do
--   print(a.ifname, a.address .. "/" .. a.prefixlen, a.tentative)
-- end
M.list = core.list

--- Waits until no IPv6 address on the given links is tentative (those
-- that failed DAD, `dadfailed`, aside). Where DAD is off (accept_dad 0,
-- as in every lab host and router) the kernel still marks a new
-- link-local address tentative until its addrconf work runs, a moment
-- after the link came up; until then nothing can be sent from it
-- (pitfall P2). `lab:link` and `lab:apply` wait this out for the links
-- they make. RTM_GETADDR dumps, polled (0.2 ms, doubling to 10 ms).
-- @tparam table opts `netns` (nil: nslab's own), `ifindexes` (1 to 65536
--   ifindexes, integers), `timeout` (seconds, default 0.25, at most 60)
-- @treturn boolean true when none is tentative; false at the timeout or
--   when a signal interrupted the wait
-- @raise ENOENT for a missing netns; argument errors for bad fields
-- @usage nslab.addr.settle{netns = "red", ifindexes = {2}}
M.settle = core.settle

return M
