-- scripts/faults/run.lua: fault injection on a 20-node lab (issue 11).
-- `make check-faults` runs it inside the spec sandbox (tools/sandbox.sh);
-- never run it on a host, it removes every netns, record and stray
-- process it finds between trials.
--
-- Each trial starts `nslab scripts/faults/lab20.lua`, waits until the lab
-- prints the marker of the phase the trial aims at ("phase build", "phase
-- run", "phase close"), sleeps a random fraction of that phase's measured
-- length and delivers one of: SIGINT, SIGTERM or SIGHUP (once, or twice a
-- few ms apart), or SIGKILL followed by `nslab --clean`. Then it checks
-- that nothing is left: no netns in /run/netns, no link but lo, no mount
-- under /run/netns, no process (the driver's own aside), no record in
-- /run/nslab; and that the same lab re-runs at once and exits 0. Where
-- the signal landed is read from the lab's markers (CLOCK_MONOTONIC times,
-- the clock this driver reads), so the table counts the phase that was
-- actually hit. After a trial that left something the driver removes it
-- (`nslab --clean`, then by force) so the next trial starts clean.
--
-- Refuses to run outside tools/sandbox.sh (NSLAB_IN_SANDBOX=1).
-- Environment: TRIALS (default 100), SEED (default: the time; printed:
-- the same seed gives the same schedule of signals, phases and offsets),
-- SIGNALS (default "INT,TERM,HUP,KILL"), PHASES (default
-- "build,run,close"); each round of trials aims every signal (once, twice)
-- at every phase once, in a random order. FAULTS_LOG=1 prints every trial, not only the bad
-- ones. Prints a table per signal and phase (delivered, left something,
-- re-run failed) and a summary line; exits 1 if any trial left anything,
-- hung, crashed or failed its re-run, 2 if the lab does not even run
-- cleanly alone.
if os.getenv("NSLAB_IN_SANDBOX") ~= "1" then
  io.stderr:write("faults: run me in the sandbox (make check-faults, or tools/sandbox.sh ./nslab ",
    arg and arg[0] or "scripts/faults/run.lua", "): between trials I remove every netns, record",
    " and process I did not find at the start\n")
  os.exit(2)
end
local nslab = require "nslab"
local now, sleep = nslab.core.monotime, nslab.core.sleep

io.stdout:setvbuf("line")
local dir = arg and arg[0] and arg[0]:match("^(.*)/") or "."
local lab_script = dir .. "/lab20.lua"
local bin = (function()
  local f = assert(io.popen("readlink /proc/" .. nslab.core.getpid() .. "/exe"))
  local exe = f:read("l")
  f:close()
  return exe
end)()
local me = nslab.core.getpid()

local function env_list(name, default)
  local t = {}
  for w in (os.getenv(name) or default):gmatch("[^,%s]+") do t[#t + 1] = w:upper():gsub("^SIG", "") end
  return t
end
local trials = math.tointeger(tonumber(os.getenv("TRIALS") or "100"))
assert(trials and trials >= 1, "TRIALS must be a positive integer")
local seed = math.tointeger(tonumber(os.getenv("SEED") ~= "" and os.getenv("SEED") or os.time()))
assert(seed, "SEED must be an integer")
local verbose = (os.getenv("FAULTS_LOG") or "") ~= ""
math.randomseed(seed)

-- ---- what is there: netns, links, mounts, processes, records ----

-- The lines of a file; none when it is gone (a /proc/PID that exited
-- between the listing and the read).
local function lines(path)
  local t, f = {}, io.open(path)
  if not f then return t end
  local text = f:read("a") or ""
  f:close()
  for l in text:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

local function ls(path)
  local t, f = {}, io.popen("ls -A " .. path .. " 2>/dev/null")
  for n in f:lines() do t[n] = true end
  f:close()
  return t
end

-- Live processes other than this one and its descendants (the `ls` this
-- very listing runs): pid -> comm.
local function processes()
  local info = {}
  local f = io.popen("ls /proc")
  for pid in f:lines() do
    local st = pid:match("^%d+$") and lines("/proc/" .. pid .. "/stat")[1]
    local comm, state, ppid = (st or ""):match("^%d+ %((.*)%) (%S) (%d+)")
    if comm and state ~= "Z" then info[pid] = { comm = comm, ppid = ppid } end
  end
  f:close()
  local t = {}
  for pid, p in pairs(info) do
    local up, mine = pid, false
    for _ = 1, 64 do
      if tonumber(up) == me then mine = true break end
      if not info[up] then break end
      up = info[up].ppid
    end
    if not mine then t[pid] = p.comm end
  end
  return t
end

local function snapshot()
  local s = { netns = ls("/run/netns"), records = ls("/run/nslab"), links = {}, mounts = {} }
  for _, l in ipairs(lines("/proc/net/dev")) do
    local n = l:match("^%s*([^:%s]+):")
    if n then s.links[n] = true end
  end
  for _, l in ipairs(lines("/proc/self/mountinfo")) do
    local mp = l:match("^%S+ %S+ %S+ %S+ (%S+)")
    if mp and mp:find("^/run/netns/") then s.mounts[mp] = true end
  end
  s.procs = processes()
  return s
end

local kind_rank = { netns = 1, mount = 2, link = 3, process = 4, record = 5 }

-- What s has that base had not: a sorted list of "kind name".
local function leftovers(base, s)
  local left = {}
  for kind, word in pairs { netns = "netns", mounts = "mount", links = "link", records = "record" } do
    for n in pairs(s[kind]) do
      if not base[kind][n] then left[#left + 1] = word .. " " .. n end
    end
  end
  for pid, comm in pairs(s.procs) do
    if not base.procs[pid] then left[#left + 1] = "process " .. pid .. "(" .. comm .. ")" end
  end
  table.sort(left, function(a, b)
    local ka, na = a:match("^(%S+) (.*)$")
    local kb, nb = b:match("^(%S+) (.*)$")
    if ka ~= kb then return kind_rank[ka] < kind_rank[kb] end
    local pa, ia = na:match("^(.-)(%d*)$")
    local pb, ib = nb:match("^(.-)(%d*)$")
    if pa == pb and ia ~= "" and ib ~= "" then return tonumber(ia) < tonumber(ib) end
    return na < nb
  end)
  return left
end

local base -- what was there before the first trial: never counted

-- left, without the processes that end by themselves within 0.5 s (an
-- `ls` the killed nslab had started, still finishing as an orphan).
local function settled(left)
  local procs = false
  for _, l in ipairs(left) do procs = procs or l:find("^process ") ~= nil end
  if not procs then return left end
  sleep(0.5)
  local still, out = {}, {}
  for _, l in ipairs(leftovers(base, snapshot())) do still[l] = true end
  for _, l in ipairs(left) do
    if not l:find("^process ") or still[l] then out[#out + 1] = l end
  end
  return out
end

-- ---- running the lab ----

local marks_file, err_file = os.tmpname(), os.tmpname()
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Starts the lab: its stdout (the markers) and stderr go to files, and the
-- shell execs nslab, so the proc's group holds nslab alone, as a terminal's
-- Ctrl-C or kill(1) would reach it.
local function start_lab()
  for _, path in ipairs { marks_file, err_file } do assert(io.open(path, "w")):close() end
  local sh = string.format("exec %s %s >%s 2>%s", q(bin), q(lab_script), q(marks_file), q(err_file))
  return nslab.spawn(nil, { "/bin/sh", "-c", sh }, { capture = false })
end

local function marks()
  local t = {}
  for _, l in ipairs(lines(marks_file)) do
    local p, time = l:match("^phase (%a+) ([%d.]+)$")
    if p then t[p] = tonumber(time) end
  end
  return t
end

local function first_error()
  for _, l in ipairs(lines(err_file)) do
    if l:find("%S") then return (l:gsub("^%s+", ""):sub(1, 160)) end
  end
  return "(no message)"
end

-- How a wait result ended: "exit 0", "SIGINT", ...
local function how(r)
  if r.timed_out then return "hung" end
  return r.signal or ("exit " .. tostring(r.status))
end

-- Runs the lab to its end; returns ok, how it ended, the markers.
local function run_lab()
  local p = start_lab()
  local r = p:wait(60)
  return r.status == 0 and not r.timed_out, how(r), marks()
end

-- ---- restoring a clean state after a trial that left something ----

local function clean(timeout)
  local r = nslab.exec(nil, { bin, "--clean" }, { timeout = timeout or 30 })
  return r.ok, (r.stdout .. r.stderr):gsub("%s+$", "")
end

-- Removes what a trial left: `nslab --clean` first, then by force.
-- Returns what --clean alone left (empty: it removed everything).
local function restore()
  clean()
  local after_clean = settled(leftovers(base, snapshot()))
  if #after_clean == 0 then return after_clean end
  local s = snapshot()
  local names = {}
  for n in pairs(s.netns) do
    if not base.netns[n] then names[#names + 1] = n end
  end
  if #names > 0 then
    pcall(nslab.netns.kill, names, "SIGKILL")
    local deadline = now() + 5
    while #nslab.netns.pids(names) > 0 and now() < deadline do sleep(0.01) end
    for _, n in ipairs(names) do pcall(nslab.netns.del, n) end
  end
  local pids = {}
  for pid in pairs(s.procs) do
    if not base.procs[pid] then pids[#pids + 1] = pid end
  end
  if #pids > 0 then os.execute("kill -KILL " .. table.concat(pids, " ") .. " 2>/dev/null") end
  for r in pairs(s.records) do
    if not base.records[r] then os.remove("/run/nslab/" .. r) end
  end
  for l in pairs(s.links) do
    if not base.links[l] then pcall(nslab.link.del, l) end
  end
  for mp in pairs(s.mounts) do
    if not base.mounts[mp] then os.execute("umount -l " .. q(mp) .. " 2>/dev/null") end
  end
  local deadline, left = now() + 5
  repeat
    left = leftovers(base, snapshot())
    if #left == 0 then return after_clean end
    sleep(0.05)
  until now() > deadline
  io.stderr:write("faults: cannot restore a clean state, left: ", table.concat(left, ", "), "\n")
  os.exit(2)
end

-- ---- calibration: the lab alone, three times ----

base = snapshot()
for kind, set in pairs { netns = base.netns, records = base.records } do
  if next(set) then io.stderr:write("faults: warning: ", kind, " present before the first trial\n") end
end
local order = { "build", "run", "close", "done" }

-- Phase lengths of the last complete runs (calibration, then every
-- re-run): a trial aims at their median, so the aim follows the load.
local recent = {}
local dur = { build = 0, run = 0, close = 0 }
local function measured(m)
  if not (m.build and m.run and m.close and m.done) then return end
  table.insert(recent, m)
  if #recent > 15 then table.remove(recent, 1) end
  for i = 1, 3 do
    local d = {}
    for j, r in ipairs(recent) do d[j] = r[order[i + 1]] - r[order[i]] end
    table.sort(d)
    dur[order[i]] = d[(#d + 1) // 2]
  end
end

for _ = 1, 3 do
  local ok, ended, m = run_lab()
  local left = leftovers(base, snapshot())
  if not ok or #left > 0 or not m.done then
    io.stderr:write("faults: the lab does not run cleanly alone (", ended, "): ", first_error(),
      #left > 0 and "; left: " .. table.concat(left, ", ") or "", "\n")
    restore()
    os.exit(2)
  end
  measured(m)
end

-- ---- the schedule ----

local modes = {}
for _, s in ipairs(env_list("SIGNALS", "INT,TERM,HUP,KILL")) do
  if s == "KILL" then
    modes[#modes + 1] = { sig = "SIGKILL", n = 1, label = "SIGKILL+clean" }
  else
    assert(s == "INT" or s == "TERM" or s == "HUP", "SIGNALS: INT, TERM, HUP or KILL, not " .. s)
    modes[#modes + 1] = { sig = "SIG" .. s, n = 1, label = "SIG" .. s }
    modes[#modes + 1] = { sig = "SIG" .. s, n = 2, label = "SIG" .. s .. " x2" }
  end
end
local phases = env_list("PHASES", "build,run,close")
for i, p in ipairs(phases) do
  phases[i] = p:lower()
  assert(dur[phases[i]], "PHASES: build, run or close, not " .. p)
end

local function shuffle(t)
  for i = #t, 2, -1 do
    local j = math.random(i)
    t[i], t[j] = t[j], t[i]
  end
end
-- Every signal in every phase once per round, in a shuffled order.
local combos = {}
for _, m in ipairs(modes) do
  for _, p in ipairs(phases) do combos[#combos + 1] = { mode = m, phase = p } end
end

-- "netns 20 (f20-h1, f20-h10, ...), mount 20 (...), record f20.lua": what a
-- leftovers list holds, by kind, three names each at most.
local function summary(left)
  local by, kinds = {}, {}
  for _, l in ipairs(left) do
    local k, n = l:match("^(%S+) (.*)$")
    if not by[k] then by[k], kinds[#kinds + 1] = {}, k end
    table.insert(by[k], n)
  end
  local out = {}
  for _, k in ipairs(kinds) do
    local names = by[k]
    local shown = table.concat(names, ", ", 1, math.min(3, #names)) .. (#names > 3 and ", ..." or "")
    out[#out + 1] = #names == 1 and k .. " " .. shown or string.format("%s %d (%s)", k, #names, shown)
  end
  return table.concat(out, ", ")
end

-- ---- one trial ----

local function wait_mark(p, deadline)
  while now() < deadline do
    local f = io.open(marks_file)
    local text = f and f:read("a") or ""
    if f then f:close() end
    if text:find("phase " .. p .. " ", 1, true) then return true end
    sleep(0.0005)
  end
  return false
end

-- Where time t fell: the last marker at or before it.
local function phase_at(m, t)
  local at = "start"
  for _, p in ipairs(order) do
    if m[p] and m[p] <= t then at = p end
  end
  return at
end

local function trial(mode, target, frac, gap)
  local p = start_lab()
  local t = { mode = mode.label, target = target, left = {}, notes = {} }
  if not wait_mark(target, now() + 30) then
    t.notes[#t.notes + 1] = "phase " .. target .. " never came"
  end
  sleep(frac * dur[target])
  local at = now()
  t.delivered = p:running() and p:kill(mode.sig)
  if mode.n == 2 then
    sleep(gap)
    p:kill(mode.sig)
  end
  local r = p:wait(30)
  t.ended = how(r)
  local m = marks()
  t.phase = t.delivered and phase_at(m, at) or "gone"
  t.offset = m.build and at - m.build or 0
  if r.timed_out then t.notes[#t.notes + 1] = "hung: killed after 30 s" end
  -- README: the signal unwinds the script, then nslab dies of it.
  t.ignored = t.delivered and r.status == 0 and t.phase ~= "done"
  if t.ignored then t.notes[#t.notes + 1] = "exited 0: the signal was lost" end
  if r.signal == "SIGSEGV" or r.signal == "SIGABRT" or r.signal == "SIGBUS" or r.signal == "SIGFPE" then
    t.crashed = true
    t.notes[#t.notes + 1] = "died of " .. r.signal
  end
  if mode.sig == "SIGKILL" or r.timed_out then
    local ok, out = clean()
    if not ok then t.notes[#t.notes + 1] = "--clean failed: " .. out:match("[^\n]*$") end
  end
  t.left = settled(leftovers(base, snapshot()))
  local ok, ended, rm = run_lab()
  if ok then measured(rm) end
  if not ok then t.rerun = ended .. ": " .. first_error() end
  local after = settled(leftovers(base, snapshot()))
  if #after > 0 and #t.left == 0 and not t.rerun then t.rerun = ended .. ", but left " .. summary(after) end
  if #after > 0 then
    local by_clean = restore()
    t.notes[#t.notes + 1] = #by_clean == 0 and "--clean removed it all"
      or "--clean left " .. summary(by_clean)
    if #by_clean == 0 then t.cleaned = true end
  end
  t.bad = #t.left > 0 or t.rerun ~= nil or r.timed_out or t.crashed or #after > 0
  return t
end

-- ---- the run ----

local uid_map = lines("/proc/self/uid_map")[1] or ""
local rootless = select(3, uid_map:match("^%s*(%d+)%s+(%d+)%s+(%d+)")) == "1"
print(string.format("faults: %d trials, seed %d, %s%s (phases at first: build %.2f s, run %.2f s, close %.2f s)",
  trials, seed, lab_script, rootless and ", rootless" or ", as root", dur.build, dur.run, dur.close))
local stats, kinds = {}, {}
local total = { trials = 0, delivered = 0, left = 0, rerun = 0, hung = 0, crashed = 0, cleaned = 0, ignored = 0 }
local t0 = now()
for i = 1, trials do
  if (i - 1) % #combos == 0 then shuffle(combos) end
  local mode, target = combos[(i - 1) % #combos + 1].mode, combos[(i - 1) % #combos + 1].phase
  local t = trial(mode, target, math.random(), 0.002 + 0.008 * math.random())
  local key = mode.label .. "\0" .. t.phase
  local st = stats[key] or { mode = mode.label, phase = t.phase, delivered = 0, left = 0, rerun = 0 }
  stats[key] = st
  total.trials = total.trials + 1
  if t.delivered then
    st.delivered, total.delivered = st.delivered + 1, total.delivered + 1
  end
  if #t.left > 0 then st.left, total.left = st.left + 1, total.left + 1 end
  if t.rerun then st.rerun, total.rerun = st.rerun + 1, total.rerun + 1 end
  if t.ended == "hung" then total.hung = total.hung + 1 end
  if t.crashed then total.crashed = total.crashed + 1 end
  if t.cleaned and #t.left > 0 then total.cleaned = total.cleaned + 1 end
  if t.ignored then total.ignored = total.ignored + 1 end
  local seen = {}
  for _, l in ipairs(t.left) do
    local k = l:match("^%S+")
    if not seen[k] then kinds[k], seen[k] = (kinds[k] or 0) + 1, true end
  end
  if t.bad or t.ignored or verbose then
    local what = {}
    if #t.left > 0 then what[#what + 1] = "left " .. summary(t.left) end
    for _, n in ipairs(t.notes) do what[#what + 1] = n end
    if t.rerun then what[#what + 1] = "re-run failed (" .. t.rerun .. ")" end
    print(string.format("trial %d: %s in %s at +%.3f s (aimed at %s), nslab %s%s%s", i, mode.label,
      t.phase, t.offset, target, t.ended, #what > 0 and ": " or "", table.concat(what, "; ")))
  end
end

-- ---- the table ----

local rank = { start = 0, build = 1, run = 2, close = 3, done = 4, gone = 5 }
local rows = {}
for _, st in pairs(stats) do rows[#rows + 1] = st end
table.sort(rows, function(a, b)
  if a.mode ~= b.mode then return a.mode < b.mode end
  return rank[a.phase] < rank[b.phase]
end)
print()
print(string.format("%-15s %-6s %9s %6s %13s", "signal", "phase", "delivered", "left", "re-run failed"))
for _, st in ipairs(rows) do
  print(string.format("%-15s %-6s %9d %6d %13d", st.mode, st.phase, st.delivered, st.left, st.rerun))
end
print(string.format("%-15s %-6s %9d %6d %13d", "total", "", total.delivered, total.left, total.rerun))
local kl = {}
for k, n in pairs(kinds) do kl[#kl + 1] = k .. " " .. n end
table.sort(kl)
if #kl > 0 then
  print("trials leaving each kind: " .. table.concat(kl, ", "))
  print(string.format("after %d of the %d trials that left something, `nslab --clean` removed it all",
    total.cleaned, total.left))
end
if total.ignored > 0 then
  print(string.format("%d signal(s) delivered before the lab closed were lost: nslab exited 0", total.ignored))
end
os.remove(marks_file)
os.remove(err_file)
local bad = total.left + total.rerun + total.hung + total.crashed
print(string.format("faults: %d of %d trials left something, %d re-runs failed, %d hung, %d crashed" ..
  " (seed %d, %.0f s)", total.left, total.trials, total.rerun, total.hung, total.crashed, seed, now() - t0))
os.exit(bad == 0 and 0 or 1)
