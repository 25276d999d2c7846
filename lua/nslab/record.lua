--- nslab.record: the ownership record of a lab under /run/nslab/.
--
-- A running lab writes /run/nslab/NAME.lua: who owns it (pid and the
-- process start time from /proc/PID/stat, so a reused pid is not taken for
-- the owner) and, one line per step, what it is about to create. The file
-- is Lua data, read back with `load(text, name, "t", {})` (no code can run:
-- the environment is empty). Lines are appended before each creation
-- (intent), and a `drop` line follows when the creation failed or was
-- undone, so a SIGKILL at any point leaves a record that covers everything
-- that may exist. `nslab --clean` reads these records; it removes what a
-- dead owner left and never touches a live lab or a name not recorded.
--
-- Only netns names and spawned processes are recorded: every lab link
-- lives inside lab namespaces and goes with them.
-- @module nslab.record
local core = require("nslab").core -- loading nslab registers nslab.core

local M = {}

--- The directory holding the records (tmpfs, gone at reboot as netns are).
M.dir = "/run/nslab"

local TAIL = "}}\n"

--- The start time of a process, in clock ticks after boot (field 22 of
-- /proc/PID/stat, proc(5)); nil when no such process (or a zombie).
-- @tparam integer pid
-- @treturn integer|nil
function M.proc_start(pid)
  local f = io.open("/proc/" .. math.tointeger(pid) .. "/stat")
  if not f then return nil end
  local s = f:read("a")
  f:close()
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

local function path_of(name) return M.dir .. "/" .. name .. ".lua" end

local function line(...)
  local parts = {}
  for i = 1, select("#", ...) do
    parts[i] = string.format("%q", (select(i, ...)))
  end
  return "{" .. table.concat(parts, ", ") .. "},\n"
end

--- Parses a record's text (possibly still open: no closing braces yet).
-- @tparam string text
-- @tparam string chunkname for error messages
-- @treturn table|nil record {lab, pid, start, time, items}, or nil and why
function M.parse(text, chunkname)
  if not text:find("}}%s*$") then text = text .. TAIL end
  local fn, err = load(text, "=" .. chunkname, "t", {})
  if not fn then return nil, err end
  local ok, rec = pcall(fn)
  if not ok or type(rec) ~= "table" or type(rec.items) ~= "table" then
    return nil, chunkname .. ": not an nslab lab record"
  end
  return rec
end

--- Reads the record of lab name.
-- @tparam string name
-- @treturn table|nil the record, or nil and a reason (nil, nil: none)
function M.load(name)
  local path = path_of(name)
  local f = io.open(path)
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return M.parse(text, path)
end

--- What a record still covers: netns names (creation order) and processes.
-- @tparam table rec a loaded record
-- @treturn table {netns = {name...}, procs = {{pid, start}...}}
function M.contents(rec)
  local live, order, procs = {}, {}, {}
  for _, it in ipairs(rec.items) do
    if it[1] == "netns" then
      if not live[it[2]] then order[#order + 1] = it[2] end
      live[it[2]] = true
    elseif it[1] == "proc" then
      procs[#procs + 1] = { pid = it[2], start = it[3] }
    elseif it[1] == "drop" and it[2] == "netns" then
      live[it[3]] = nil
    end
  end
  local netns = {}
  for _, n in ipairs(order) do
    if live[n] then netns[#netns + 1] = n end
  end
  return { netns = netns, procs = procs }
end

--- The names of all records, sorted.
-- @treturn {string,...}
function M.names()
  local names = {}
  -- Only on the rare paths (clean, a name clash): no per-node spawn.
  local p = io.popen("ls -A " .. M.dir .. " 2>/dev/null")
  if not p then return names end
  for n in p:lines() do
    local lab = n:match("^(.+)%.lua$")
    if lab then names[#names + 1] = lab end
  end
  p:close()
  table.sort(names)
  return names
end

--- The record (and lab name) holding netns name, if any lab recorded it.
-- @tparam string netns
-- @treturn table|nil record
function M.owner_of(netns)
  for _, lab in ipairs(M.names()) do
    local rec = M.load(lab)
    if rec then
      for _, n in ipairs(M.contents(rec).netns) do
        if n == netns then return rec end
      end
    end
  end
end

local Rec = {}
Rec.__index = Rec

local function own_start()
  local pid = core.getpid()
  return pid, M.proc_start(pid)
end

local function write_file(path, text)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then return nil, err end
  f:write(text)
  f:close()
  return os.rename(tmp, path)
end

local function header(name, pid, start)
  return string.format("-- nslab lab record: what lab %q created. `nslab --clean %s`\n" ..
    "-- removes it once process %d is gone.\nreturn {\nlab = %q, pid = %d, start = %d, time = %d,\nitems = {\n",
    name, name, pid, name, pid, start, os.time())
end

--- Creates the record of lab name, owned by this process.
-- @tparam string name lab name
-- @treturn table record handle with :add, :drop, :rewrite, :remove
-- @raise when /run/nslab cannot be written (needs root or --rootless)
function M.create(name)
  local pid, start = own_start()
  local path = path_of(name)
  local ok, err = write_file(path, header(name, pid, start))
  if not ok then
    os.execute("mkdir -p " .. M.dir) -- first lab since boot
    ok, err = write_file(path, header(name, pid, start))
  end
  if not ok then
    error(core.error { op = "nslab.lab", object = string.format("%q", name), errno = 13,
      code = "EACCES", msg = "cannot write the lab record: " .. tostring(err) }, 0)
  end
  local f = assert(io.open(path, "a"))
  f:setvbuf("no")
  return setmetatable({ name = name, path = path, pid = pid, start = start, f = f }, Rec)
end

--- Appends an item before it is created: ("netns", name) or ("proc", pid, start).
function Rec:add(...)
  if self.f then self.f:write(line(...)) end
end

--- Appends that an item is gone again: ("netns", name).
function Rec:drop(kind, value)
  if self.f then self.f:write(line("drop", kind, value)) end
end

--- Rewrites the record to hold exactly what is left (after a partial close).
-- @tparam table left {netns = {...}, procs = {{pid, start}...}}
function Rec:rewrite(left)
  if self.f then self.f:close() end
  self.f = nil
  local parts = { header(self.name, self.pid, self.start) }
  for _, n in ipairs(left.netns or {}) do parts[#parts + 1] = line("netns", n) end
  for _, p in ipairs(left.procs or {}) do parts[#parts + 1] = line("proc", p.pid, p.start) end
  parts[#parts + 1] = TAIL
  write_file(self.path, table.concat(parts))
end

--- Removes the record (everything it covered is gone).
function Rec:remove()
  if self.f then self.f:close() end
  self.f = nil
  os.remove(self.path)
end

--- Removes the record file of lab name (for clean).
function M.remove(name) os.remove(path_of(name)) end

return M
