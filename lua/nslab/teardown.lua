--- nslab.teardown: undoing what a lab made, for `nslab.lab`: rolling back
-- a building step that failed, and closing a lab (its processes ended,
-- its namespaces removed newest first, its record removed, or rewritten
-- to what could not be removed, for `nslab --clean`).
--
-- Not an API of its own: `lab:close()`, `<close>` and `__gc` call it.
-- @module nslab.teardown

-- "nslab" first: it registers nslab.core.
local nslab = require "nslab"
local core = nslab.core
local Netns = require "nslab.netns"
local Link = require "nslab.link"
local record = require "nslab.record"
local fault = require "nslab.fault"

local M = {}

-- In rootless mode (`nslab --rootless`, or its automatic fallback) labs
-- live in nslab's own user and network namespaces, which end with it:
-- nothing can be kept. Says so; returns true when keeping is possible.
function M.can_keep(name)
  if not rawget(_G, "NSLAB_ROOTLESS") then return true end
  io.stderr:write(string.format("nslab: lab %q cannot be kept in rootless mode: its namespaces end with " ..
    "nslab's own user namespace; it is removed at close as usual\n", name))
  return false
end

--- pcall that retries once when a signal's "interrupted" error landed in
-- the middle: teardown must finish even if Ctrl-C is pressed twice.
-- @tparam function fn
-- @return what pcall returns
function M.pcall_steady(fn)
  local ok, e = pcall(fn)
  if not ok and type(e) == "string" and e:find("interrupted (", 1, true) then
    ok, e = pcall(fn)
  end
  return ok, e
end
local pcall_steady = M.pcall_steady

--- Runs the undo entries of lab above mark, newest first, with signals
-- held back. An entry that fails to undo stays on the stack (and its
-- netns in the record) for close to retry.
-- @tparam lab lab
-- @tparam integer mark how many entries stay
function M.rollback(lab, mark)
  core.defer_signals(function()
    for i = #lab._undo, mark + 1, -1 do
      local u = lab._undo[i]
      if pcall_steady(u.fn) then
        table.remove(lab._undo, i)
        if u.netns then lab._rec:drop("netns", u.netns) end
        if u.drop then lab._rec:drop(u.drop[1], u.drop[2]) end
      end
    end
  end)
end

-- Ends every process living in the namespaces names (daemons, commands'
-- children, anything that entered them): SIGTERM, then after grace
-- seconds SIGKILL, then waits (at most 5 s) until none is left. Returns
-- how many were signalled first (also for lab:remove, nslab.live).
function M.empty_netns(names, grace)
  local pids = Netns.pids
  if #names == 0 or #pids(names) == 0 then return 0 end
  local n = Netns.kill(names, grace > 0 and "SIGTERM" or "SIGKILL")
  for _, step in ipairs { { "SIGKILL", grace }, { nil, 5 } } do
    local deadline = core.monotime() + step[2]
    while #pids(names) > 0 and core.monotime() < deadline do core.sleep(0.01) end
    if #pids(names) == 0 then break end
    if step[1] then Netns.kill(names, step[1]) end
  end
  return n
end

