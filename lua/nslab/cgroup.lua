--- nslab.cgroup: a cgroup v2 per node (`cgroup = {cpu = "50%", memory =
-- "64M", pids = 100}` in `lab:host` and `lab:router`), which every command
-- of the node joins (node:run, node:spawn, the REPL's node commands,
-- `nslab.exec` in its netns, the node's init with `pid = true`).
--
-- Where: under the cgroup nslab runs in (`0::PATH` of
-- /proc/self/cgroup, in the cgroup2 file system /proc/self/mountinfo
-- lists), a directory `nslab-LAB` for the lab and in it `node-NAME` per
-- node. nslab never changes its own cgroup: the controllers a node's
-- limits need must be delegated to it already, i.e. listed in its
-- cgroup.controllers and switched on in its cgroup.subtree_control (by
-- systemd: `systemd-run --scope -p Delegate=yes nslab ...`; by hand:
-- `echo +cpu +memory > .../cgroup.subtree_control` in the parent cgroup
-- of one holding nslab only). Where that is not so, `lab:host` raises an
-- error naming exactly what is missing, before making the node.
--
-- Limits (cgroup-v2.rst): `cpu` "N%" of one CPU (above 100% for several)
-- or a number of CPUs, written as cpu.max `QUOTA 100000`; `memory` bytes,
-- or a string with K, M or G (powers of 1024), written as memory.max;
-- `pids` the most processes, pids.max. `cgroup = {}` places the node's
-- commands in a cgroup of their own without limits (for accounting).
--
-- The directories are outside the lab's namespaces: each is written to
-- the lab's record (`cgroup PATH`, then `cgroup-id PATH INODE`) before
-- it is made, and removed at close and by `nslab --clean` (what is left
-- in it killed through cgroup.kill first) while it is still the
-- directory made (same inode).
-- @module nslab.cgroup

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local opts_mod = require "nslab.opts"

local sys = core.cgroup
local E = core.errno

local M = {}

--- The limits `cgroup =` takes, field -> type.
M.OPTS = { cpu = "any", memory = "any", pids = "integer" }

local PERIOD = 100000 -- cpu.max period, microseconds (the kernel's default)

local function q(s) return string.format("%q", s) end

local raise = opts_mod.raise

-- mountinfo escapes space, tab, newline and backslash as \ooo.
local function unescape(s) return (s:gsub("\\(%d%d%d)", function(o) return string.char(tonumber(o, 8)) end)) end

-- A small kernel file (cgroup interface files, /proc/self/cgroup), or nil.
local function read(path) return (core.record.read(path, 65536)) end

local function words(s)
  local set = {}
  for w in (s or ""):gmatch("%S+") do set[w] = true end
  return set
end

--- The cgroup v2 directory nslab runs in, as nslab sees it: the last
-- cgroup2 mount of /proc/self/mountinfo whose root holds nslab's cgroup
-- (`0::PATH` of /proc/self/cgroup) and can be read.
-- @tparam string op the operation, for errors
-- @tparam string object
-- @treturn string the directory
-- @raise ENOENT error object when no cgroup2 file system is mounted or
-- nslab's cgroup is not reachable in any
function M.own(op, object)
  local path = (read("/proc/self/cgroup") or ""):match("0::([^\n]*)")
  local found, seen
  for l in io.lines("/proc/self/mountinfo") do
    local root, point, fstype = l:match("^%S+ %S+ %S+ (%S+) (%S+) .- %- (%S+) ")
    if fstype == "cgroup2" then
      seen = unescape(point)
      root = unescape(root)
      if path and (root == "/" or path == root or path:sub(1, #root + 1) == root .. "/") then
        local dir = unescape(point) .. (root == "/" and path or path:sub(#root + 1))
        dir = dir:gsub("/+$", "")
        if read(dir .. "/cgroup.controllers") then found = dir end
      end
    end
  end
  if found then return found end
  raise(op, object, E.ENOENT, seen
    and string.format("nslab's cgroup (%s in /proc/self/cgroup) is not reachable in the cgroup2 mount %s",
      tostring(path), seen)
    or "no cgroup v2 file system is mounted (no cgroup2 in /proc/self/mountinfo)")
end

-- "64M" -> bytes.
local function bytes(op, object, v)
  if math.type(v) == "integer" and v > 0 then return v end
  local n, unit = tostring(v):match("^(%d+)([KMGkmg]?)$")
  local mul = { [""] = 1, k = 1024, m = 1024 ^ 2, g = 1024 ^ 3 }
  if type(v) ~= "string" or not n or tonumber(n) == 0 then
    opts_mod.invalid(op, object, string.format("cgroup memory %s is not a size (bytes, or \"64M\": K, M, G)",
      tostring(v)))
  end
  return math.tointeger(tonumber(n) * mul[unit:lower()])
end

-- "50%" or 0.5 -> cpu.max text.
local function cpu_max(op, object, v)
  local share
  if type(v) == "number" then
    share = v
  elseif type(v) == "string" and v:match("^%d+%.?%d*%%$") then
    share = tonumber(v:sub(1, -2)) / 100
  end
  if not share or share <= 0 or share > 4096 then
    opts_mod.invalid(op, object, string.format("cgroup cpu %s is not a share (\"50%%\" of one CPU, " ..
      "or a number of CPUs above 0)", tostring(v)))
  end
  return string.format("%d %d", math.max(1000, math.floor(share * PERIOD + 0.5)), PERIOD)
end

--- The interface files to write for spec, checked: {{controller, file,
-- text}...} in a fixed order.
-- @tparam string op
-- @tparam string object
-- @tparam table spec `{cpu =, memory =, pids =}`
-- @tparam[opt=3] integer level of the argument error, as `nslab.opts.check`
-- @treturn table
-- @raise argument error for an unknown field or a wrong type; EINVAL
-- error object for a bad value
function M.limits(op, object, spec, level)
  spec = opts_mod.check(op, 2, spec, M.OPTS, level or 3, "cgroup")
  local out = {}
  if spec.cpu ~= nil then out[#out + 1] = { "cpu", "cpu.max", cpu_max(op, object, spec.cpu) } end
  if spec.memory ~= nil then out[#out + 1] = { "memory", "memory.max", tostring(bytes(op, object, spec.memory)) } end
  if spec.pids ~= nil then
    opts_mod.range(op, object, "cgroup pids", spec.pids, 1)
    out[#out + 1] = { "pids", "pids.max", tostring(spec.pids) }
  end
  return out
end

--- Checks that the controllers limits need are delegated to the cgroup
-- own: available in its cgroup.controllers and on in its
-- cgroup.subtree_control.
-- @raise EOPNOTSUPP error object naming the controller and the file
function M.check_delegated(op, object, own, limits)
  local avail = words(read(own .. "/cgroup.controllers"))
  local on = words(read(own .. "/cgroup.subtree_control"))
  for _, l in ipairs(limits) do
    local c = l[1]
    if not avail[c] then
      raise(op, object, E.EOPNOTSUPP, string.format("controller %q is not available in %s/cgroup.controllers "
        .. "(not delegated to nslab's cgroup, or bound to a cgroup v1 hierarchy: see /proc/cgroups)", c, own))
    elseif not on[c] then
      raise(op, object, E.EOPNOTSUPP, string.format("controller %q is not enabled in %s/cgroup.subtree_control",
        c, own))
    end
  end
end

-- Makes dir, recorded first (intent, then its inode), with an undo entry
-- (then running gone(), if given).
local function make(lab, push, dir, gone)
  core.defer_signals(function()
    lab._rec:add("cgroup", dir)
    local ok, ino = pcall(sys.mkdir, dir)
    if not ok then
      lab._rec:drop("cgroup", dir)
      error(ino, 0)
    end
    lab._rec:add("cgroup-id", dir, ino)
    push { what = "cgroup " .. dir, lines = { { "cgroup", dir }, { "cgroup-id", dir, ino } }, drop = { "cgroup", dir },
      fn = function()
        sys.remove(dir, ino)
        if gone then gone() end
      end }
  end)
end

--- Makes the node's cgroup (and the lab's, the first time: its undo entry
-- comes before every node's, so it is removed after them) with its
-- limits; returns its directory, which the node's commands then join.
-- Called by the node's building step (push: its undo push).
-- @tparam node node
-- @tparam table spec `cgroup =`
-- @tparam function push the step's undo push
-- @treturn string
-- @raise as `limits`, `own`, `check_delegated`; the kernel's errno naming
-- the directory or file (EACCES: nslab may not write its cgroup)
function M.make(node, spec, push)
  local op, object = "lab:" .. node.kind, q(node.name)
  local limits = M.limits(op, object, spec)
  local lab = node.lab
  local own = M.own(op, object)
  M.check_delegated(op, object, own, limits)
  if not lab._cgroup then
    local dir = own .. "/nslab-" .. lab.name
    make(lab, push, dir, function() lab._cgroup = nil end)
    lab._cgroup = dir
  end
  for _, l in ipairs(limits) do sys.write(lab._cgroup .. "/cgroup.subtree_control", "+" .. l[1]) end
  local dir = lab._cgroup .. "/node-" .. node.name
  make(lab, push, dir)
  for _, l in ipairs(limits) do sys.write(dir .. "/" .. l[2], l[3]) end
  return dir
end

--- Undoes one `cgroup` item of a record ({"cgroup", path, inode}) for
-- `nslab --clean`; says what it left alone.
-- @tparam table o
-- @tparam string lab
-- @tparam function say
function M.clean_item(o, lab, say)
  local path, ino = o[2], o[3]
  if not ino then
    if sys.id(path) then
      say(string.format("cgroup %s exists but lab %q did not record making it: left alone", path, lab))
    end
  elseif not sys.remove(path, ino) and sys.id(path) then
    say(string.format("cgroup %s was made again since lab %q made it: left alone", path, lab))
  end
end

return M
