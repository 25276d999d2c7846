--- nslab.iperf: throughput between two nodes with iperf3 (Debian
-- iperf3): `a:iperf(b, opts)` starts `iperf3 -s` in b, waits until it
-- listens (/proc/net/tcp in b), runs `iperf3 -c -J` in a, and
-- returns the JSON report read with `nslab.json`.
-- @module nslab.iperf
local json = require "nslab.json"
local opts_mod = require "nslab.opts"

local M = {}

local OPTS = { time = "number", udp = "boolean", rate = "string|number", reverse = "boolean",
  parallel = "integer", port = "integer", family = "string" }

local function q(s) return string.format("%q", s) end

--- Measures throughput from this node to b (b to this node with
-- `reverse`).
-- @tparam node a this node (the client)
-- @tparam node|string b a node of the same lab (its first address of the
-- family), or a node name
-- @tparam[opt] table opts `time` (seconds, default 2; iperf3 takes whole
-- seconds: rounded up), `udp` (boolean),
-- `rate` (target bits/s for UDP, as iperf3 -b: "10M" or a number; default
-- iperf3's 1 Mbit/s), `reverse` (b sends), `parallel` (streams, 1..128),
-- `port` (default 5201), `family` ("inet"|"inet6")
-- @treturn table `{sent_bps =, received_bps = (bits per second, as the
-- sender and the receiver counted), retransmits = (TCP), jitter_ms =,
-- lost = , packets =, lost_percent = (UDP), report = (iperf3's whole JSON
-- report as Lua tables)}`
-- @raise argument error for a bad b or option; EINVAL error object for a
-- bad value, a node without an address, or iperf3's own error (its
-- `error` text); ENOENT naming the Debian package when iperf3 is
-- missing ("install the Debian package iperf3 (make deps)"); an
-- `nslab.expect` failure when the server does not listen within 5 s
-- @usage print(h1:iperf(h2, {time = 1}).received_bps / 1e6, "Mbit/s")
function M.iperf(a, b, opts)
  local op = "node:iperf"
  opts = opts_mod.check(op, 2, opts, OPTS, 3)
  if type(b) == "string" and a.lab then b = a.lab:node(b) or b end
  if type(b) ~= "table" or not b.first_addr then
    opts_mod.argerror(op, 1, "node or node name expected, got " .. (type(b) == "string" and q(b) or type(b)), 3)
  end
  if opts.family then opts_mod.choice(op, nil, "family", opts.family, { "inet", "inet6" }) end
  local addr = b:first_addr(opts.family)
  if not addr then opts_mod.invalid(op, q(b.name), string.format("%s %q has no address", b.kind, b.name)) end
  local time = opts.time or 2
  if time <= 0 then opts_mod.invalid(op, nil, string.format("time %s is out of range (> 0 seconds)", time)) end
  if opts.parallel then opts_mod.range(op, nil, "parallel", opts.parallel, 1, 128) end
  local port = opts.port or 5201
  opts_mod.range(op, nil, "port", port, 1, 65535)
  opts_mod.need(op, q(a.name), "iperf3", "iperf3 (make deps)")
  local server = b:spawn({ "iperf3", "-s", "-p", tostring(port) }, { capture = true })
  local ok, res = pcall(function()
    -- listening yet? (/proc/net/tcp{,6} in b: a connect would be taken
    -- by the server as a test of its own)
    local hex = string.format(":%04X ", port)
    require("nslab.expect").eventually(function()
      local r = b:run { "cat", "/proc/net/tcp", "/proc/net/tcp6" }
      for l in r.stdout:gmatch("[^\n]+") do
        local st = l:match("^%s*%d+:%s+%x+" .. hex .. "%s*[%x:]+%s+(%x%x)")
        if st == "0A" then return true end -- TCP_LISTEN
      end
      return false
    end, { timeout = 5, interval = 0.02 })
    -- iperf3 reads -t as whole seconds (0: forever)
    local argv = { "iperf3", "-c", addr, "-J", "-p", tostring(port), "-t", tostring(math.ceil(time)) }
    local function add(...) for _, v in ipairs { ... } do argv[#argv + 1] = v end end
    if opts.udp then add("-u") end
    if opts.rate then add("-b", tostring(opts.rate)) end
    if opts.reverse then add("-R") end
    if opts.parallel then add("-P", tostring(opts.parallel)) end
    local r = a:run(argv, { timeout = math.ceil(time) + 15 })
    local rep = json.decode(r.stdout ~= "" and r.stdout or "{}", op, q(a.name))
    if rep.error or not r.ok then
      opts_mod.invalid(op, q(a.name), "iperf3: " .. tostring(rep.error or r.stderr))
    end
    return rep
  end)
  pcall(server.kill, server, "SIGKILL")
  pcall(server.wait, server)
  if not ok then error(res, 0) end
  local e = res["end"] or {}
  local out = { report = res }
  if opts.udp then
    local s = e.sum or {}
    out.sent_bps = (e.sum_sent or s).bits_per_second
    out.received_bps = (e.sum_received or s).bits_per_second
    out.jitter_ms = (e.sum_received or s).jitter_ms or s.jitter_ms
    out.lost = (e.sum_received or s).lost_packets or s.lost_packets
    out.packets = (e.sum_received or s).packets or s.packets
    out.lost_percent = (e.sum_received or s).lost_percent or s.lost_percent
  else
    out.sent_bps = e.sum_sent and e.sum_sent.bits_per_second
    out.received_bps = e.sum_received and e.sum_received.bits_per_second
    out.retransmits = e.sum_sent and e.sum_sent.retransmits
  end
  return out
end

--- Adds `node:iperf` to the node class.
-- @tparam table _ the lab class
-- @tparam table Node the node class
function M.install(_, Node)
  Node.iperf = M.iperf
end

return M
