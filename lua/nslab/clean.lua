--- nslab.clean: `nslab --clean [NAME]`, removing what dead labs left
-- behind, as their records (`nslab.record`) say, and nothing else.
--
-- What a record names is identified, never trusted by name: a netns is
-- removed only while /run/netns/NAME is still the namespace the lab made
-- (the nsfs device and inode recorded when it was created), a process is
-- signalled only while its pid is still the process that started at the
-- recorded start time (checked through a pidfd), and pid 1, process
-- group 1, 0 or -1, and nslab itself are never signalled. A record is
-- data: one that cannot be read, is too large, is owned by another uid or
-- may be written by group or others is reported by name and not used, and
-- the other labs are cleaned all the same.
-- @module nslab.clean

-- "nslab" first: it registers nslab.core (`nslab --clean` loads this alone).
local nslab = require "nslab"
local core = nslab.core
local Netns = require "nslab.netns"
local record = require "nslab.record"
local uplink = require "nslab.uplink"

-- errno names from the C library (src/core/err.c), never numbers here.
local E = core.errno

local M = {}

local function q(s) return string.format("%q", s) end

local raise = require("nslab.opts").raise

local function say(text) io.stdout:write(text, "\n") end

-- Ends every process living in the namespaces names: SIGKILL, then waits
-- (at most 5 s) until none is left. Returns how many were signalled.
local function empty_netns(names)
  local pids = Netns.pids
  if #names == 0 or #pids(names) == 0 then return 0 end
  local n = Netns.kill(names, "SIGKILL")
  local deadline = core.monotime() + 5
  while #pids(names) > 0 and core.monotime() < deadline do
    core.sleep(0.01)
    n = n + Netns.kill(names, "SIGKILL")
  end
  return n
end

-- Kills the recorded commands still running as themselves, with their
-- process groups (each spawned command leads one). Returns the count.
local function kill_procs(lab, procs)
  local n = 0
  for _, p in ipairs(procs) do
    if p.pid <= 1 or record.is_self(p.pid) then
      say(string.format("lab %q: its record names pid %d: never signalled", lab, p.pid))
    elseif record.alive(p.pid, p.start) then
      local ok, hit = pcall(core.record.kill_group, p.pid, p.start, "SIGKILL")
      if ok then
        n = n + hit
      else
        say(string.format("lab %q: %s", lab, tostring(hit)))
      end
    end
  end
  return n
end

