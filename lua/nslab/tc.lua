--- nslab.tc: traffic control over rtnetlink (no `tc` subprocess):
-- qdiscs (`tbf`, `htb`, `netem`, `pfifo`, `fq_codel`, `ingress`,
-- `clsact`), htb classes, and filters with a `mirred` redirect (to an
-- `ifb`, for shaping what a link receives).
--
-- Kernel interface: rtnetlink(7) RTM_NEWQDISC (NLM_F_CREATE|NLM_F_EXCL
-- for add, NLM_F_CREATE|NLM_F_REPLACE for replace), RTM_DELQDISC,
-- RTM_GETQDISC; RTM_NEWTCLASS, RTM_DELTCLASS; RTM_NEWTFILTER,
-- RTM_DELTFILTER. Options as tc-tbf(8), tc-htb(8), tc-netem(8),
-- tc-u32(8), tc-matchall(8) and tc-mirred(8) describe them; the bytes
-- follow iproute2's tc (TCA_KIND, TCA_OPTIONS with TCA_TBF_PARMS and
-- TCA_TBF_BURST, TCA_HTB_INIT, TCA_HTB_PARMS, struct tc_netem_qopt and
-- TCA_NETEM_*), without rate tables: rates carry their linklayer, so the
-- kernel (3.11 and later) computes them itself.
--
-- Every function takes one option table. Common fields: `dev` (ifname,
-- required), `netns` (namespace name; absent = the one nslab runs in),
-- `parent` (`"root"`, `"ingress"`, `"clsact"` or a handle such as
-- `"1:10"`), `handle` (`"1:"`). Handles are hex, as tc writes them.
--
-- Units. Rates: a string as tc(8) writes them (`"10mbit"`, `"1gbit"`,
-- `"500kbit"`, `"100kbps"` = bytes, `"1mibit"`, ...) or a number in bit/s.
-- Times: `"20ms"`, `"100us"`, `"1s"` or a number in seconds (a string
-- needs its unit). Percentages: `"1%"`, `"0.5%"` or a fraction 0..1.
-- Sizes (burst, tbf limit): `"32kb"` (1024-based, as tc) or bytes.
-- Results use nslab's units: bit/s, seconds, fractions, bytes.
--
-- Errors: wrong types and unknown fields raise argument errors; bad
-- values (a negative rate, `"10 mbps"`, an unknown unit, loss over 100%)
-- raise an error object with code `EINVAL` naming the accepted units,
-- before anything is sent; kernel refusals raise the error object with
-- the kernel's errno and extack. A kind this kernel lacks raises
-- EOPNOTSUPP naming the kernel option and module:
--
--     tc.qdisc_add netem at root of eth0 in netns "x": Operation not
--     supported: this kernel has no qdisc "netem" (needs
--     CONFIG_NET_SCH_NETEM, module sch_netem) (EOPNOTSUPP)
--
-- Warnings the kernel sends with a successful answer (extack text on an
-- ACK, e.g. "sch_htb: quantum of class 10010 is big. Consider r2q
-- change.") are returned as `warnings = {string, ...}` in the result.
--
-- Everything but the unit converters and `netem_options` needs
-- CAP_NET_ADMIN.
-- @module nslab.tc
local core = require("nslab.core").tc

local M = {}

--- Adds a qdisc.
-- One RTM_NEWQDISC (NLM_F_CREATE|NLM_F_EXCL|NLM_F_ECHO: the answer
-- carries the qdisc as the kernel made it). Replaces the kernel's default qdisc
-- (noqueue, pfifo_fast) as tc does.
-- Fields by `kind`:
--
-- * `"tbf"`: `rate` (required), `burst` (size; default what the rate
--   sends in 4 ms, at least 1600 bytes), `latency` (time; default 0.05 s)
--   or `limit` (size in bytes), as tc-tbf(8).
-- * `"htb"`: `default` (the class traffic goes to when no filter says:
--   `"10"` in tc's hex, meaning class 1:10, or its minor as a number),
--   `r2q` (default 10).
-- * `"netem"`: `delay`, `jitter` (times), `loss`, `corrupt`,
--   `duplicate`, `reorder` (percentages; reorder needs a delay), `limit`
--   (packets, default 1000), as tc-netem(8).
-- * `"pfifo"`, `"fq_codel"`: `limit` (packets).
-- * `"ingress"`, `"clsact"`: nothing (parent and handle `ffff:` implied).
-- @tparam table q `dev`, `kind`, and `netns`, `parent` (default
--   `"root"`), `handle`, kind fields (see above)
-- @treturn table the qdisc as `qdisc_list` gives it, plus `warnings`
--   ({string,...}) when the kernel sent any
-- @raise EEXIST a qdisc is there (use `qdisc_replace`); EOPNOTSUPP the
--   kernel lacks the kind; ENODEV no such dev; ENOENT no such netns;
--   EINVAL a bad value, or the kernel's refusal with its extack.
-- @usage nslab.tc.qdisc_add{netns = "r1", dev = "eth0", kind = "tbf",
--   rate = "10mbit", burst = "32kb", latency = "50ms"}
M.qdisc_add = core.qdisc_add

--- Adds a qdisc or changes the one there in place.
-- One RTM_NEWQDISC with NLM_F_CREATE|NLM_F_REPLACE: a qdisc of the same
-- kind is changed without losing its queue; another kind replaces it.
-- @tparam table q as `qdisc_add`
-- @treturn table the qdisc, as `qdisc_add`
-- @raise as `qdisc_add`, without EEXIST.
-- @usage nslab.tc.qdisc_replace{dev = "eth0", kind = "tbf", rate = 2e6}
M.qdisc_replace = core.qdisc_replace

--- Deletes the qdisc at a parent; the device gets its default back.
-- One RTM_DELQDISC.
-- @tparam table q `dev`, and `netns`, `parent` (default `"root"`;
--   `"ingress"` or `"clsact"` for those)
-- @raise ENOENT "no qdisc at root of eth0" when there is none (only the
--   kernel's default); ENODEV no such dev.
-- @usage nslab.tc.qdisc_del{netns = "r1", dev = "eth0"}
M.qdisc_del = core.qdisc_del

--- Lists qdiscs, the kernel's defaults included (a RTM_GETQDISC dump).
-- @tparam[opt] table opts `dev` (only this device), `netns`
-- @treturn {table,...} qdisc tables: `dev`, `ifindex`, `kind`, `handle`
--   (`"1:"`, `"0:"` for a default), `parent` (`"root"`, `"ingress"`,
--   `"clsact"`, `"1:10"`) and by kind: tbf `rate` (bit/s), `burst`,
--   `limit` (bytes); htb `default`, `r2q`; netem `delay`, `jitter`
--   (seconds), `loss`, `corrupt`, `duplicate`, `reorder` (fractions,
--   only when set), `limit` (packets); pfifo, fq_codel `limit`.
-- @raise ENODEV no such dev; ENOENT no such netns.
-- @usage for _, q in ipairs(nslab.tc.qdisc_list{netns = "r1"}) do
--   print(q.dev, q.kind, q.parent, q.rate or "")
-- end
M.qdisc_list = core.qdisc_list

--- Adds an htb class. One RTM_NEWTCLASS (NLM_F_CREATE|NLM_F_EXCL).
-- @tparam table c `dev`, `classid` (`"1:10"`, required), `rate`
--   (required), and `netns`, `parent` (default the qdisc `"1:"` of the
--   classid; a class such as `"1:1"` for a hierarchy), `ceil` (default
--   rate), `burst`, `cburst` (sizes; default as tbf's burst), `kind`
--   (`"htb"`, the default and only one)
-- @treturn table `{warnings = {...}}` when the kernel warned (a big
--   quantum: raise the qdisc's `r2q`), else `{}`
-- @raise EEXIST the class exists; ENOENT no such parent; ENODEV, EINVAL.
-- @usage nslab.tc.class_add{dev = "eth0", classid = "1:10", rate = "5mbit"}
M.class_add = core.class_add

--- Adds an htb class or changes it in place (NLM_F_CREATE|NLM_F_REPLACE).
-- @tparam table c as `class_add`
-- @treturn table as `class_add`
-- @raise as `class_add`, without EEXIST.
M.class_replace = core.class_replace

--- Deletes a class. One RTM_DELTCLASS.
-- @tparam table c `dev`, `classid`, and `netns`
-- @raise ENOENT no such class; EBUSY it has children or filters.
-- @usage nslab.tc.class_del{dev = "eth0", classid = "1:10"}
M.class_del = core.class_del

--- Adds a filter. One RTM_NEWTFILTER (NLM_F_CREATE|NLM_F_EXCL).
-- `kind = "u32"` (the default) matches every packet (one key, value 0
-- under mask 0), as `matchall` does where the kernel has it.
-- @tparam table f `dev`, `parent` (the qdisc: `"ffff:"` for ingress or
--   clsact, `"1:"`), and `netns`, `kind` (`"u32"`, `"matchall"`),
--   `protocol` (`"all"` default, `"ip"`, `"ipv6"`, `"arp"`), `prio`
--   (0..65535; default the kernel's choice), `flowid` (class for the
--   packets, `"1:10"`), `action` (`{kind = "mirred", egress_redirect =
--   "ifb0"}`, or `egress_mirror`, `ingress_redirect`, `ingress_mirror`;
--   the device in the same netns)
-- @treturn table `{warnings = {...}}` or `{}`
-- @raise EOPNOTSUPP the kernel lacks the classifier or action (naming
--   CONFIG_NET_CLS_MATCHALL, CONFIG_NET_ACT_MIRRED ...); ENODEV no such
--   dev or action device; EINVAL.
-- @usage nslab.tc.qdisc_add{dev = "eth0", kind = "ingress"}
-- nslab.tc.filter_add{dev = "eth0", parent = "ffff:",
--   action = {kind = "mirred", egress_redirect = "ifb0"}}
M.filter_add = core.filter_add

--- Deletes the filters at a qdisc (of one `prio` when given).
-- One RTM_DELTFILTER.
-- @tparam table f `dev`, `parent`, and `netns`, `prio`
-- @raise ENOENT no such qdisc or filter; ENODEV.
M.filter_del = core.filter_del

local kinds = {}

--- Whether this kernel has a qdisc, classifier (`"u32"`, `"matchall"`)
-- or action (`"mirred"`) kind. Asked once per kind by using it on `lo` in
-- a scratch network namespace (nothing is left); the answer is cached.
-- @tparam string kind `"tbf"`, `"netem"`, `"u32"`, `"mirred"`, ...
-- @treturn boolean whether it exists
-- @treturn[opt] string when not, why: `this kernel has no qdisc "netem"
--   (needs CONFIG_NET_SCH_NETEM, module sch_netem)`
-- @raise EPERM without CAP_NET_ADMIN and CAP_SYS_ADMIN.
-- @usage if not nslab.tc.available("netem") then print(select(2,
--   nslab.tc.available("netem"))) end
function M.available(kind)
  local k = kinds[kind]
  if not k then
    local ok, why = core.available(kind)
    k = { ok, why }
    kinds[kind] = k
  end
  return k[1], k[2]
end

--- A rate in bit/s.
-- @tparam string|number v `"10mbit"`, `"1gbit"`, `"500kbit"`, `"100kbps"`
--   (bytes), ... as tc(8), or a number in bit/s
-- @treturn integer bits per second
-- @raise EINVAL a negative or zero rate, an unknown unit (the message
--   names the accepted ones), a space before the unit.
-- @usage nslab.tc.rate("10mbit") --> 10000000
M.rate = core.rate

--- A time in seconds.
-- @tparam string|number v `"20ms"`, `"100us"`, `"1s"`, or seconds
-- @treturn number seconds (at most 274: the kernel's 32-bit ticks)
-- @raise EINVAL a negative time, a string without a unit, an unknown unit.
M.time = core.time

--- A percentage as a fraction.
-- @tparam string|number v `"1%"`, `"0.5%"`, or a fraction 0..1
-- @treturn number 0..1
-- @raise EINVAL over 100%, negative, a string without `%`.
M.percent = core.percent

--- A size in bytes.
-- @tparam string|number v `"1600"`, `"32kb"`, `"1mb"` (1024-based, as
--   tc), or bytes
-- @treturn integer bytes
-- @raise EINVAL an unknown unit, 4 GiB or more.
M.size = core.size

--- The TCA_OPTIONS payload `qdisc_add` sends for a netem qdisc with
-- these options (struct tc_netem_qopt, then TCA_NETEM_REORDER and
-- TCA_NETEM_CORRUPT when set), byte for byte as iproute2's
-- `tc qdisc add ... netem ...` sends it; needs no privilege and no netem.
-- @tparam table o netem fields: `delay`, `jitter`, `loss`, `corrupt`,
--   `duplicate`, `reorder`, `limit`
-- @treturn string the bytes
-- @raise EINVAL as `qdisc_add`.
M.netem_options = core.netem_options

return M
