--- nslab.shape: the shaping of one direction of a lab link, for
-- `lab:link`, `lab:impair` and schedules: its options read and checked,
-- and set on the sending end of the link through `nslab.tc`.
--
-- A direction's shaping is a table of options:
--
-- * `rate`: bits per second, as tc writes it (`"10mbit"`, `"1gbit"`,
--   `"500kbit"`) or a number of bit/s; a `tbf` qdisc at the root of the
--   sending end (handle 1:),
-- * `burst` (bytes, the tbf bucket, at least the MTU + 14: one full
--   frame; default: nslab.tc's) and `limit` (packets the queue holds,
--   1..2836834: netem's limit; with tbf alone its byte limit, `limit` ×
--   1514, which must fit 32 bits); both need a rate (limit: or netem),
-- * `delay`, `jitter` (`"20ms"`, `"100us"` or seconds), `loss`,
--   `corrupt`, `duplicate`, `reorder` (`"1%"`, `"0.5%"` or a fraction
--   0..1): a `netem` qdisc, at the root or, with `rate`, below the tbf
--   (parent 1:1, handle 10:).
--
-- On a kernel without netem (CONFIG_NET_SCH_NETEM), `loss` is done by
-- nftables instead, as a rule in the receiving end's netns: a table
-- `netdev nslab_impair` with one chain per interface, hooked at its
-- ingress, dropping `numgen random mod 1000000 < loss × 1e6` (every
-- packet, a plain `drop`, when that rounds to 1000000) (the ingress
-- of the far end rather than the egress of the near one, because this
-- kernel's netdev egress hook skips veth traffic); nslab says so once on
-- stderr. The other netem options then raise EOPNOTSUPP naming
-- CONFIG_NET_SCH_NETEM, before anything changes. Qdiscs and nftables
-- rules go with their netns when the lab closes.
--
-- Needs CAP_NET_ADMIN (root, or `nslab --rootless`).
-- @module nslab.shape

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
-- nslab.tc on first use: a lab that shapes nothing never loads it.
local tc = setmetatable({}, { __index = function(_, k) return require("nslab.tc")[k] end })
local Exec = require "nslab.exec"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local UNIT = "number|string"

--- The options of one direction, field -> type (for `nslab.opts.check`).
M.FIELDS = { rate = UNIT, delay = UNIT, jitter = UNIT, loss = UNIT, corrupt = UNIT, duplicate = UNIT,
  reorder = UNIT, limit = "integer", burst = "integer" }

-- The options only netem does, in the order messages name them.
local NETEM_ONLY = { "delay", "jitter", "duplicate", "reorder", "corrupt" }
local PERCENT = { "loss", "corrupt", "duplicate", "reorder" }

-- Bytes a queued packet is counted as, for tbf's byte limit.
local PACKET_BYTES = 1514
-- tbf's burst and byte limit are 32-bit: the packets limit × 1514 holds.
local U32 = 4294967295
M.MAX_LIMIT = U32 // PACKET_BYTES
-- The least rate nslab shapes to (1 kbyte/s): below, a Mininet `bw = 10`
-- (Mbit/s) taken as bit/s.
M.MIN_RATE = 8000

local raise = opts_mod.raise

-- The value of a unit reader (tc.rate, tc.time, tc.percent), its EINVAL
-- error raised again as op's, naming the field.
local function unit(op, object, field, reader, v)
  local ok, r = pcall(reader, v)
  if ok then return r end
  local why = type(r) == "table" and (r.extack or r.msg) or tostring(r)
  raise(op, object, E.EINVAL, string.format("%s %s: %s", field, tostring(v), why))
end

--- Whether this kernel has netem (cached by nslab.tc.available).
-- @treturn boolean
-- @treturn ?string the reason when not
function M.netem()
  return tc.available("netem")
end

local warned = false
-- The fallback for loss, said once per process.
local function warn_nft()
  if warned then return end
  warned = true
  io.stderr:write("nslab: no netem in this kernel (CONFIG_NET_SCH_NETEM): loss is dropped by nftables instead\n")
end

--- Reads one direction's options: numbers in bit/s, seconds and
-- fractions; nil when there is nothing to shape.
-- @tparam string op the call, for messages ("lab:impair")
-- @tparam ?string object what it is about (`"red:eth0 -- blue:eth0"`)
-- @tparam table spec checked by the caller against `FIELDS`
-- @tparam[opt=1500] integer mtu the link's MTU (the least burst is a frame)
-- @treturn ?table the shaping, or nil for none
-- @raise EINVAL error object for a unit nslab does not know, a rate below
-- 8kbit, a time below 0, a percentage over 100 % or below 0, a jitter
-- without delay, a burst or limit without rate, a burst outside MTU + 14
-- .. 4294967295 bytes, a limit outside 1..2836834 packets; EOPNOTSUPP
-- error object for delay, jitter, duplicate, reorder or corrupt on a
-- kernel without netem
function M.read(op, object, spec, mtu)
  local s, any = {}, false
  if spec.rate ~= nil then
    s.rate = unit(op, object, "rate", tc.rate, spec.rate)
    if s.rate <= 0 then raise(op, object, E.EINVAL, string.format("rate %s is out of range (above 0)", spec.rate)) end
    if s.rate < M.MIN_RATE then
      raise(op, object, E.EINVAL, string.format("rate %s is %g bit/s, below what tbf shapes (8kbit)%s", spec.rate,
        s.rate, type(spec.rate) == "number" and string.format(': for %s Mbit/s write "%smbit"', spec.rate, spec.rate)
          or ""))
    end
  end
  for _, f in ipairs { "delay", "jitter" } do
    if spec[f] ~= nil then
      s[f] = unit(op, object, f, tc.time, spec[f])
      if s[f] < 0 then raise(op, object, E.EINVAL, string.format("%s %s is out of range (0 or more)", f, spec[f])) end
    end
  end
  for _, f in ipairs(PERCENT) do
    if spec[f] ~= nil then
      s[f] = unit(op, object, f, tc.percent, spec[f])
      if s[f] < 0 or s[f] > 1 then
        raise(op, object, E.EINVAL, string.format("%s %s is out of range (0%%..100%%)", f, spec[f]))
      end
    end
  end
  if s.jitter and not s.delay then raise(op, object, E.EINVAL, "jitter needs a delay") end
  local least = (mtu or 1500) + 14
  if spec.burst ~= nil and (spec.burst < least or spec.burst > U32) then
    raise(op, object, E.EINVAL, string.format("burst %d is out of range (%d..%d bytes: at least one full frame, " ..
      "MTU %d + 14)", spec.burst, least, U32, least - 14))
  end
  if spec.limit ~= nil and (spec.limit < 1 or spec.limit > M.MAX_LIMIT) then
    raise(op, object, E.EINVAL, string.format("limit %d packets is out of range (1..%d: tbf counts each as %d " ..
      "bytes in 32 bits)", spec.limit, M.MAX_LIMIT, PACKET_BYTES))
  end
  s.burst, s.limit = spec.burst, spec.limit
  for _ in pairs(s) do any = true end
  if not any then return nil end
  local has, why = M.netem()
  if s.burst and not s.rate then raise(op, object, E.EINVAL, "burst needs a rate") end
  if s.limit and not s.rate and not (has and (s.loss or s.delay or s.corrupt or s.duplicate or s.reorder)) then
    raise(op, object, E.EINVAL, "limit needs a rate" .. (has and " or a netem option" or ""))
  end
  if not has then
    for _, f in ipairs(NETEM_ONLY) do
      if s[f] then raise(op, object, E.EOPNOTSUPP, string.format("%s needs netem: %s", f, why)) end
    end
    if s.loss then warn_nft() end
  end
  return s
end

--- Reads the shaping of both directions of a link from opts, which holds
-- either the options themselves (both directions alike) or `a_to_b` and
-- `b_to_a` tables (each its own; one left out is not shaped). Other fields
-- of opts (a link's `ifnames`, `addrs` ...) are left alone.
-- @tparam string op
-- @tparam integer argn the argument number of opts, for argument errors
-- @tparam ?string object
-- @tparam table opts
-- @tparam[opt=1500] integer mtu the link's MTU
-- @tparam[opt=2] integer level where argument errors point, as for
-- `error` seen from the caller (2: the caller's caller)
-- @treturn ?table a to b (the egress of a's end), or nil
-- @treturn ?table b to a (the egress of b's end), or nil
-- @raise argument error for an unknown field or a wrong type inside
-- `a_to_b`/`b_to_a`, or when they are mixed with direct options; as `read`
function M.directions(op, argn, object, opts, mtu, level)
  level = (level or 2) + 1
  local direct = {}
  for k in pairs(M.FIELDS) do direct[k] = opts[k] end
  if opts.a_to_b == nil and opts.b_to_a == nil then
    local s = M.read(op, object, direct, mtu)
    return s, s
  end
  local mixed = next(direct)
  if mixed then
    opts_mod.argerror(op, argn,
      string.format("field '%s' beside 'a_to_b'/'b_to_a': give each direction its own", mixed), level)
  end
  local out = {}
  for i, d in ipairs { "a_to_b", "b_to_a" } do
    local t = opts_mod.check(op, argn, opts[d], M.FIELDS, level + 1, (object and object .. ": " or "") .. d)
    out[i] = M.read(op, object, t, mtu)
  end
  return out[1], out[2]
end

-- ---- the kernel side ----

-- What shapes dev now: "tbf", "tbf+netem", "netem", another kind, or
-- nil (the kernel's defaults, handle 0:, such as noqueue on a veth, count as none).
local function layout_of(netns, dev)
  local root, below
  for _, q in ipairs(tc.qdisc_list { dev = dev, netns = netns }) do
    if q.parent == "root" and q.kind ~= "noqueue" and q.handle ~= "0:" then root = q.kind end
    if q.parent == "1:1" and q.kind == "netem" then below = true end
  end
  if root == "tbf" and below then return "tbf+netem" end
  return root
end

local function netem_opts(s)
  return { delay = s.delay, jitter = s.jitter, loss = s.loss, corrupt = s.corrupt, duplicate = s.duplicate,
    reorder = s.reorder, limit = s.limit }
end

--- The name of dev's chain in the nft table: the ifname where nft takes
-- it as a name, else "if_" and its bytes in hex.
-- @tparam string dev
-- @treturn string
function M.nft_chain(dev)
  if dev:match("^[%a_][%w_]*$") then return dev end
  return "if_" .. dev:gsub(".", function(c) return string.format("%02x", c:byte()) end)
end

-- The nft script that sets (n: the rule's threshold per million) or
-- removes (n = nil) the loss chain of dev; idempotent either way.
local function nft_script(dev, n)
  local chain = M.nft_chain(dev)
  local lines = {
    "add table netdev nslab_impair",
    string.format('add chain netdev nslab_impair %s { type filter hook ingress device "%s" priority 0; }', chain, dev),
  }
  if n then
    lines[#lines + 1] = "flush chain netdev nslab_impair " .. chain
    -- nft takes thresholds 0..999999 only: 100 % is a plain drop.
    local cond = n < 1000000 and string.format("numgen random mod 1000000 < %d ", n) or ""
    lines[#lines + 1] = string.format("add rule netdev nslab_impair %s %sdrop", chain, cond)
  else
    lines[#lines + 1] = "delete chain netdev nslab_impair " .. chain
  end
  return table.concat(lines, "\n") .. "\n"
end

local function nft(netns, script, what)
  require("nslab.nft").load(netns, script, "nft", what)
end

--- Sets or removes the nftables loss of the traffic dev receives (the
-- fallback for a kernel without netem).
-- @tparam string netns
-- @tparam string dev
-- @tparam ?number loss fraction 0..1; nil removes the rule
function M.nft_loss(netns, dev, loss)
  if loss and loss > 0 then
    nft(netns, nft_script(dev, math.floor(loss * 1e6 + 0.5)), dev)
    return
  end
  local r = Exec.exec(netns, { "nft", "list", "table", "netdev", "nslab_impair" })
  if not (r.ok and r.stdout:find("chain " .. M.nft_chain(dev) .. " {", 1, true)) then return end
  local _, chains = r.stdout:gsub("\n%s*chain ", "")
  -- The table goes with its last chain, so unshaped nodes have no nslab table.
  nft(netns, chains > 1 and nft_script(dev, nil) or "delete table netdev nslab_impair\n", dev)
end

local function qdisc(e, parent, handle, kind, o)
  o.dev, o.netns, o.parent, o.handle, o.kind = e.ifname, e.netns, parent, handle, kind
  tc.qdisc_replace(o)
end

--- Shapes what one end of a link sends, replacing what it had: values
-- change in place (tc qdisc_replace); a change of layout (tbf to netem,
-- netem added below tbf or taken away) removes the root qdisc first. The
-- link itself is never touched: it keeps its ifindex, addresses, routes.
-- @tparam table e the sending end {netns =, ifname =}
-- @tparam table peer the receiving end {netns =, ifname =} (nft loss)
-- @tparam ?table s the shaping (from `read`), nil for none
-- @tparam[opt] boolean fresh the link was just made: nothing to remove
function M.apply(e, peer, s, fresh)
  s = s or {}
  local netem_ok = M.netem()
  local use_netem = netem_ok and (s.loss or s.delay or s.corrupt or s.duplicate or s.reorder) ~= nil
  local want = s.rate and (use_netem and "tbf+netem" or "tbf") or use_netem and "netem" or nil
  local now = not fresh and layout_of(e.netns, e.ifname) or nil
  if now and now ~= want then tc.qdisc_del { dev = e.ifname, netns = e.netns, parent = "root" } end
  if s.rate then
    qdisc(e, "root", "1:", "tbf", { rate = s.rate, burst = s.burst, limit = s.limit and s.limit * PACKET_BYTES })
    if use_netem then qdisc(e, "1:1", "10:", "netem", netem_opts(s)) end
  elseif use_netem then
    qdisc(e, "root", "1:", "netem", netem_opts(s))
  end
  if not netem_ok and (s.loss or not fresh) then M.nft_loss(peer.netns, peer.ifname, s.loss) end
end

-- ---- text ----

local function rate_text(bits)
  for _, u in ipairs { { 1e9, "gbit" }, { 1e6, "mbit" }, { 1e3, "kbit" } } do
    if bits >= u[1] and bits % u[1] == 0 then return string.format("%d%s", bits // u[1], u[2]) end
  end
  if bits >= 1e6 then return string.format("%.3gmbit", bits / 1e6) end
  return string.format("%dbit", bits)
end

local function time_text(t)
  if t >= 1 then return string.format("%gs", t) end
  if t >= 1e-3 then return string.format("%gms", t * 1e3) end
  return string.format("%gus", t * 1e6)
end

--- One direction's shaping as text, as tc writes the values:
-- `rate 10mbit delay 5ms loss 1%`; "" for none.
-- @tparam ?table s
-- @treturn string
function M.text(s)
  if not s then return "" end
  local out = {}
  if s.rate then out[#out + 1] = "rate " .. rate_text(s.rate) end
  for _, f in ipairs { "delay", "jitter" } do
    if s[f] then out[#out + 1] = f .. " " .. time_text(s[f]) end
  end
  for _, f in ipairs(PERCENT) do
    if s[f] then out[#out + 1] = string.format("%s %g%%", f, s[f] * 100) end
  end
  for _, f in ipairs { "limit", "burst" } do
    if s[f] then out[#out + 1] = f .. " " .. s[f] end
  end
  return table.concat(out, " ")
end

return M