-- What a teardown cut short leaves: the netns (and record lines of what
-- is outside the lab: `lines`) of undo entries 1..upto and of those that
-- failed (in creation order), and the processes still running.
local function leftovers(lab, upto, failed)
  local left = { netns = {}, procs = {}, lines = {} }
  local function add(u)
    if u.netns then left.netns[#left.netns + 1] = u.netns end
    for _, l in ipairs(u.lines or {}) do left.lines[#left.lines + 1] = l end
  end
  for i = 1, upto do add(lab._undo[i]) end
  for _, u in ipairs(failed) do add(u) end
  for _, p in ipairs(lab._procs) do
    local ok, running = pcall(p.running, p)
    local start = record.proc_start(p.pid)
    if ok and running and start then left.procs[#left.procs + 1] = { pid = p.pid, start = start } end
  end
  return left
end

-- A kept lab: its spawned commands and schedules run on too (recorded:
-- --clean kills them); says how to remove it.
local function keep(lab)
  local runs = {}
  for _, s in ipairs(lab._schedules or {}) do
    if s:running() then runs[#runs + 1] = string.format("; schedule runs on (pid %d)", s._proc.pid) end
  end
  for _, p in ipairs(lab._procs) do
    if p:running() then p:detach() end
  end
  -- A notice, on stderr: `nslab --keep lab.lua > out` keeps out the script's.
  if lab._keep_quiet then return end
  io.stderr:write(string.format("nslab: lab %q kept: %d node(s) left running%s; remove them with `%s`\n",
    lab.name, #lab.nodes, table.concat(runs), record.clean_command(lab.name)))
end

--- Ends a spawned command: SIGTERM, 1 s, SIGKILL, reaped (also for
-- lab:remove, nslab.live).
-- @tparam proc p
function M.end_proc(p)
  pcall_steady(function()
    if p:running() then
      p:kill()
      p:wait(1)
      if p:running() then p:kill("SIGKILL") p:wait() end
    end
  end)
end

-- Ends the lab's processes: its spawned commands (SIGTERM, 1 s, SIGKILL),
-- then whatever else lives in its namespaces (daemons, children that left
-- their group, `ip netns exec` shells): they would keep them alive. Adds
-- to problems what is still running.
local function end_processes(lab, problems)
  for i = #lab._procs, 1, -1 do M.end_proc(lab._procs[i]) end
  local names = {}
  for i, node in ipairs(lab.nodes) do names[i] = node.netns end
  -- Only the namespaces this lab made: a name deleted and re-created by
  -- someone else since holds their processes, not ours.
  names = lab._rec:owned_netns(names)
  local emptied, why = pcall_steady(function()
    M.empty_netns(names, 0.2)
    local n = #Netns.pids(names)
    if n > 0 then error(string.format("%d process(es) still live in its netns", n), 0) end
  end)
  if not emptied then problems[#problems + 1] = tostring(why) end
end

--- The teardown proper, run by the lab with signals held back once it is
-- marked closed: ends the processes, runs the undo entries newest first
-- (links go with their namespaces), then removes the record, or rewrites
-- it to what is left (never removes it) when anything failed or cut the
-- teardown short, so `nslab --clean` ends it. A kept lab (`lab:keep()`,
-- `nslab --keep`) is left running.
-- @tparam lab lab
-- @treturn {string,...} the problems (empty when everything went)
function M.run(lab)
  lab:_quiet()
  -- (a lab with no node has nothing to keep: `nslab --keep` of a script
  -- that failed at its first node leaves nothing behind)
  if (lab._keep or rawget(_G, "NSLAB_KEEP")) and (#lab.nodes > 0 or #lab._undo > 0) then
    keep(lab)
    return {}
  end
  local problems, failed, upto = {}, {}, #lab._undo
  local ok, err = pcall(function()
    -- Daemons first, stopped gracefully (nslab.daemon), then schedules:
    -- cancelled, reaped, their failures said.
    for _, f in ipairs(lab._closers or {}) do pcall_steady(f) end
    for _, s in ipairs(lab._schedules or {}) do pcall_steady(function() s:_close() end) end
    end_processes(lab, problems)
    fault.at("teardown")
    for i = #lab._undo, 1, -1 do
      local u = lab._undo[i]
      if not u.covered then
        local done, e = pcall_steady(u.fn)
        if not done then
          problems[#problems + 1] = tostring(e)
          table.insert(failed, 1, u)
        end
      end
      upto = i - 1
    end
  end)
  if not ok then problems[#problems + 1] = "teardown cut short: " .. tostring(err) end
  -- links deleted in the background (lab:unlink, lab:remove, lab:apply):
  -- their helpers waited for, so none outlives the lab
  pcall(Link.settle)
  if #problems == 0 then lab._rec:remove() else lab._rec:rewrite(leftovers(lab, upto, failed)) end
  return problems
end

--- The one-line text of a teardown's problems.
-- @tparam lab lab
-- @tparam {string,...} problems
-- @treturn string
function M.problems_text(lab, problems)
  return string.format("lab %q: could not remove: %s (see `%s`)",
    lab.name, table.concat(problems, "; "), record.clean_command(lab.name))
end

return M
