--- nslab.link: network links (veth pairs, bridges, vxlan, macvlan, ...)
-- inside network namespaces, over rtnetlink.
--
-- Every function takes the namespace as `netns` (a name from
-- `nslab.netns.list()`; absent = the namespace nslab runs in) and raises on
-- failure, never returning `nil, err`. Kernel refusals raise an nslab error
-- object (`op`, `object`, `netns`, `errno`, `code`, `msg`, `extack`);
-- misuse (wrong types, unknown option fields) raises an argument error.
-- Names are checked before anything is touched, each giving an EINVAL
-- error object: interface names (every name, peer, rename and master) are
-- 1..15 bytes without `/`, `:` or whitespace and are never truncated
-- (`interface name "..." is 16 bytes (max 15)`: pitfall P5, where the
-- kernel would give three different cryptic errors); mtu must be
-- 68..65535 (IPv4's minimum, RFC 791, to Ethernet's maximum; the
-- kernel may narrow it further for a kind, and its extack text is passed
-- on); MAC addresses are unicast `"xx:xx:xx:xx:xx:xx"`; vxlan addresses
-- are parsed with inet_pton(3). A refused call leaves nothing half-made.
-- All need CAP_NET_ADMIN and CAP_SYS_ADMIN (root, or `nslab --rootless`).
--
-- A link table, as `get`, `list`, `add` and `veth` return it:
--
-- * `name`, `ifindex`, `kind` (`"veth"`, `"bridge"`...; nil for `lo`),
-- * `mtu`, `min_mtu`, `max_mtu` (bytes), `address`, `broadcast` (MAC),
-- * `up` (IFF_UP set: administratively up), `flags` (array, iproute2's
--   spelling: `"UP"`, `"LOWER_UP"`, `"BROADCAST"`...), `carrier`,
-- * `operstate`, as iproute2 prints it: `"UP"`, `"DOWN"`,
--   `"LOWERLAYERDOWN"`, `"UNKNOWN"`, `"DORMANT"`, `"TESTING"`,
--   `"NOTPRESENT"` (a veth is `"UP"` only once both ends are up; bridges
--   and `lo` report `"UNKNOWN"` when up),
-- * `master` (ifname of the bridge it is a port of) and `master_ifindex`,
--   `port_kind` (`"bridge"` for a bridge port),
-- * `peer_ifindex` (veth: the other end's ifindex, in its own namespace),
--   `link_ifindex` (parent of a macvlan/vlan/ipvlan), `link_netnsid` (the
--   nsid, as seen from this netns, of the namespace those live in),
-- * `netns` (the name asked for; nil for nslab's own namespace).
--
-- Note (pitfall P1): a new netns has `lo` down; `get("lo", {netns=...})`
-- shows `up == false` and `operstate == "DOWN"` until someone sets it up
-- (lab hosts do).
-- @module nslab.link
local core = require("nslab.core").link

local M = {}

--- Creates a veth pair with each end directly in its namespace.
-- One RTM_NEWLINK carries both ends (IFLA_NET_NS_FD for each, the peer's
-- own ifinfomsg inside VETH_INFO_PEER): the kernel makes both or neither,
-- and nothing is created then moved. With `up = true` the first end is
-- set up in that request and the peer by one more RTM_NEWLINK (the kernel
-- cannot open a veth end before its peer exists), batched into the same
-- sendmsg when both ends share a namespace; if the peer fails to come up
-- the pair is removed before the error is raised.
-- @tparam table opts
-- @tparam string opts.name first end's ifname (required)
-- @tparam string opts.peer other end's ifname (required)
-- @tparam[opt] string opts.netns namespace of the first end (nil: nslab's)
-- @tparam[opt] string opts.peer_netns namespace of the peer; absent means
--   the same as `netns` (to put only the peer elsewhere, give
--   `peer_netns`; to keep one end in nslab's own namespace, make it the
--   first end and leave `netns` out)
-- @tparam[opt] integer opts.mtu mtu of both ends, bytes, 68..65535
-- @tparam[opt] string opts.address MAC of the first end (random if nil)
-- @tparam[opt] string opts.peer_address MAC of the peer (random if nil)
-- @tparam[opt=false] boolean opts.up set both ends up
-- @tparam[opt=1] integer opts.queues transmit and receive queues of each
--   end, 1..4096. One by default: the kernel would give a veth one per CPU,
--   and each queue costs an RCU grace period when the pair is made and
--   removed, which slows large labs. Ask for more for multi-queue XDP.
-- @treturn table the first end's link table (see above), with `peer`
--   (ifname), `peer_ifindex` and `peer_netns` added
-- @raise EEXIST when either name is taken where it would go; EINVAL for a
--   bad ifname, netns name, mtu, MAC or queues; ENOENT when a netns does not
--   exist; EPERM without CAP_NET_ADMIN. Nothing is left behind.
-- @usage nslab.link.veth{name = "eth0", netns = "red",
--   peer = "eth0", peer_netns = "blue", mtu = 1400, up = true}
M.veth = core.veth

--- Creates a link of another kind than veth.
-- One RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL) in `netns`, read back in the
-- same sendmsg. Common fields: `name` (required), `kind` (required),
-- `netns`, `mtu`, `address`, `up`. Kind fields:
--
-- * `"bridge"`: `stp`, `vlan_filtering`, `mcast_snooping` (booleans).
-- * `"vxlan"`: `id` (VNI 0..16777215, required), `remote` (unicast IPv4
--   or IPv6) or `group` (multicast), `local`, `dstport` (default 4789,
--   the IANA port, where the kernel alone would use Linux's old 8472),
--   `dev` (ifname of the underlay link), `ttl` (0..255), `learning`.
-- * `"macvlan"`: `link` (parent ifname in the same netns, required),
--   `mode` (`"private"`, `"vepa"` (kernel default), `"bridge"`,
--   `"passthru"`, `"source"`).
-- * `"ipvlan"`: `link` (required), `mode` (`"l2"`, `"l3"`, `"l3s"`).
-- * `"vlan"`: `link` (required), `id` (0..4095, required), `protocol`
--   (`"802.1Q"` or `"802.1ad"`).
-- * `"tun"`, `"tap"`: common fields only. The kernel refuses these over
--   rtnetlink, so they are made through `/dev/net/tun` opened inside the
--   netns (TUNSETIFF, no packet-info header, then TUNSETPERSIST so the
--   device outlives the call), then set up as asked; a refusal then
--   removes the device again. Owned by root; listed with kind `"tun"`
--   for both (`ip -d link` shows the type). They go with their netns.
--   `/dev/net/tun` is root's: rootless nslab cannot make them (EACCES,
--   and `kind_available` says false with the reason).
-- * `"ifb"`, `"dummy"` and any other kind name: common fields only.
-- * `"veth"`: passed on to `veth` (fields as there, without `kind`).
--
-- Unknown fields are errors. A kernel without the kind answers "Unknown
-- device type"; the error then says the kernel has no such link kind and
-- which kernel option and module provide it:
--
--     link.add "d0" in netns "x": Operation not supported: this kernel has
--     no link kind "dummy" (needs CONFIG_DUMMY, module dummy) (EOPNOTSUPP)
--
-- Use `kind_available` to test first. (The CI kernel has veth, bridge
-- without CONFIG_BRIDGE_VLAN_FILTERING, vxlan, macvlan and ifb, but no
-- `dummy`, `vlan` (8021q) or `ipvlan`. `tun` exists but the kernel refuses
-- to create it over rtnetlink, and nslab does not do the /dev/net/tun
-- ioctl yet.)
-- @tparam table opts see above
-- @treturn table the new link's table (see above)
-- @raise EOPNOTSUPP when the kernel lacks the kind; EEXIST when the name
--   is taken; ENODEV when `link`/`dev` does not exist; EINVAL for bad
--   names, mtu, MAC or addresses, or the kernel's refusal (with extack).
-- @usage local br = nslab.link.add{name = "br0", kind = "bridge",
--   netns = "sw", stp = false, up = true}
M.add = core.add

--- Changes a link: up/down, mtu, MAC, bridge port, name, namespace.
-- One RTM_NEWLINK on the link's ifindex (read first, as is the master's).
-- The kernel moves the link first (`netns_to`, taking `name` as its name
-- there), then applies the rest, IFF_UP last, so
-- `{netns_to = "red", name = "eth1", up = true}` lands renamed and up.
-- A link moved to another namespace goes down and loses its addresses
-- and master, as with `ip link set netns`.
-- @tparam string name ifname of the link
-- @tparam table changes any of: `up` (boolean), `mtu` (bytes, 68..65535),
--   `address` (MAC), `master` (ifname of a bridge in the same netns),
--   `nomaster` (true: leave the bridge), `name` (new ifname),
--   `netns_to` (namespace name to move it to)
-- @tparam[opt] table opts `netns` where the link is now
-- @raise ENODEV when the link or the master does not exist; EEXIST when
--   the new name is taken; ENOENT for a missing netns; EINVAL for bad
--   names, mtu or MAC (checked before anything changes).
-- @usage nslab.link.set("eth0", {up = true, mtu = 9000}, {netns = "red"})
M.set = core.set

--- Deletes a link (RTM_DELLINK). Deleting either end of a veth deletes
-- both; deleting a bridge releases its ports.
--
-- The kernel finishes a deletion only after an RCU grace period (some
-- 20 ms, in the deleting task). With `wait = false` the call returns at
-- once (about 0.2 ms): the link, and a veth's peer in the same netns or
-- in `peer_netns`, is set down and renamed `nsx` followed by 12
-- random hex digits (so its name is free for a new link at once; a peer
-- elsewhere keeps its name until the deletion ends), and a background
-- child of nslab deletes it. A link of no kind (`lo`, a device of the
-- machine) is refused as the waiting call refuses it, changing nothing.
-- `link.settle` waits for those children; `lab:close` and the end of
-- nslab do.
-- @tparam string name ifname
-- @tparam[opt] table opts `netns`; `wait` (boolean, default true: false
--   deletes in the background as above); `peer_netns` (the netns of a
--   veth's peer, the link's own included: checked to hold it, nothing
--   deleted when it does not; with `wait = false`, that peer is renamed
--   too)
-- @raise ENODEV when there is no such link ("no such link"); ENOENT for a
--   missing netns (or `peer_netns`, named as such); EINVAL for a bad
--   ifname, a `peer_netns` that does not hold the veth's peer, or one
--   given for a link that is no veth; EOPNOTSUPP for `lo`.
-- @usage nslab.link.del("br0", {netns = "sw"})
-- @usage nslab.link.del("eth1", {netns = "red", wait = false, peer_netns = "blue"})
M.del = core.del

--- Waits for the deletions `link.del{wait = false}` left running.
-- @treturn integer how many ended since the last `settle` (those that
--   ended earlier included)
-- @treturn integer how many of them the kernel refused (their links
--   stay, down and renamed, until their netns goes)
-- @usage nslab.link.settle()
M.settle = core.settle

--- One link's table (see above), from RTM_GETLINK.
-- @tparam string|integer name ifname, or ifindex
-- @tparam[opt] table opts `netns`
-- @treturn table link table
-- @raise ENODEV when there is no such link; ENOENT for a missing netns.
-- @usage assert(not nslab.link.get("lo", {netns = "red"}).up) -- P1
M.get = core.get

--- Every link of a namespace, in ifindex order (one RTM_GETLINK dump).
-- @tparam[opt] table opts `netns`
-- @treturn {table,...} array of link tables (see above)
-- @raise ENOENT for a missing netns.
-- @usage for _, l in ipairs(nslab.link.list{netns = "red"}) do
--   print(l.name, l.kind, l.operstate) end
M.list = core.list

local kinds = {}

--- Whether this kernel can make links of a kind.
-- For `"tun"` and `"tap"` it is whether `/dev/net/tun` opens (they are
-- made through it, see `add`). For other kinds, the first call asks the
-- kernel to create one in a scratch
-- network namespace that vanishes right after (nothing is left in any
-- namespace); the answer is cached for the life of the process.
-- @tparam string kind `"bridge"`, `"vxlan"`, `"dummy"`...
-- @treturn boolean true when the kernel has the kind
-- @treturn ?string when false: which kernel option and module provide it,
--   e.g. this kernel has no link kind "dummy" (needs CONFIG_DUMMY, module
--   dummy)
-- @raise EPERM without CAP_NET_ADMIN/CAP_SYS_ADMIN.
-- @usage if not nslab.link.kind_available("dummy") then ... end
function M.kind_available(kind)
  local k = kinds[kind]
  if not k then
    local ok, why = core.kind_available(kind)
    k = { ok, why }
    kinds[kind] = k
  end
  return k[1], k[2]
end

return M
