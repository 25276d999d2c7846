--- nslab.record: the ownership record of a lab under /run/nslab/.
--
-- A running lab writes /run/nslab/NAME.rec (mode 0600, in a directory
-- owned by the running uid and writable by nobody else, opened
-- close-on-exec so no command a lab runs inherits it): who owns the lab
-- (pid and the process start time from /proc/PID/stat, so a reused pid is
-- not taken for the owner) and, one line per step, what it is about to
-- create. It is data, never code: one item per line, fields separated by
-- one space, each name escaped (`%XX` for `%`, space, control bytes and
-- bytes over 0x7e), read back with string patterns only:
--
--     nslab-record 1
--     lab NAME
--     owner PID START TIME
--     netns NAME                 intent: about to create netns NAME
--     netns-id NAME DEV INO      it exists: its nsfs identity (st_dev, st_ino)
--     drop netns NAME            creation failed or was undone
--     proc PID START             a spawned command (leads its process group)
--     link NAME                  intent: a link in nslab's own netns (an uplink)
--     link-id NAME IFINDEX       it exists: its ifindex there
--     nft TABLE                  intent: an nft table (ip family) in nslab's netns
--     nft-id TABLE HANDLE        it exists: its handle
--     sysctl KEY OLD             about to set KEY in nslab's netns; OLD restores it
--     cgroup PATH                intent: a node's (or the lab's) cgroup v2 directory
--     cgroup-id PATH INODE       it exists: its inode
--     drop KIND NAME             (also for link, nft, sysctl, cgroup)
--     node NAME KIND HOST        node NAME (netns NAME): host, router or bridge; its hostname
--     veth A IFA B IFB           a lab link: A's IFA to B's IFB (both in lab netns)
--     spec WHAT NAME JSON        what lab:spec() knows that the kernel cannot say (nslab.attach)
--     pins                       intent: namespaces bound under /run/nslab/ns/NAME
--     kept                       the lab was kept (`--keep`): its owner may exit
--
-- The intent line comes before a creation, the identity line once the
-- namespace exists but before it gets its name, so a SIGKILL at any point
-- leaves a record covering everything that may exist, and a netns is
-- only ever removed when it is still the namespace the lab made: a name
-- deleted and made again since (by `ip netns add`, another lab, anything)
-- is left alone. `nslab --clean` reads these records (see `nslab.clean`);
-- it never touches a live lab, a name not recorded, nor a record another
-- uid owns or others may write.
--
-- Lab links go with the lab's namespaces; what a lab changes outside them
-- (uplink, cgroups, sysctls) is removed only while still the one recorded.
-- @module nslab.record
local nslab = require "nslab"
local core = nslab.core
local fault = require "nslab.fault"
local Netns = require "nslab.netns"
local sys = core.record

local M = {}

--- The directory holding the records (tmpfs, gone at reboot as netns are).
M.dir = "/run/nslab"
--- A record's file name: NAME .. M.ext.
M.ext = ".rec"
--- The largest record read (bytes): about 100 000 nodes.
M.max_size = 16 * 1024 * 1024

local VERSION_LINE = "nslab-record 1"
-- errno names from the C library (src/core/err.c), never numbers here.
local E = core.errno

local function q(s) return string.format("%q", s) end

local raise = require("nslab.opts").raise

--- Checks a lab or node name: a string of 1..200 bytes, not `.` or `..`,
-- without `/`, NUL or control characters (bytes below 0x20 and 0x7f), so
-- it is a file name and a netns name, and fits on one record line.
-- @tparam string op the operation, for the error
-- @param name
-- @tparam[opt=2] integer level of the argument error, as for `error`
--   (seen from the caller of check_name)
-- @raise argument error for a non-string; EINVAL error object for a bad string
function M.check_name(op, name, level)
  if type(name) ~= "string" then
    require("nslab.opts").argerror(op, 1, "name must be a string, got " .. type(name), (level or 2) + 1)
  end
  if name == "" or name == "." or name == ".." or name:find("/", 1, true) or #name > 200
    or name:find("[%z\1-\31\127]") then
    raise(op, q(name), E.EINVAL, string.format(
      "invalid name %q (1..200 bytes, no '/' or control characters, not '.' or '..')", name))
  end
