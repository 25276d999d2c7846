--- nslab.schedule: link events on a timeline, run in the background
-- while the script or the REPL goes on (`lab:schedule`, `lab:flap`).
--
-- nslab has no threads, so a schedule is a process of its own: the
-- program nslab runs in (`/proc/self/exe`: nslab, or lua5.4 with the
-- module) started with `-e` in nslab's own namespaces, reading the
-- timeline as data (a Lua table literal on its stdin, loaded with no
-- environment: data, never code). Every event is checked and its link
-- found before the process starts; the process only sleeps until each
-- event's time (counted from the `lab:schedule` call, on the monotonic
-- clock) and does it with the primitives on the lab's namespaces. The lab
-- owns it like a spawned command: closing the lab (or `nslab --clean`)
-- ends it; a kept lab's schedule runs on after nslab exits (recorded, so
-- `nslab --clean` ends it), and so does one whose nslab was killed.
--
-- What `lab:show()` and a node's text say about a link (down, shaping)
-- follows the timeline: an event counts once its time has passed (or,
-- after `wait`, once the process reported it done).
-- @module nslab.schedule

-- "nslab" first: it registers nslab.core.
local nslab = require "nslab"
local core = nslab.core
local Exec = require "nslab.exec"
local linkctl = require "nslab.linkctl"
local shape = require "nslab.shape"
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local OP = "lab:schedule"
local EVENT = { at = "number", link = "table", state = "string", impair = "table|boolean" }

-- ---- data on a pipe: a table literal, no code ----

