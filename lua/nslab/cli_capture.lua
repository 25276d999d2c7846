--- nslab.cli_capture: the lab command that streams a node's packets.
--
-- `nslab --capture NAME NODE IFNAME [FILTER...]` streams the packets of
-- interface IFNAME of node NODE of lab NAME (running, or kept with
-- `nslab --keep`) to stdout as pcap, with tcpdump in the node, until
-- interrupted (nslab then ends by the signal, as for a script) or the
-- reader goes away: `nslab --capture lab red eth0 icmp
-- | tcpdump -n -r -` or `| wireshark -k -i -`. FILTER words are a
-- pcap-filter(7) expression, as tcpdump takes them. Refuses to write to
-- a terminal.
-- @module nslab.cli_capture

local capture = require "nslab.capture"
local kept = require "nslab.kept"
local Exec = require "nslab.exec"
local core = require("nslab").core
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local OP = "nslab --capture"
local USAGE = "usage: nslab --capture NAME NODE IFNAME [FILTER...] | tcpdump -r -"

--- Runs the command.
-- @tparam {string,...} args the arguments after --capture
-- @treturn integer exit status: tcpdump's (interrupted, nslab ends by the
-- signal, as for a script)
-- @raise EINVAL error object (with the usage) for missing arguments or a
-- terminal on stdout; as `nslab.kept.node` for an unknown lab or node;
-- tcpdump's refusal (`nslab.capture.refusal`: ENODEV for an interface the
-- node lacks, EINVAL for a filter it cannot parse)
function M.main(args)
  local name, node, ifname = args[1], args[2], args[3]
  if not (name and node and ifname) then opts_mod.raise(OP, nil, E.EINVAL, "missing arguments; " .. USAGE) end
  local netns = kept.node(OP, name, node)
  local filter = table.concat(args, " ", 4)
  local object = string.format("%q", node .. ":" .. ifname)
  if core.isatty(1) then
    opts_mod.raise(OP, object, E.EINVAL, "stdout is a terminal: pipe it or redirect it; " .. USAGE)
  end
  -- tcpdump -d opens the interface and compiles the filter: its refusal,
  -- in its own words, before any pcap reaches stdout.
  local argv = { "tcpdump", "-d", "-i", ifname }
  if filter ~= "" then argv[#argv + 1] = filter end
  local check = Exec.exec(netns, argv)
  if not check.ok then error(capture.refusal(OP, object, check.stderr), 0) end
  local r = Exec.exec(netns, capture.argv(ifname, { filter = filter }), { capture = false })
  return r.status or 1
end

return M