end

--- The start time of a process, in clock ticks after boot (field 22 of
-- /proc/PID/stat, proc(5)); nil when no such process (or a zombie).
-- @tparam integer pid
-- @treturn integer|nil
function M.proc_start(pid)
  pid = math.tointeger(pid)
  if not pid or pid <= 0 then return nil end
  local s = sys.read("/proc/" .. pid .. "/stat", 4096)
  -- comm may hold spaces and parentheses: fields start after the last ')'
  local rest = s and s:match(".*%)%s+(.*)")
  if not rest then return nil end
  local fields = {}
  for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
  if fields[1] == "Z" or fields[1] == "X" then return nil end
  return math.tointeger(tonumber(fields[20]))
end

--- Whether the process pid still runs and is the one that started at start.
-- @tparam integer pid
-- @tparam integer start as returned by `proc_start`
-- @treturn boolean
function M.alive(pid, start)
  return pid ~= nil and start ~= nil and M.proc_start(pid) == start
end

--- Whether pid is this very process.
-- @tparam integer pid
-- @treturn boolean
function M.is_self(pid) return pid == core.getpid() end

--- Why the record of lab name cannot be used, and what to do by hand.
-- @tparam string name
-- @param err the reason
-- @treturn string
function M.unreadable_text(name, err)
  return string.format("the record of lab %q cannot be used (%s): nslab cannot tell what it made; " ..
    "remove its namespaces by hand (ip netns del NAME), then the record %s", name, tostring(err),
    M.path_of(name))
end

--- The command that removes the leftovers of lab name, its name quoted
-- for a POSIX shell when needed: `nslab --clean 'my lab'`.
-- @tparam string name
-- @treturn string
function M.clean_command(name)
  if not name:match("^[%w%._%-]+$") then name = "'" .. name:gsub("'", "'\\''") .. "'" end
  return "nslab --clean " .. name
end

--- The path of lab name's record.
function M.path_of(name) return M.dir .. "/" .. name .. M.ext end

local function hex(c) return string.format("%%%02X", c:byte()) end
local function esc(s)
  s = tostring(s)
  if not s:find("[^\33-\36\38-\126]") then return s end -- (most are plain)
  return (s:gsub("[^\33-\36\38-\126]", hex))
end

local function unesc(s)
  if not s:find("%", 1, true) then return s elseif s:gsub("%%%x%x", ""):find("%", 1, true) then return nil end
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function int(s) return s and s:match("^%-?%d+$") and math.tointeger(tonumber(s)) end

-- kind -> field types ("s" escaped string, "i" integer); drop: kind, name.
local SHAPES = {
  lab = "s", owner = "iii", netns = "s", ["netns-id"] = "sii", drop = "ss", proc = "ii",
  link = "s", ["link-id"] = "si", nft = "s", ["nft-id"] = "si", sysctl = "ss", cgroup = "s", ["cgroup-id"] = "si",
  node = "sss", veth = "ssss", pins = "", kept = "", spec = "sss",
}