-- Cleans one dead lab; returns the netns removed. Raises a string naming
-- what could not be removed (the record then stays).
local function clean_one(lab, rec, live_ids)
  local c = record.contents(rec)
  local mine, removed_early = {}, {}
  for _, ns in ipairs(c.netns) do
    local cur, why = record.netns_id(ns)
    local id = c.ids[ns]
    if cur == nil and why == nil then -- gone already
      goto next
    elseif cur == nil and Netns.del_placeholder(ns) then
      -- killed between creating /run/netns/NAME and mounting the
      -- namespace on it: an empty file, no namespace, nothing else (its
      -- identity may be recorded: batch.netns records all before naming)
      removed_early[#removed_early + 1] = ns
    elseif id == nil then
      say(string.format("netns %q exists but lab %q did not record making it: left alone", ns, lab))
    elseif not record.same_id(cur, id) then
      say(string.format("netns %q was re-created since lab %q made it: left alone", ns, lab))
    elseif live_ids[cur.dev .. ":" .. cur.ino] then
      say(string.format("netns %q now belongs to running lab %q: left alone", ns,
        live_ids[cur.dev .. ":" .. cur.ino]))
    else
      mine[#mine + 1] = ns
    end
    ::next::
  end
  local killed = kill_procs(lab, c.procs)
  killed = killed + empty_netns(mine)
  local removed, failed = removed_early, {}
  if #Netns.pids(mine) > 0 then failed[1] = "processes still live in its netns" end
  for _, it in ipairs(rec.items) do
    if it[1] == "pins" then -- its nodes' namespaces bound under /run/nslab/ns/NAME (nslab.pins)
      local ok, e = pcall(require("nslab.pins").remove, lab)
      if not ok then failed[#failed + 1] = tostring(e) end
      break
    end
  end
  for i = #mine, 1, -1 do
    local ok, e = pcall(record.del_netns, mine[i], c.ids[mine[i]], lab, say)
    if not ok then
      failed[#failed + 1] = tostring(e)
    elseif e then
      removed[#removed + 1] = mine[i]
    end
  end
  -- What its uplinks changed in nslab's own namespace and its cgroup
  -- directories, newest first.
  for i = #c.outside, 1, -1 do
    local o = c.outside[i]
    local ok, e = pcall(o[1] == "cgroup" and require("nslab.cgroup").clean_item or uplink.clean_item, o, lab, say)
    if not ok then failed[#failed + 1] = tostring(e) end
  end
  if #failed > 0 then
    error(string.format("lab %q: could not remove: %s", lab, table.concat(failed, "; ")), 0)
  end
  record.remove(lab)
  say(string.format("lab %q (pid %d, gone): removed %d netns, killed %d process(es)", lab, rec.pid,
    #removed, killed))
  return removed
end

--- Removes what dead labs left behind: `nslab --clean [NAME]`.
-- For each lab whose process is gone: kills its recorded commands still
-- running (pid and start time both match) with their process groups, then
-- every process living in its recorded netns that are still the
-- namespaces it made (what `ip netns pids` lists), deletes those netns
-- (newest first) and the record. Left alone, each with a line saying so:
-- a running lab, a netns re-created under a recorded name since (by `ip
-- netns add`, another lab, anything), a netns whose identity the lab did
-- not record, and any name no lab recorded. A record that cannot be used
-- (malformed, larger than `nslab.record.max_size`, another uid's, writable
-- by group or others) is reported by name and kept; the others are
-- cleaned all the same. Records of older nslab versions (`NAME.lua`) are
-- not read: they are listed, to remove by hand.
-- @tparam[opt] string name one lab; nil for every dead lab
-- @treturn {string,...} the netns removed
-- @raise EINVAL for a bad name; EBUSY error object when name is a
-- running lab; ENOENT when no record of name exists; EBADMSG when its
-- record cannot be used; with no name, EIO after cleaning the rest when
-- a record could not be used or a lab not fully removed
function M.clean(name)
  if name ~= nil then record.check_name("nslab.lab.clean", name) end
  local all, old = record.names()
  local recs, bad, live_ids = {}, {}, {}
  for _, lab in ipairs(all) do
    local rec, err = record.load(lab)
    if rec then
      recs[lab] = rec
      if record.alive(rec.pid, rec.start) then
        local c = record.contents(rec)
        for _, ns in ipairs(c.netns) do
          local id = c.ids[ns]
          if id then live_ids[id.dev .. ":" .. id.ino] = lab end
        end
      end
    else
      bad[lab] = err or "unreadable"
    end
  end
  if name then
    if bad[name] then
      raise("nslab.lab.clean", q(name), E.EBADMSG, record.unreadable_text(name, bad[name]))
    end
    if not recs[name] then require("nslab.kept").load("nslab.lab.clean", name) end
  end
  for _, f in ipairs(old) do
    say(string.format("%s/%s is a record of an older nslab, not read: remove its namespaces by hand " ..
      "(ip netns del NAME), then the file", record.dir, f))
  end
  local removed, problems = {}, {}
  for _, lab in ipairs(name and { name } or all) do
    local rec = recs[lab]
    if not rec then
      say("nslab: " .. record.unreadable_text(lab, bad[lab]))
      problems[#problems + 1] = lab
    elseif record.alive(rec.pid, rec.start) then
      if name then
        raise("nslab.lab.clean", q(lab), E.EBUSY, string.format("lab %q is running (pid %d): it cleans up when it ends",
          lab, rec.pid))
      end
      say(string.format("lab %q is running (pid %d): left alone", lab, rec.pid))
    else
      -- Under the record's lock (nslab.guest): read again, as a guest may
      -- have appended to it; gone or replaced meanwhile: nothing to do.
      local ok, r = pcall(function()
        local out = {}
        core.record.locked(record.path_of(lab), function()
          out = clean_one(lab, record.load(lab) or rec, live_ids)
        end)
        return out
      end)
      if not ok then
        if name then error(r, 0) end
        say("nslab: " .. tostring(r))
        problems[#problems + 1] = lab
      else
        for _, ns in ipairs(r) do removed[#removed + 1] = ns end
      end
    end
  end
  if #problems > 0 then
    raise("nslab.lab.clean", nil, E.EIO, string.format("%d lab(s) not cleaned: %s (see above)", #problems,
      table.concat(problems, ", ")))
  end
  return removed
end

return M
