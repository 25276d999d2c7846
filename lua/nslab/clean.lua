--- nslab.clean: `nslab --clean [NAME]`, removing what dead labs left
-- behind, as their records (`nslab.record`) say.
-- @module nslab.clean
-- "nslab" first: it registers nslab.core (`nslab --clean` loads this alone).
local nslab = require "nslab"
local core = nslab.core
local record = require "nslab.record"

local EINVAL, ENOENT, EBADMSG = 22, 2, 74

local M = {}

local function q(s) return string.format("%q", s) end

local function raise(op, object, errno, why)
  error(core.error { op = op, object = object, errno = errno, extack = why }, 0)
end

-- Why a lab's record cannot be trusted, and what to do by hand.
local function unreadable_text(name, err)
  return string.format("the record of lab %q cannot be read (%s): nslab cannot tell what it made; " ..
    "remove its namespaces by hand (ip netns del NAME) and then the record", name, tostring(err))
end

local function check_name(op, name)
  if type(name) ~= "string" then
    error(string.format("bad argument #1 to '%s' (name must be a string, got %s)", op, type(name)), 3)
  end
  if name == "" or name == "." or name == ".." or name:find("/", 1, true) or #name > 200 then
    raise(op, q(name), EINVAL, string.format("invalid name %q (1..200 bytes, no '/', not '.' or '..')", name))
  end
end

-- Ends every process living in the namespaces names: SIGKILL, then waits
-- (at most 5 s) until none is left.
local function empty_netns(names)
  local pids = nslab.netns.pids
  if #names == 0 or #pids(names) == 0 then return 0 end
  local n = nslab.netns.kill(names, "SIGKILL")
  local deadline = core.monotime() + 5
  while #pids(names) > 0 and core.monotime() < deadline do
    core.sleep(0.01)
    nslab.netns.kill(names, "SIGKILL")
  end
  return n
end

--- Removes what dead labs left behind: `nslab --clean [NAME]`.
-- Kills the recorded processes still running with their process groups
-- (a recorded pid whose start time differs is someone else: left alone),
-- then every process living in the recorded netns (daemons, children of
-- commands: what `ip netns pids` lists), deletes the recorded netns that
-- still exist (newest first), removes the record. A lab whose process
-- still runs is left alone; names no lab recorded are never touched, nor
-- names now recorded by a running lab.
-- @tparam[opt] string name one lab; nil for every dead lab
-- @treturn {string,...} the netns removed
-- @raise EBUSY error object when name is a running lab; ENOENT when no
-- record of name exists
function M.clean(name)
  local names = name and { name } or record.names()
  local live_names, recs, unreadable = {}, {}, {}
  for _, lab in ipairs(record.names()) do
    local rec, err = record.load(lab)
    if not rec then unreadable[lab] = err end
    if rec then
      recs[lab] = rec
      if record.alive(rec.pid, rec.start) then
        for _, n in ipairs(record.contents(rec).netns) do live_names[n] = lab end
      end
    end
  end
  if name then
    check_name("nslab.lab.clean", name)
    if unreadable[name] then
      raise("nslab.lab.clean", q(name), EBADMSG, unreadable_text(name, unreadable[name]))
    end
    if not recs[name] then
      raise("nslab.lab.clean", q(name), ENOENT, string.format("no lab %q recorded in %s", name, record.dir))
    end
  end
  local removed = {}
  for _, lab in ipairs(names) do
    local rec = recs[lab]
    if not rec then
      if unreadable[lab] then print("nslab: " .. unreadable_text(lab, unreadable[lab])) end
      goto next
    end
    if record.alive(rec.pid, rec.start) then
      if name then
        raise("nslab.lab.clean", q(lab), 16,
          string.format("lab %q is running (pid %d): it cleans up when it ends", lab, rec.pid))
      end
      print(string.format("lab %q is running (pid %d): left alone", lab, rec.pid))
      goto next
    end
    local c = record.contents(rec)
    local mine, doomed = {}, {}
    for _, ns in ipairs(c.netns) do
      if not live_names[ns] then mine[#mine + 1] = ns end
    end
    -- Counted once each: a recorded command usually lives in a lab netns.
    for _, pid in ipairs(nslab.netns.pids(mine)) do doomed[pid] = true end
    -- Each spawned command leads its own process group (pgid = pid); the
    -- start time proves the pid is still that command, so a reused pid is
    -- never hit. A group whose leader is gone is left to the netns scan.
    for _, p in ipairs(c.procs) do
      if record.alive(p.pid, p.start) then
        os.execute("kill -KILL -- -" .. math.tointeger(p.pid) .. " " .. math.tointeger(p.pid) .. " 2>/dev/null")
        doomed[math.tointeger(p.pid)] = true
      end
    end
    empty_netns(mine)
    local killed = 0
    for _ in pairs(doomed) do killed = killed + 1 end
    local n, failed = 0, {}
    if #nslab.netns.pids(mine) > 0 then failed[1] = "processes still live in its netns" end
    for i = #c.netns, 1, -1 do
      local ns = c.netns[i]
      if live_names[ns] then
        print(string.format("netns %q now belongs to running lab %q: left alone", ns, live_names[ns]))
      elseif nslab.netns.exists(ns) then
        local ok, e = pcall(nslab.netns.del, ns)
        if ok then
          n = n + 1
          removed[#removed + 1] = ns
        else
          failed[#failed + 1] = tostring(e)
        end
      end
    end
    if #failed > 0 then
      error(string.format("lab %q: could not remove: %s", lab, table.concat(failed, "; ")), 0)
    end
    record.remove(lab)
    print(string.format("lab %q (pid %d, gone): removed %d netns, killed %d process(es)", lab, rec.pid, n, killed))
    ::next::
  end
  return removed
end

return M
