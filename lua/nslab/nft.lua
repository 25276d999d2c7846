--- nslab.nft: firewall rules of a network namespace, through nftables'
-- own program `nft` (Debian `nftables`) run in the namespace, as
-- `ip netns exec NAME nft ...` would (see `nslab.exec`). Not libnftables,
-- which is GPL-2 (nslab is MIT).
--
-- A ruleset is either text in nft's syntax (nft(8), fed to `nft -f -`)
-- or a Lua table in nft's JSON schema (libnftables-json(5), encoded by
-- lua-cjson and fed to `nft -j -f -`). Either way nft sends the whole
-- ruleset to the kernel as one batch (one netlink transaction): an error
-- anywhere in it, syntax or kernel refusal, applies nothing.
--
-- Listings come from `nft -j list ruleset`, decoded by lua-cjson into
-- Lua tables with the schema's names (`{nftables = {{metainfo = ...},
-- {table = {family = "inet", name = "filter", handle = 1}}, ...}}`);
-- numbers that are whole come back as Lua integers. A listing loads back
-- as it is (`load(netns, list(netns))` after a flush makes the same
-- ruleset).
--
-- Needs CAP_NET_ADMIN in the namespace (root, or `nslab --rootless`).
-- Tables, chains and rules go with their netns: nothing to undo when a
-- lab closes.
-- @module nslab.nft

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local Exec = require "nslab.exec"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local json = require "nslab.json"

--- JSON's null, for the schema's verdicts without arguments
-- (`{drop = nft.null}`, `{accept = nft.null}`); listings hold it there too.
M.null = json.null

local function raise(op, object, netns, errno, why, extra)
  local e = { op = op, object = object, netns = netns, errno = errno, extack = why }
  for k, v in pairs(extra or {}) do e[k] = v end
  error(core.error(e), 0)
end

-- Runs nft with args in netns, stdin fed from input; the result. A
-- missing nft raises ENOENT naming the Debian package.
local function run(op, object, netns, args, input)
  local argv = { "nft", table.unpack(args) }
  local ok, r = pcall(Exec.exec, netns, argv, { stdin = input })
  if ok then return r end
  if core.is_error(r) and r.code == "ENOENT" and r.op == "exec" and not tostring(r.msg):find("netns", 1, true) then
    raise(op, object, netns, E.ENOENT, "the program nft is missing: apt-get install nftables (Debian package nftables)")
  end
  error(r, 0)
end

--- Loads a ruleset into netns, atomically: all of it, or nothing when nft
-- or the kernel refuses any part.
-- @tparam string netns namespace name
-- @tparam string|table ruleset nft syntax (as for `nft -f`), or a table in
-- nft's JSON schema (`{nftables = {...}}`, as for `nft -j -f`)
-- @tparam[opt="nft.load"] string op the operation, for errors
-- @tparam[opt] string object what it is about, for errors
-- @raise argument error for a ruleset that is neither a string nor a
-- table, or a table JSON cannot encode (a function, a sparse array);
-- EINVAL error object when nft refuses the ruleset, with nft's own
-- message (`/dev/stdin:3:1-5: Error: syntax error, ...`) as `extack` and
-- its first line number as `line`; ENOENT error object when nft is not
-- installed (Debian nftables) or the netns does not exist
-- @usage nft.load("red", "table inet f { chain c { type filter hook input priority 0; } }")
function M.load(netns, ruleset, op, object)
  -- Called by a method (op given) the ruleset is its argument #1 and the
  -- user is one frame further up.
  local argn, level = op and 1 or 2, op and 3 or 2
  op = op or "nft.load"
  local args, input
  if type(ruleset) == "string" then
    args, input = { "-f", "-" }, ruleset
  elseif type(ruleset) == "table" then
    local ok, text = pcall(json.encode, ruleset, op)
    if not ok then
      if core.is_error(text) and text.code == "ENOENT" then error(text, 0) end
      local why = tostring(type(text) == "table" and text.extack or text):gsub("^.-: ", "")
      opts_mod.argerror(op, argn, "ruleset cannot be encoded as JSON: " .. why, level)
    end
    args, input = { "-j", "-f", "-" }, text
  else
    opts_mod.argerror(op, argn, "string or table expected, got " .. type(ruleset), level)
  end
  local r = run(op, object, netns, args, input)
  if r.ok then return end
  local msg = (r.stderr ~= "" and r.stderr or r.stdout or ""):gsub("%s+$", "")
  if msg == "" then msg = string.format("nft exited with status %s", tostring(r.status or r.signal)) end
  raise(op, object, netns, E.EINVAL, msg, { line = math.tointeger(msg:match("^/dev/stdin:(%d+):")) })
end

--- The ruleset of netns, as nft's JSON schema in Lua tables.
-- @tparam string netns namespace name
-- @tparam[opt="nft.list"] string op the operation, for errors
-- @tparam[opt] string object what it is about, for errors
-- @treturn table `{nftables = {{metainfo = {...}}, {table = {...}}, ...}}`
-- @raise as `load` (ENOENT without nft; EINVAL when nft fails)
-- @usage for _, o in ipairs(nft.list("red").nftables) do print(o.table and o.table.name) end
function M.list(netns, op, object)
  op = op or "nft.list"
  if not json.available() then json.encode({}, op) end -- raises, naming lua-cjson
  local r = run(op, object, netns, { "-j", "list", "ruleset" })
  if not r.ok then raise(op, object, netns, E.EINVAL, (r.stderr or ""):gsub("%s+$", "")) end
  return json.decode(r.stdout, op, object or "nft -j list ruleset")
end

return M
