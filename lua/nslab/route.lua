--- nslab.route: IPv4 and IPv6 routes, over rtnetlink (RTM_NEWROUTE,
-- RTM_DELROUTE, RTM_GETROUTE), with the defaults `ip route` uses.
--
-- Every function takes one option table; `netns` names the namespace
-- (absent = the namespace nslab runs in). They raise on failure, never
-- returning `nil, err`: bad input raises an error object with code
-- `EINVAL` before anything is touched, unknown fields and wrong types an
-- argument error, kernel refusals the error object with the kernel's
-- errno and extack text, e.g.
--
--     route.add 10.9.0.0/24 via 10.99.0.1 in netns "red": Network is
--     unreachable: Nexthop has invalid gateway (ENETUNREACH)
--
-- add, replace and del need CAP_NET_ADMIN.
--
-- Route fields, as given to `add`/`replace`/`del` and returned by `list`:
--
-- * `dst`: `"default"` or `"10.1.0.0/24"`, `"fd00::/64"` (an address
--   alone means /32 or /128; `list` always shows the `/len`),
-- * `via`: gateway address; `dev`: ifname of the outgoing link,
-- * `src`: preferred source address (RTA_PREFSRC),
-- * `metric`: 0..4294967295 (IPv6 routes get 1024 from the kernel when
--   none is given),
-- * `table`: `"main"` (default), `"local"`, `"default"` or a number,
-- * `scope`: `"global"`, `"site"`, `"link"`, `"host"`, `"nowhere"` or
--   0..255 (default as `ip route`: link without `via`, global with it),
-- * `proto`: `"boot"` (default for add), `"static"`, `"kernel"`, `"ra"`,
--   `"dhcp"`, `"redirect"`, `"unspec"` or 0..255,
-- * `type`: `"unicast"` (default), `"blackhole"`, `"unreachable"`,
--   `"prohibit"`, `"local"`, `"broadcast"`, `"throw"`, ... or 0..255,
-- * `family`: `"inet"` or `"inet6"`; inferred from `dst`, `via` or `src`,
--   needed only for `dst = "default"` without any (then `"inet"`),
-- * `onlink`: the gateway is on the link even if no prefix says so.
-- @module nslab.route
local core = require("nslab.core").route

local M = {}

--- Adds a route.
-- One RTM_NEWROUTE with NLM_F_CREATE|NLM_F_EXCL; the kernel checks that
-- the gateway is reachable.
-- @tparam table r route fields (see above); `dst` is required
-- @raise EEXIST a route to that dst (table, metric) exists; ENETUNREACH
--   the gateway is unreachable; ENODEV no such dev; ENOENT no such netns;
--   EINVAL bad input (also from the kernel, e.g. host bits set in dst).
-- @usage nslab.route.add{netns = "red", dst = "default", via = "10.0.0.254"}
-- nslab.route.add{netns = "red", dst = "fd00:2::/64", via = "fd00::2", metric = 10}
M.add = core.add

--- Adds a route or replaces the one to the same dst (table, metric).
-- One RTM_NEWROUTE with NLM_F_CREATE|NLM_F_REPLACE.
-- @tparam table r route fields (see above); `dst` is required
-- @raise as `add`, without EEXIST.
-- @usage nslab.route.replace{netns = "red", dst = "default", via = "10.0.0.253"}
M.replace = core.replace

--- Deletes a route.
-- One RTM_DELROUTE. Fields not given match any route (proto, scope, type
-- and metric as `ip route del`); `table` defaults to main.
-- @tparam table r route fields (see above); `dst` is required
-- @raise ESRCH no such route; ENODEV no such dev; ENOENT no such netns;
--   EINVAL bad input.
-- @usage nslab.route.del{netns = "red", dst = "default"}
M.del = core.del

--- Lists routes (a RTM_GETROUTE dump; routes the kernel cached are left
-- out).
-- @tparam[opt] table opts
-- @tparam[opt] string opts.netns namespace (nil: nslab's own)
-- @tparam[opt] string opts.family `"inet"` or `"inet6"` only
-- @tparam[opt="main"] string|integer opts.table a table, or `"all"`
-- @tparam[opt] string opts.dev only routes out of this link
-- @treturn {table,...} array of route tables with `dst`, `family`,
--   `table`, `scope`, `proto`, `type` and, when set, `via`, `dev`,
--   `metric`, `src`, `onlink`
-- @raise ENOENT no such netns; ENODEV no such dev.
-- @usage for _, r in ipairs(nslab.route.list{netns = "red"}) do
--   print(r.dst, r.via or "", r.dev or "")
-- end
M.list = core.list

--- The route the kernel takes to one address, as `ip route get` asks it
-- (RTM_GETROUTE for one destination), and the neighbour state (ARP/NDP)
-- of its next hop (RTM_GETNEIGH), so "no route" and "no ARP answer" can
-- be told apart.
-- @tparam table q `netns` (nil: nslab's own), `dst` (an address, no
-- prefixlen)
-- @treturn table `dst`, `family`, `type` ("unicast", "local", ...) and,
--   when the kernel says, `dev`, `via`, `src`, `table`, `mtu` (a cached
--   path MTU, bytes), `neigh` (NUD state of the next hop: "reachable",
--   "stale", "incomplete", "failed", ...; absent when there is no entry)
-- @raise ENETUNREACH no route; EHOSTUNREACH/EACCES for unreachable or
--   prohibit routes; ENOENT no such netns; EINVAL bad address.
-- @usage print(nslab.route.get{netns = "left", dst = "10.0.2.2"}.via)
M.get = core.get

return M