--- Parses a record's text. A last line without its newline (cut short by
-- SIGKILL in the middle of a write) is ignored: nothing it names was made.
-- No code runs: lines are matched with patterns.
-- @tparam string text
-- @tparam string name for error messages
-- @treturn table|nil record {lab, pid, start, time, items}, or nil and why
function M.parse(text, name)
  if text:sub(1, #VERSION_LINE + 1) ~= VERSION_LINE .. "\n" then
    return nil, string.format("%s: not an nslab lab record (no %q line)", name, VERSION_LINE)
  end
  local rec, n = { items = {} }, 0
  for line in text:gmatch("([^\n]*)\n") do
    n = n + 1
    if n > 1 then
      local f = {}
      for w in line:gmatch("[^ ]+") do f[#f + 1] = w end
      local shape, item = SHAPES[f[1]], { f[1] }
      local ok = shape and #f == #shape + 1
      for i = 1, shape and #shape or 0 do
        local v
        if shape:sub(i, i) == "i" then v = int(f[i + 1]) else v = f[i + 1] and unesc(f[i + 1]) end
        if v == nil then ok = false end
        item[i + 1] = v
      end
      if not ok then
        return nil, string.format("%s: line %d is not a record item: %q", name, n, line:sub(1, 80))
      end
      if f[1] == "lab" then
        rec.lab = item[2]
      elseif f[1] == "owner" then
        rec.pid, rec.start, rec.time = item[2], item[3], item[4]
      else
        rec.items[#rec.items + 1] = item
      end
    end
  end
  if not (rec.lab and rec.pid) then return nil, string.format("%s: no lab or owner line", name) end
  return rec
end

--- Reads the record of lab name. A record another uid owns, or that group
-- or others may write, is not trusted (anyone could have planted what it
-- names).
-- @tparam string name
-- @treturn table|nil the record, or nil and a reason (nil, nil: none)
function M.load(name)
  local path = M.path_of(name)
  local text, info, errno = sys.read(path, M.max_size)
  if not text then
    if errno == E.ENOENT then return nil end
    return nil, info
  end
  if not info.mine then
    return nil, string.format("%s is owned by uid %d, not by this uid: not trusted", path, info.uid)
  end
  if info.mode & 18 ~= 0 then -- 022
    return nil, string.format("%s may be written by group or others (mode %04o): not trusted", path, info.mode)
  end
  local rec, err = M.parse(text, path)
  if rec and rec.lab ~= name then
    return nil, string.format("%s names lab %q", path, rec.lab)
  end
  return rec, err
end

--- What a record still covers: netns names (creation order), their
-- identities when recorded, and processes.
-- @tparam table rec a loaded record
-- @treturn table {netns = {name...}, ids = {[name] = {dev=, ino=}},
--   procs = {{pid=, start=}...}, outside = {{kind, name, id|old}...}}
--   (outside: links, nft tables and sysctls in nslab's own netns and
--   cgroup directories, in record order; id nil when never identified)
function M.contents(rec)
  local live, order, ids, procs = {}, {}, {}, {}
  local outside, at = {}, {}
  for _, it in ipairs(rec.items) do
    local k = it[1]
    if k == "link" or k == "nft" or k == "sysctl" or k == "cgroup" then
      local key = k .. " " .. it[2]
      if not at[key] then
        outside[#outside + 1] = { k, it[2], k == "sysctl" and it[3] or nil }
        at[key] = outside[#outside]
      end
    elseif (k == "link-id" or k == "nft-id" or k == "cgroup-id") and at[k:sub(1, -4) .. " " .. it[2]] then
      at[k:sub(1, -4) .. " " .. it[2]][3] = it[3]
    elseif k == "drop" and at[it[2] .. " " .. it[3]] then
      local gone = at[it[2] .. " " .. it[3]]
      at[it[2] .. " " .. it[3]] = nil
      for i, o in ipairs(outside) do
        if o == gone then table.remove(outside, i) break end
      end
    end
    if it[1] == "netns" then
      if live[it[2]] == nil then order[#order + 1] = it[2] end -- (made again after a drop: one entry)
      live[it[2]] = true
      ids[it[2]] = nil
    elseif it[1] == "netns-id" then
      ids[it[2]] = { dev = it[3], ino = it[4] }
    elseif it[1] == "proc" then
      procs[#procs + 1] = { pid = it[2], start = it[3] }
    elseif it[1] == "drop" and it[2] == "netns" then
      live[it[3]] = false
      ids[it[3]] = nil
    end
  end
  local netns = {}
  for _, n in ipairs(order) do
    if live[n] then netns[#netns + 1] = n end
  end
  return { netns = netns, ids = ids, procs = procs, outside = outside }
end

--- The names of all records, sorted; then the file names of records in an
-- older format (`NAME.lua`, Lua data), which are not read any more.
-- @treturn {string,...}
-- @treturn {string,...}
-- @raise an error object when /run/nslab cannot be read
function M.names()
  local names, old = {}, {}
  local list, err, errno = sys.readdir(M.dir)
  if not list then
    if errno == E.ENOENT then return names, old end
    raise("nslab.record", M.dir, errno, err)
  end
  for _, n in ipairs(list) do
    local lab = n:sub(1, -#M.ext - 1)
    if n:sub(-#M.ext) == M.ext and #lab > 0 then
      names[#names + 1] = lab
    elseif n:match("%.lua$") then
      old[#old + 1] = n
    end
  end
  return names, old
end

--- The identity of the netns bound at name: {dev=, ino=}, nil when the
-- name does not exist, or nil and why when it is no namespace (a symlink,
-- a plain file).
-- @tparam string name
-- @treturn table|nil
-- @treturn string|nil
function M.netns_id(name)
  local ok, dev, ino = pcall(Netns.id, name)
  if not ok then return nil, tostring(dev) end
  if dev == nil then return nil end
  return { dev = dev, ino = ino }
end

local function same(a, b) return a ~= nil and b ~= nil and a.dev == b.dev and a.ino == b.ino end
M.same_id = same

--- Deletes netns name only while it is the namespace of identity id (made
-- by lab): a name made again since, or never identified, is left alone.
-- @tparam string name
-- @tparam table|nil id {dev=, ino=}, nil when never recorded
-- @tparam string lab the lab that made it, for the message
-- @tparam function say called with the one-line message when left alone
-- @treturn boolean whether it was deleted
-- @raise kernel errors of `netns.del` other than the identity check
function M.del_netns(name, id, lab, say)
  local cur, why = M.netns_id(name)
  if cur == nil and why == nil then return false end
  -- Killed between creating /run/netns/NAME and mounting a namespace on it
  -- (identity recorded or not: batch.netns records all first). Only that goes.
  if cur == nil and Netns.del_placeholder(name) then return true end
  local text
  if id == nil then
    text = string.format("netns %q exists but lab %q did not record making it: left alone", name, lab)
  elseif not same(cur, id) then
    text = string.format("netns %q was re-created since lab %q made it: left alone", name, lab)
  else
    local ok, e = pcall(Netns.del, name, id)
    if ok then return true end
    if type(e) ~= "table" or e.code ~= "ESTALE" then error(e, 0) end
    text = string.format("netns %q was re-created since lab %q made it: left alone", name, lab)
  end
  say(text)
  return false
end

--- The record (and lab name) holding netns name as it is now (its
-- identity recorded by that lab), if any.
-- @tparam string netns
-- @treturn table|nil record
function M.owner_of(netns)
  local cur = M.netns_id(netns)
  if not cur then return nil end
  for _, lab in ipairs((M.names())) do
    local rec = M.load(lab)
    if rec and same(M.contents(rec).ids[netns], cur) then return rec end
  end
end

local Rec = {}
Rec.__index = Rec

local function line(...)
  local n, parts = select("#", ...), { ... }
  for i = 1, n do parts[i] = esc(parts[i]) end
  return table.concat(parts, " ", 1, n) .. "\n"
end

-- Writes path anew (through path.tmp and a rename), mode 0600.
local function write_tmp(path, text)
  local tmp = path .. ".tmp"
  local f, err = sys.open(tmp, "w")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  fault.at("record-tmp")
  if ok then ok, werr = f:close() else f:close() end
  if not ok then
    os.remove(tmp)
    return nil, werr
  end
  return os.rename(tmp, path)
end

-- Writes path anew with signals held back, so a Ctrl-C cannot leave the
-- .tmp file behind (the fault suite found one).
local function write_file(path, text)
  return core.defer_signals(write_tmp, path, text)
end

local function header(name, pid, start)
  return VERSION_LINE .. "\n" .. line("lab", name) .. line("owner", pid, start, os.time())
end

--- Creates the record of lab name, owned by this process; makes
-- /run/nslab (0755, this uid's) first if needed.
-- @tparam string name lab name (checked by the caller: `check_name`)
-- @tparam[opt] {table,...} items lines written with the header, each {kind, field...} as for `add`
-- @treturn table record handle with :add, :drop, :netns_add, :netns_del,
--   :owned_netns, :rewrite, :remove
-- @raise EACCES (or the errno) when /run/nslab cannot be made or written
-- (needs root or --rootless), EPERM when another uid owns it
function M.create(name, items)
  local pid = core.getpid()
  local start = M.proc_start(pid)
  local path = M.path_of(name)
  local text = { header(name, pid, start) }
  for _, it in ipairs(items or {}) do text[#text + 1] = line(table.unpack(it)) end -- nslab.attach
  local ok, err, errno = sys.mkdir(M.dir, tonumber("755", 8))
  if ok then ok, err, errno = write_file(path, table.concat(text)) end
  local f
  if ok then f, err, errno = sys.open(path, "a") end
  if not f then
    raise("nslab.lab", q(name), errno or E.EACCES, "cannot write the lab record: " .. tostring(err))
  end
  f:setvbuf("no") -- one write(2) per line
  return setmetatable({ name = name, path = path, pid = pid, start = start, f = f, ids = {} }, Rec)
end

--- Appends an item before it is created: ("netns", name) or
-- ("proc", pid, start); or ("netns-id", name, dev, ino) once it exists.
function Rec:add(kind, ...)
  if kind == "netns-id" then
    local name, dev, ino = ...
    self.ids[name] = { dev = dev, ino = ino }
  end
  if self.f then self.f:write(line(kind, ...)) end
end

--- Appends that an item is gone again: ("netns", name), ("link", name),
-- ("nft", table), ("sysctl", key).
function Rec:drop(kind, value)
  if kind == "netns" then self.ids[value] = nil end
  if self.f then self.f:write(line("drop", kind, value)) end
end

--- Creates netns name, recorded: the intent line first, its identity as
-- soon as the namespace exists and before it has its name, a drop line
-- when the creation fails.
-- @tparam string name
-- @raise what `netns.add` raises (after the drop line)
function Rec:netns_add(name)
  self:add("netns", name)
  local ok, e = pcall(Netns.add, name, {
    on_create = function(dev, ino) self:add("netns-id", name, dev, ino) end,
  })
  if not ok then
    self:drop("netns", name)
    error(e, 0)
  end
end

--- Deletes netns name if it is still the namespace this lab made (same
-- identity); otherwise leaves it alone and says so on stderr (or to say).
-- @tparam string name
-- @tparam[opt] function say receives the message (default: stderr)
-- @treturn boolean whether it was deleted
-- @raise kernel errors of `netns.del`
function Rec:netns_del(name, say)
  return M.del_netns(name, self.ids[name], self.name, say or function(text)
    io.stderr:write("nslab: ", text, "\n")
  end)
end

--- Of names, those still bound to the namespaces this lab made (for
-- emptying them of processes: never another's namespace of the same name).
-- @tparam {string,...} names
-- @treturn {string,...}
function Rec:owned_netns(names)
  local out = {}
  for _, n in ipairs(names) do
    if same(M.netns_id(n), self.ids[n]) then out[#out + 1] = n end
  end
  return out
end

--- Rewrites the record to hold exactly what is left (after a partial
-- close): each netns with its identity, each process, each line of what
-- is left outside (`lines`, each {kind, field...} as for `add`).
-- @tparam table left {netns = {...}, procs = {{pid, start}...}, lines = {{...}...}}
function Rec:rewrite(left)
  if self.f then self.f:close() end
  self.f = nil
  local parts = { header(self.name, self.pid, self.start) }
  for _, n in ipairs(left.netns or {}) do
    parts[#parts + 1] = line("netns", n)
    local id = self.ids[n]
    if id then parts[#parts + 1] = line("netns-id", n, id.dev, id.ino) end
  end
  for _, p in ipairs(left.procs or {}) do parts[#parts + 1] = line("proc", p.pid, p.start) end
  for _, l in ipairs(left.lines or {}) do parts[#parts + 1] = line(table.unpack(l)) end
  write_file(self.path, table.concat(parts))
end

--- Removes the record (everything it covered is gone).
function Rec:remove()
  if self.f then self.f:close() end
  self.f = nil
  os.remove(self.path)
end

--- Removes the record file of lab name (for clean).
function M.remove(name) os.remove(M.path_of(name)) end

M.Rec, M.EBADMSG = Rec, E.EBADMSG

return M