local function ser(v)
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t == "number" then return math.type(v) == "integer" and string.format("%d", v) or string.format("%.17g", v) end
  if t == "boolean" then return tostring(v) end
  if t == "table" then
    local out = {}
    for k, x in pairs(v) do out[#out + 1] = "[" .. ser(k) .. "]=" .. ser(x) end
    return "{" .. table.concat(out, ",") .. "}"
  end
  return "nil"
end

-- ---- checking the timeline ----

local function plain(e) return { netns = e.netns, ifname = e.ifname, port = e.port } end

-- One event, checked, as {at =, link =, ea =, eb =, state = | shape = {ab, ba}}.
-- Argument errors point at the script's line: levels count compile_one,
-- compile, M.start, lab:schedule, then the script.
local function compile_one(lab, i, ev)
  local where = string.format("event %d", i)
  if type(ev) ~= "table" then opts_mod.argerror(OP, 1, where .. ": table expected, got " .. type(ev), 5) end
  opts_mod.check(OP, 1, ev, EVENT, 6, where)
  if type(ev.at) ~= "number" or type(ev.link) ~= "table" or (ev.state == nil) == (ev.impair == nil) then
    opts_mod.argerror(OP, 1, where .. ": needs 'at', 'link' = {a, b} and one of 'state' or 'impair'", 5)
  end
  opts_mod.range(OP, where, "at", ev.at, 0)
  local link, ea, eb = linkctl.find(lab, OP, ev.link[1], ev.link[2], 1, 5, where)
  local c = { at = ev.at, link = link, ea = ea, eb = eb }
  local name = string.format("%q", linkctl.name(ea, eb))
  if ev.state then
    if ev.state ~= "down" and ev.state ~= "up" then
      opts_mod.invalid(OP, name, string.format('%s: unknown state %q (one of down, up)', where, ev.state))
    end
    c.state = ev.state
  elseif ev.impair == true then
    opts_mod.argerror(OP, 1, where .. ": 'impair' must be a table of options, or false for none", 5)
  elseif ev.impair then
    local spec = opts_mod.check(OP, 1, ev.impair, linkctl.LINK_SHAPE, 6, where .. ": impair")
    c.shape = { shape.directions(OP, 1, name .. " " .. where, spec, linkctl.mtu(ea, eb), 5) }
  else
    c.shape = {}
  end
  return c
end

-- The events, checked and sorted by time (stable), and the data the
-- schedule's process gets.
local function compile(lab, events)
  if type(events) ~= "table" then opts_mod.argerror(OP, 1, "table of events expected, got " .. type(events), 4) end
  local n = 0
  for _ in pairs(events) do n = n + 1 end
  if n ~= #events then
    opts_mod.argerror(OP, 1, string.format("events must be a list, with no hole (nil) or other key: %d entries, " ..
      "%d in sequence", n, #events), 4)
  end
  M.sync(lab)
  local list = {}
  for i, ev in ipairs(events) do
    local c = compile_one(lab, i, ev)
    c.seq = i
    list[#list + 1] = c
  end
  table.sort(list, function(x, y) return x.at < y.at or (x.at == y.at and x.seq < y.seq) end)
  local data = {}
  for i, c in ipairs(list) do
    local d = { at = c.at, ends = { plain(c.ea), plain(c.eb) }, state = c.state }
    if c.shape then d.shape = { ab = c.shape[1] or false, ba = c.shape[2] or false } end
    if c.state then
      -- A state is the same seen from either end: the link's own order,
      -- and the routes to put back when it comes up, if the process did
      -- not see it go down (those of now, unless it is down already:
      -- then those saved when it went down).
      local l = c.link
      d.ends = linkctl.ends(l)
      if linkctl.is_up(d.ends) or not l._routes then l._routes = linkctl.routes(d.ends) end
      d.routes, d.key = l._routes, tostring(l)
    end
    data[i] = d
  end
  return list, data
end

-- ---- the schedule's process ----

-- Runs the timeline data; prints "done I" after each event, or "error I
-- CODE TEXT" and exits 1.
local function run(data)
  local saved = {}
  for i, d in ipairs(data.events) do
    local wait = data.t0 + d.at - core.monotime()
    if wait > 0 then core.sleep(wait) end
    local ok, e = pcall(function()
      -- Down saves the routes only going from up to down; up puts
      -- them back once: a state the link is in already does nothing.
      local up = d.state and linkctl.is_up(d.ends)
      if d.state == "down" then
        if up then
          saved[d.key] = linkctl.routes(d.ends)
          linkctl.set_state(d.ends, false)
        end
      elseif d.state == "up" then
        if not up then linkctl.set_state(d.ends, true, saved[d.key] or d.routes) end
      else
        linkctl.shape(d.ends[1], d.ends[2], d.shape.ab or nil, d.shape.ba or nil)
      end
    end)
    if not ok then
      local code = type(e) == "table" and e.code or "EIO"
      io.stdout:write(string.format("error %d %s %s\n", i, code, (linkctl.describe(e):gsub("\n", " "))))
      io.stdout:flush()
      os.exit(1)
    end
    io.stdout:write("done ", i, "\n")
    io.stdout:flush()
  end
end

--- The schedule process's entry: reads the timeline from stdin and runs it.
function M._child()
  local text = io.stdin:read("a")
  local data = assert(load("return " .. text, "=schedule", "t", {}))()
  run(data)
end

-- ---- the handle ----

local Schedule = {}
Schedule.__index = Schedule

-- Notes on the lab what events 1..n did.
local function note_upto(self, n)
  for i = self._noted + 1, math.min(n, #self._list) do
    local c = self._list[i]
    if c.state then
      c.link.state = c.state
    else
      linkctl.note(c.link, c.ea, c.shape[1], c.shape[2])
    end
    self._noted = i
  end
end

--- Brings what the lab knows of its links up to date with the timeline.
function Schedule:sync()
  if self._result then return end
  local now = core.monotime() - self._t0
  local n = 0
  for i, c in ipairs(self._list) do
    if c.at <= now then n = i end
  end
  if not self._cancelled then note_upto(self, n) end
end

-- Ends the process's wait: what it reported done, and its error.
local function finish(self)
  local r = self._proc:wait()
  self._result = r
  local done, err = 0, nil
  for l in (r.stdout or ""):gmatch("[^\n]+") do
    local i = tonumber(l:match("^done (%d+)"))
    if i then done = i end
    local ei, code, text = l:match("^error (%d+) (%S+) (.*)$")
    if ei then err = { i = tonumber(ei), code = code, text = text } end
  end
  note_upto(self, done)
  self._done = done
  if err then
    local c = self._list[err.i]
    self._error = core.error { op = OP, object = string.format("event %d (at %g s)", c.seq, c.at),
      errno = E[err.code] or E.EIO, extack = err.text }
  elseif not r.ok and not self._cancelled then
    self._error = core.error { op = OP, object = "process", errno = E.EIO,
      extack = string.format("ended %s: %s", r.signal or ("with status " .. tostring(r.status)), r.stderr or "") }
  end
end

--- Waits until every event is done (at most timeout seconds).
-- @tparam[opt] number timeout seconds; nil: until the last event
-- @treturn boolean true when the schedule ended, false at the timeout
-- @raise the error object of the event that failed (op "lab:schedule",
-- object "event N (at T s)"), which ended the schedule
function Schedule:wait(timeout)
  local deadline = timeout and core.monotime() + timeout
  while not self._result and self._proc:running() do
    if deadline and core.monotime() >= deadline then return false end
    core.sleep(0.01)
  end
  if not self._result then finish(self) end
  if self._error then
    self._said = true
    error(self._error, 0)
  end
  return true
end

--- Stops the schedule: events not done yet never happen (the lab does
-- this when it closes). Does nothing once it ended.
function Schedule:cancel()
  if self._result then return end
  self._cancelled = true
  if self._proc:running() then
    self._proc:kill("SIGTERM")
    if not pcall(self._proc.wait, self._proc, 1) then self._proc:kill("SIGKILL") end
  end
  finish(self)
end

-- At the lab's close: cancelled (the process reaped); a failure that
-- `wait` did not raise is said on stderr, never dropped.
function Schedule:_close()
  self:cancel()
  if self._error and not self._said then
    self._said = true
    io.stderr:write(string.format("nslab: schedule of lab %s failed: %s\n", self._lab.name, tostring(self._error)))
  end
end

--- Whether events are still to come.
-- @treturn boolean
function Schedule:running()
  return not self._result and self._proc:running()
end

Schedule.__tostring = function(self)
  self:sync()
  local state = self._cancelled and "cancelled" or self._result and (self._error and "failed" or "done")
    or "running"
  return string.format("schedule of lab %s: %d event(s), %d done, %s", self._lab.name, #self._list,
    self._done or self._noted, state)
end

--- Starts a schedule (`lab:schedule`).
-- @tparam lab lab
-- @tparam {table,...} events
-- @treturn schedule
function M.start(lab, events)
  local list, data = compile(lab, events)
  local t0 = core.monotime()
  local code = "require('nslab.schedule')._child()"
  local proc = Exec.spawn(nil, { "/proc/self/exe", "-e", code }, {
    stdin = ser { t0 = t0, events = data },
    -- Not ended by nslab's exit: a kept lab's schedule runs on (closing
    -- the lab or --clean ends it), as its spawned commands do.
    pdeathsig = false,
    env = { LUA_PATH_5_4 = package.path, LUA_CPATH_5_4 = package.cpath, LUA_INIT_5_4 = false, LUA_INIT = false },
  })
  lab:_own(proc)
  local self = setmetatable({ _lab = lab, _proc = proc, _list = list, _t0 = t0, _noted = 0 }, Schedule)
  lab._schedules = lab._schedules or {}
  lab._schedules[#lab._schedules + 1] = self
  return self
end

--- Brings what lab knows of its links up to date with its schedules.
-- @tparam lab lab
function M.sync(lab)
  for _, s in ipairs(lab._schedules or {}) do s:sync() end
end

return M
