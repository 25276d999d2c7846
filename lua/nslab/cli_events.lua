--- nslab.cli_events: the lab command that prints a lab's events.
--
-- `nslab --events NAME [--timeout S] [--groups G,...]` prints the
-- rtnetlink notifications of every node of lab NAME (running, or kept
-- with `nslab --keep`) as JSON lines, one event each (the tables of
-- `nslab.monitor`, with `node`), until interrupted (then nslab ends by
-- the signal, as for a script) or for S seconds (exit status 0).
-- Groups: link, addr, route, neigh (default all). Once
-- every node's socket listens it says so on stderr ("nslab: watching N
-- node(s) of lab NAME"): what happens from then on is printed. It ends
-- (status 0, "nslab: lab NAME is gone") once the lab's namespaces are
-- gone (`nslab --clean NAME`, or the lab's own close).
-- @module nslab.cli_events

local json = require "nslab.json"
local kept = require "nslab.kept"
local monitor = require "nslab.monitor"
local core = require("nslab").core
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local OP = "nslab --events"
local USAGE = "usage: nslab --events NAME [--timeout SECONDS] [--groups link,addr,route,neigh]"
local GROUPS = { link = true, addr = true, route = true, neigh = true }

--- Parses the arguments after --events.
-- @tparam {string,...} args
-- @treturn table {name =, timeout =, groups =}
-- @raise EINVAL error object with the usage for a bad argument
function M.parse(args)
  local o, i = {}, 1
  while i <= #args do
    local a = args[i]
    if a == "--timeout" and args[i + 1] then
      o.timeout = tonumber(args[i + 1])
      if not o.timeout or o.timeout <= 0 then
        opts_mod.raise(OP, string.format("%q", args[i + 1]), E.EINVAL, "--timeout takes seconds > 0; " .. USAGE)
      end
      i = i + 2
    elseif a == "--groups" and args[i + 1] then
      o.groups = {}
      for g in args[i + 1]:gmatch("[^,%s]+") do
        if not GROUPS[g] then
          opts_mod.raise(OP, string.format("%q", g), E.EINVAL, string.format(
            "unknown group %q: --groups takes link, addr, route, neigh; ", g) .. USAGE)
        end
        o.groups[#o.groups + 1] = g
      end
      if #o.groups == 0 then opts_mod.raise(OP, nil, E.EINVAL, "--groups takes link, addr, route, neigh; " .. USAGE) end
      i = i + 2
    elseif o.name == nil and a:sub(1, 2) ~= "--" then
      o.name, i = a, i + 1
    else
      opts_mod.raise(OP, string.format("%q", a), E.EINVAL, "unexpected argument; " .. USAGE)
    end
  end
  if not o.name then opts_mod.raise(OP, nil, E.EINVAL, "which lab? " .. USAGE) end
  return o
end

--- Runs the command.
-- @tparam {string,...} args the arguments after --events
-- @treturn integer exit status: 0 at the timeout or once the lab is gone
-- @raise as `nslab.kept.nodes` (unknown lab) and `nslab.monitor` (bad group)
function M.main(args)
  local o = M.parse(args)
  local sources, nodes, ids = {}, kept.nodes(OP, o.name)
  for i, n in ipairs(nodes) do sources[i] = { netns = n, node = n } end
  local function alive() return kept.alive(nodes, ids) end
  local next_event, _, _, closing = monitor.open_all(sources, o.groups, o.timeout, alive)
  local _ <close> = closing
  -- Said once every socket listens: what happens from now on is seen.
  io.stderr:write(string.format("nslab: watching %d node(s) of lab %q\n", #sources, o.name))
  io.stdout:setvbuf("line")
  for ev in next_event do
    if not io.stdout:write(json.encode(ev, OP), "\n") then break end -- the reader left
  end
  if not alive() then io.stderr:write(string.format("nslab: lab %q is gone\n", o.name)) end
  return 0
end

return M
