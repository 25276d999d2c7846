--- scripts/bench/run.lua: the driver of `make bench` (run by ./nslab inside
-- tools/sandbox.sh). Builds and tears down the "chain N" workload (N netns,
-- N-1 veth pairs joining netns i to i+1, a /30 on each end, every link and
-- lo up, one ping across the first link) with each tool below, BENCH_RUNS
-- times for every N in BENCH_N, and prints medians as one table; then the
-- exec latency of `true` in a netns, the peak RSS of the nslab process
-- holding the largest chain, and which targets of issue 8 are met.
--
-- Each build runs in a child process (chain_*.{lua,sh,py} beside this file)
-- that times its own build and teardown and prints them; this driver then
-- waits for the kernel's asynchronous netns cleanup to finish before the
-- next run, and measures how long it ran (see wait_cleanup).
--
-- Environment: BENCH_N ("10 100 1000"), BENCH_RUNS (3), BENCH_EXEC (500
-- calls per exec row), BENCH_IP_MAX_N (100: the one-ip-per-step script is
-- skipped above it), BENCH_PYTHON (/usr/bin/python3, where Debian's
-- python3-pyroute2 is importable), BENCH_FORKEXEC (build/bench-forkexec),
-- BENCH_TOOLS (all: "nslab lab ip batch pyroute2"), BENCH_SHAPE_N (1000:
-- the chain whose links are shaped with tbf by nslab.tc, tc -batch and one
-- tc per qdisc, paired; 0 skips; see shape.lua), BENCH_INSPECT_N (1000:
-- the chain lab:state() and `nslab --inspect NAME --json` read; 0 skips;
-- see inspect.lua).
-- Needs root (the sandbox gives it), iproute2, ping, nsenter.
local nslab = require "nslab"
local now, sleep = nslab.core.monotime, nslab.core.sleep

local dir = arg[0]:match("^(.*)/") or "."
local NSLAB = arg[-1] or "./nslab"
local PYTHON = os.getenv("BENCH_PYTHON") or "/usr/bin/python3"
local FORKEXEC = os.getenv("BENCH_FORKEXEC") or "build/bench-forkexec"

local function env_int(name, default)
  local v = os.getenv(name)
  local n = math.tointeger(tonumber(v or default))
  if not n or n < 1 then error(name .. " must be a positive integer", 0) end
  return n
end

local SIZES = {}
for w in (os.getenv("BENCH_N") or "10 100 1000"):gmatch("%S+") do
  local n = math.tointeger(tonumber(w))
  if not n or n < 2 or n > 16384 then
    error("BENCH_N: each size must be an integer 2..16384, not " .. w, 0)
  end
  SIZES[#SIZES + 1] = n
end
local RUNS = env_int("BENCH_RUNS", 3)
local EXEC_COUNT = env_int("BENCH_EXEC", 500)
local IP_MAX_N = env_int("BENCH_IP_MAX_N", 100)

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function log(fmt, ...)
  io.stderr:write(fmt:format(...), "\n")
end

local function median(t)
  if #t == 0 then return nil end
  local s = table.move(t, 1, #t, 1, {})
  table.sort(s)
  local m = #s // 2
  return #s % 2 == 1 and s[m + 1] or (s[m] + s[m + 1]) / 2
end

--- Runs a shell command; returns success, its stdout lines parsed as
-- "key value" (a table), and the exit description. stderr passes through.
local function run_child(cmd)
  local f = assert(io.popen(cmd, "r"))
  local out = {}
  for line in f:lines() do
    local k, v = line:match("^(%S+)%s*(.*)$")
    if k then out[k] = v end
  end
  local ok, how, code = f:close()
  return ok, out, ("%s %s"):format(how, code)
end

local function first_line(cmd)
  local f = io.popen(cmd, "r")
  local s = f and f:read("l")
  if f then f:close() end
  return s
end

-- Kernel cleanup after teardown. Deleting a netns (last fd closed, bind
-- mount detached) only queues it: the kernel's netns workqueue (cleanup_net)
-- later runs every pernet exit, unregisters the devices (RCU grace periods
-- for the veth pairs) and only then frees each struct net, a batch at a
-- time. The count of allocated net_namespace slab objects therefore falls
-- in steps (seen: 1022 -> 862 -> 287 -> 33 over 0.9 s after a chain-1000
-- teardown). We read the count before the child starts and call the
-- cleanup done when it is back within SLACK of that. SLUB counts objects
-- freed into per-CPU slabs as still in use (up to CPUs x (cpu_partial + 1)
-- x objs_per_slab of them), so the figure means something only when the
-- chain is much larger than that: it is measured for N >= CLEANUP_MIN_N.
-- The cleanup usually ends within a second of a chain-1000 teardown, but
-- stalls of 6 to 23 s were seen on a busy machine for ip -batch and nslab
-- alike; other processes making or dropping netns meanwhile disturb the
-- count too, so after CLEANUP_MAX seconds the run reports no figure.
local SLAB = "/sys/kernel/slab/net_namespace/"
local CLEANUP_MIN_N, CLEANUP_MAX = 500, 30

local C = dofile(dir .. "/chain.lua")
local read_number, netns_objects = C.read_number, C.netns_objects

local SLACK = (tonumber(first_line("nproc")) or 1) *
  ((read_number(SLAB .. "cpu_partial") or 6) + 1) *
  (read_number(SLAB .. "objs_per_slab") or 8)

--- Waits until the kernel's netns cleanup is over: the count is back within
-- SLACK of baseline (read before the run). Returns the seconds from `since`
-- (when teardown returned) to the first poll that saw it so, plus "<=" when
-- the first poll already did (the cleanup ended before we looked: an upper
-- bound); nil when the count cannot be read or did not come back within
-- CLEANUP_MAX seconds.
local function wait_cleanup(since, baseline)
  if not baseline then return nil end
  local start, first = now(), true
  while true do
    local c, t = netns_objects(), now()
    if not c then return nil end
    if c <= baseline + SLACK then
      return math.max(t - since, 0), first and "<=" or nil
    end
    if t - start > CLEANUP_MAX then return nil end
    first = false
    sleep(0.002)
  end
end

local wait_quiet = C.wait_quiet

-- The tools, in the table's order. cmd(n, prefix) is the child's command.
local function nslab_script(name)
  return function(n, p)
    return ("%s %s %d %s"):format(q(NSLAB), q(dir .. "/" .. name), n, p)
  end
end
local function shell_script(name)
  return function(n, p)
    return ("%s %d %s"):format(q(dir .. "/" .. name), n, p)
  end
end

local skip = {} -- [tool id] = reason it has no rows at all
local TOOLS = {
  { id = "nslab", label = "nslab primitives", prefix = "bn",
    cmd = nslab_script("chain_nslab.lua") },
  { id = "lab", label = "nslab lab layer", prefix = "bl",
    cmd = nslab_script("chain_lab.lua") },
  { id = "ip", label = "iproute2 script", prefix = "bi", max_n = IP_MAX_N,
    cmd = shell_script("chain_ip.sh") },
  { id = "batch", label = "ip -batch", prefix = "bb",
    cmd = shell_script("chain_ipbatch.sh") },
  { id = "pyroute2", label = "pyroute2", prefix = "bp",
    cmd = function(n, p)
      return ("%s %s %d %s"):format(q(PYTHON),
        q(dir .. "/chain_pyroute2.py"), n, p)
    end },
}

local wanted = os.getenv("BENCH_TOOLS")
if wanted then
  local set = {}
  for w in wanted:gmatch("%S+") do set[w] = true end
  for _, tool in ipairs(TOOLS) do
    if not set[tool.id] then skip[tool.id] = "not in BENCH_TOOLS" end
  end
end

-- nslab keeps a netns fd and an rtnetlink socket per netns it touched.
do
  local big = math.max(table.unpack(SIZES))
  local limit = tonumber(first_line("ulimit -n") or "")
  if limit and limit < 2 * big + 64 then
    error(("the fd limit (ulimit -n) is %d, but nslab holds two fds per " ..
      "netns: chain %d needs about %d (make bench raises the soft limit " ..
      "to the hard one)"):format(limit, big, 2 * big + 64), 0)
  end
end

local pyroute2_ok = os.execute(q(PYTHON) ..
  " -c 'import pyroute2' >/dev/null 2>&1")
if not pyroute2_ok and not skip.pyroute2 then
  skip.pyroute2 = ("not importable by %s (Debian: python3-pyroute2)")
    :format(PYTHON)
end

-- results[n][id] = { build = {...}, teardown = {...}, cleanup = {...},
--                    cleanup_le = bool, rss = {...}, na = reason }
local results = {}
local t_start = now()

log("nslab bench: chain N = %s, %d runs each; %s CPUs, Linux %s",
  table.concat(SIZES, " "), RUNS, first_line("nproc") or "?",
  first_line("uname -r") or "?")

wait_quiet(1, 10)

for _, n in ipairs(SIZES) do
  results[n] = {}
  for _, tool in ipairs(TOOLS) do
    results[n][tool.id] = { build = {}, teardown = {}, cleanup = {},
                            rss = {} }
  end
  for run = 1, RUNS do
    for _, tool in ipairs(TOOLS) do
      local r = results[n][tool.id]
      if skip[tool.id] or r.na then goto next end
      if tool.max_n and n > tool.max_n then
        r.na = ("skipped above N=%d (one process per step: minutes)")
          :format(tool.max_n)
        goto next
      end
      do
        local baseline = netns_objects()
        local ok, out, how = run_child(tool.cmd(n, tool.prefix))
        local exited = now()
        if out.na then
          r.na = "n/a (" .. out.na .. ")"
          goto next
        end
        local nslab_tool = tool.id == "nslab" or tool.id == "lab"
        if not ok or out.ping ~= "ok" or not out.build or not out.teardown
          or (nslab_tool and out.released ~= "yes") then
          error(("bench failed: %s, chain %d, run %d (%s)%s"):format(
            tool.label, n, run, how,
            out.ping ~= "ok" and ": the ping across the first link failed"
              or ""), 0)
        end
        local cleanup, le
        if n >= CLEANUP_MIN_N then
          cleanup, le = wait_cleanup(tonumber(out.done_at) or exited, baseline)
        else
          wait_quiet(0.3, 2)
        end
        r.build[run] = tonumber(out.build)
        r.teardown[run] = tonumber(out.teardown)
        r.cleanup[#r.cleanup + 1] = cleanup
        r.cleanup_le = r.cleanup_le or le == "<="
        r.rss[#r.rss + 1] = tonumber(out.peak_rss_kb)
        log("chain %5d run %d/%d %-18s build %8.3f s  teardown %7.3f s  " ..
          "kernel cleanup %s", n, run, RUNS, tool.label, r.build[run],
          r.teardown[run],
          cleanup and ("%s%.3f s"):format(le or "", cleanup) or
            n < CLEANUP_MIN_N and "not measured" or "unknown")
      end
      ::next::
    end
  end
end

-- Exec latency: `true` in a netns, EXEC_COUNT calls each. The launcher
-- rows share one fork/exec/wait loop (forkexec.c). "kept mount ns" is the
-- floor for an exec that isolates /sys as ip netns exec does (P3): the
-- child joins a mount namespace made once (slave of /, sysfs of the netns
-- on /sys, kept by a bind mount) instead of unsharing and mounting sysfs
-- on every call.
local MNT_DIR = "/run/nslab-bench-mnt"
local exec_rows = {}

local function launcher(label, argv)
  local ok, out = run_child(("%s %d %s"):format(q(FORKEXEC), EXEC_COUNT,
    argv))
  local med, p90 = (out.median or ""):match("^(%S+)%s+p90%s+(%S+)")
  if not ok or not med then
    error(("exec latency: %s failed (is %s built? make bench builds it)")
      :format(label, FORKEXEC), 0)
  end
  exec_rows[#exec_rows + 1] = { label = label, median = tonumber(med),
                                p90 = tonumber(p90) }
end

local function exec_latency(ns)
  local path = "/run/netns/" .. ns
  local mnt = MNT_DIR .. "/" .. ns
  launcher("bare fork+exec", "true")
  launcher("fork+setns+exec", "--setns " .. q(path) .. " true")
  -- unshare(1) binds a mount namespace only onto a private mount.
  local made = os.execute(table.concat({
    "mkdir -p " .. MNT_DIR, "mount --bind " .. MNT_DIR .. " " .. MNT_DIR,
    "mount --make-private " .. MNT_DIR, "touch " .. mnt,
    ("unshare --mount=%s --propagation slave sh -c 'umount -l /sys && " ..
      "nsenter --net=%s mount -t sysfs %s /sys'"):format(mnt, path, ns),
  }, " && "))
  if made then
    launcher("fork+setns net,mnt+exec", ("--setns %s --setns %s true")
      :format(q(path), q(mnt)))
  end
  launcher("nsenter --net=", "nsenter --net=" .. q(path) .. " true")
  launcher("ip netns exec", "ip netns exec " .. ns .. " true")
  local ok, out = run_child(("%s %s %s %d"):format(q(NSLAB),
    q(dir .. "/exec_nslab.lua"), ns, EXEC_COUNT))
  if out.na then
    exec_rows[#exec_rows + 1] = { label = "nslab.exec", na = out.na }
  elseif not ok or not out.capture then
    error("exec latency: nslab.exec failed", 0)
  else
    for _, k in ipairs { "capture", "nocapture" } do
      local med, p90 = out[k]:match("(%S+)%s+(%S+)")
      exec_rows[#exec_rows + 1] = {
        label = k == "capture" and "nslab.exec" or "nslab.exec capture=false",
        median = tonumber(med), p90 = tonumber(p90) }
    end
  end
end

do
  local ns = "bx"
  log("exec latency: %d runs of true per row", EXEC_COUNT)
  nslab.netns.add(ns)
  local ok, err = pcall(exec_latency, ns)
  os.execute(("umount %s/%s 2>/dev/null; umount %s 2>/dev/null; " ..
    "rm -rf %s"):format(MNT_DIR, ns, MNT_DIR, MNT_DIR))
  nslab.netns.del(ns)
  if not ok then error(err, 0) end
end

-- A bench of its own on one chain: script (beside this file) run as
-- `nslab SCRIPT N RUNS PREFIX`, N from environment variable var (default
-- 1000; 0 skips); returns N and its figures (keys, numbers), or nil.
local function chain_bench(var, label, script, prefix, keys)
  local n = math.tointeger(tonumber(os.getenv(var) or "1000"))
  if not n or n == 1 or n < 0 then error(var .. " must be 0 (skip) or an integer >= 2", 0) end
  if n == 0 then return n, nil end
  log("%s: chain %d, %d runs", label, n, RUNS)
  local ok, out, how = run_child(("%s %s %d %d %s"):format(q(NSLAB), q(dir .. "/" .. script), n, RUNS, prefix))
  if not ok or not out[keys[1]] then error(label .. " bench failed (" .. how .. ")", 0) end
  local r = {}
  for _, k in ipairs(keys) do r[k] = tonumber(out[k]) end
  wait_quiet(0.5, 10)
  return n, r
end

-- Shaping (issue 13): a tbf at 10mbit on both ends of every link of a
-- chain BENCH_SHAPE_N (default 1000; 0 skips), by nslab.tc, `tc -batch`
-- and one `tc` per qdisc, paired on one chain (scripts/bench/shape.lua).
local SHAPE_N, shape = chain_bench("BENCH_SHAPE_N", "shaping (3 ways)", "shape.lua", "bs",
  { "nslab", "batch", "tc", "qdiscs" })

-- Looking at a lab (issue 16): lab:state(), lab:json() and `nslab --inspect
-- NAME --json` from a second process, on a built chain BENCH_INSPECT_N
-- (default 1000; 0 skips; scripts/bench/inspect.lua).
local INSPECT_N, inspect = chain_bench("BENCH_INSPECT_N", "inspect", "inspect.lua", "bi",
  { "state", "json", "inspect", "bytes" })

-- Live labs (issue 18): chain BENCH_LIVE_N (default 1000; 0 skips) built
-- from a spec by lab:apply, paired with the C floor (BENCH_CHAINFLOOR,
-- build/chainfloor from ../shared/bench/chainfloor.c) and with the C
-- floor plus the sysctls a lab node must have (BENCH_LABFLOOR,
-- build/labfloor from scripts/bench/labfloor.c); lab:diff of an
-- identical spec; lab:apply of a one-link change (scripts/bench/live.lua).
local LIVE_N = math.tointeger(tonumber(os.getenv("BENCH_LIVE_N") or "1000"))
if not LIVE_N or LIVE_N == 1 or LIVE_N < 0 then
  error("BENCH_LIVE_N must be 0 (skip) or an integer >= 2", 0)
end
local livebench
if LIVE_N > 0 then
  log("live: chain %d, %d runs", LIVE_N, RUNS)
  local floor = os.getenv("BENCH_CHAINFLOOR") or "build/chainfloor"
  local labfloor = os.getenv("BENCH_LABFLOOR") or "build/labfloor"
  local have_floor = io.open(floor) and true
  local ok, out, how = run_child(("%s %s %d %d bv %s %s"):format(q(NSLAB), q(dir .. "/live.lua"), LIVE_N, RUNS,
    have_floor and q(floor) or "", have_floor and io.open(labfloor) and q(labfloor) or ""))
  if not ok or not out.build then error("live bench failed (" .. how .. ")", 0) end
  livebench = { build = tonumber(out.build), floor = tonumber(out.floor), floor_na = out.floor,
                build_min = tonumber(out.build_min), floor_min = tonumber(out.floor_min),
                labfloor = tonumber(out.labfloor), labfloor_min = tonumber(out.labfloor_min),
                diff = tonumber(out.diff), change = tonumber(out.change), kept = out.kept == "yes" }
  wait_quiet(0.5, 10)
end

-- Output -------------------------------------------------------------------

local function fmt(v, f)
  return v and f:format(v) or "-"
end

local function summary(n, id)
  local r = results[n] and results[n][id]
  if not r or r.na or #r.build == 0 then return nil end
  local b, t = median(r.build), median(r.teardown)
  return { build = b, teardown = t, total = b + t, cleanup = median(r.cleanup),
           cleanup_le = r.cleanup_le, rss = median(r.rss), runs = #r.build }
end

print()
print(("chain N: medians of %d runs; build and teardown timed apart (the ping"
  .. " is outside both);"):format(RUNS))
print("per-node = (build + teardown) / N; x nslab = this tool's build +"
  .. " teardown over nslab primitives'")
print(("(x build: build alone); kernel cleanup = how long the kernel's"
  .. " asynchronous netns cleanup ran after teardown returned (N >= %d)")
  :format(CLEANUP_MIN_N))
print()
local head = "%-18s %5s %9s %11s %12s %8s %8s %15s"
print(head:format("tool", "N", "build s", "teardown s", "per-node ms",
  "x nslab", "x build", "kernel cleanup s"))
for _, n in ipairs(SIZES) do
  local base = summary(n, "nslab")
  for _, tool in ipairs(TOOLS) do
    local s = summary(n, tool.id)
    local r = results[n][tool.id]
    if s then
      print(head:format(tool.label, n, fmt(s.build, "%.3f"),
        fmt(s.teardown, "%.3f"), fmt(s.total / n * 1000, "%.2f"),
        base and fmt(s.total / base.total, "%.2f") or "-",
        base and fmt(s.build / base.build, "%.2f") or "-",
        s.cleanup and ((s.cleanup_le and "<=" or "") ..
          ("%.3f"):format(s.cleanup)) or "-"))
    else
      print(("%-18s %5d  %s"):format(tool.label, n,
        skip[tool.id] or r.na or "no result"))
    end
  end
end

print()
print(("exec latency: `true` in a netns, %d calls each, wall time per call")
  :format(EXEC_COUNT))
print()
local bare = exec_rows[1] and exec_rows[1].median
local ehead = "%-26s %10s %10s %8s"
print(ehead:format("how", "median ms", "p90 ms", "x bare"))
for _, e in ipairs(exec_rows) do
  if e.na then
    print(("%-26s  n/a (%s)"):format(e.label, e.na))
  else
    print(ehead:format(e.label, fmt(e.median * 1000, "%.3f"),
      fmt(e.p90 * 1000, "%.3f"), fmt(bare and e.median / bare, "%.2f")))
  end
end

if shape then
  print()
  print(("shaping chain %d: %d tbf qdiscs (10mbit, both ends of every link), " ..
    "medians of %d runs"):format(SHAPE_N, shape.qdiscs, RUNS))
  print()
  local shead = "%-26s %10s %12s %8s"
  print(shead:format("how", "total s", "per qdisc ms", "x nslab"))
  for _, w in ipairs { { "nslab", "nslab.tc.qdisc_add" },
                       { "batch", "tc -batch (one per netns)" },
                       { "tc", "one tc per qdisc" } } do
    local t = shape[w[1]]
    print(shead:format(w[2], fmt(t, "%.3f"), fmt(t / shape.qdiscs * 1000, "%.3f"),
      fmt(t / shape.nslab, "%.1f")))
  end
end

local big = SIZES[#SIZES]
for _, n in ipairs(SIZES) do big = math.max(big, n) end
print()
print(("peak RSS (VmHWM) of the nslab process holding the built chain %d:")
  :format(big))
local idle = first_line(q(NSLAB) .. " -e " ..
  q("for l in io.lines('/proc/self/status') do " ..
    "local k = l:match('^VmHWM:%s*(%d+)') if k then print(k) end end"))
print(("  nslab with nothing built   %s"):format(
  idle and ("%.1f MB"):format(tonumber(idle) / 1024) or "-"))
for _, id in ipairs { "nslab", "lab" } do
  local s = summary(big, id)
  print(("  %-26s %s"):format(id == "nslab" and "nslab primitives" or
    "nslab lab layer", s and s.rss and ("%.1f MB"):format(s.rss / 1024) or
    "n/a"))
end

-- Targets of issue 8.
print()
print("targets (issue 8):")
local function target(label, ok, detail)
  local verdict = ok == nil and "n/a " or ok and "met " or "MISSED"
  print(("  %-6s %-58s %s"):format(verdict, label, detail or ""))
end
local function ratio_target(n, id, want, label)
  local a, b = summary(n, id), summary(n, "nslab")
  if not (a and b) then return target(label, nil, "no figures") end
  local x = a.total / b.total
  target(label, x >= want, ("%.2fx (build alone %.2fx)"):format(x,
    a.build / b.build))
end
ratio_target(1000, "batch", 3.5, "chain-1000: primitives >= 3.5x faster than ip -batch")
ratio_target(1000, "pyroute2", 6, "chain-1000: primitives >= 6x faster than pyroute2")
ratio_target(100, "ip", 30, "chain-100: primitives >= 30x faster than ip script")
do
  local a, b = summary(1000, "lab"), summary(1000, "nslab")
  local label = "chain-1000: lab layer within 1.2x of primitives"
  if a and b then
    target(label, a.total <= 1.2 * b.total, ("%.2fx"):format(a.total / b.total))
  else
    target(label, nil, "no figures")
  end
end
do
  local by = {}
  for _, e in ipairs(exec_rows) do by[e.label] = e.median end
  local x = by["nslab.exec"]
  local label = "nslab.exec true: < nsenter, < ip netns exec, <= 1.2x bare"
  if x and by["nsenter --net="] and by["ip netns exec"] and bare then
    target(label, x < by["nsenter --net="] and x < by["ip netns exec"] and
      x <= 1.2 * bare, ("%.3f ms vs %.3f / %.3f / bare %.3f ms (%.2fx)")
      :format(x * 1000, by["nsenter --net="] * 1000,
        by["ip netns exec"] * 1000, bare * 1000, x / bare))
  else
    target(label, nil, "no figures")
  end
end
do
  local s = summary(1000, "lab")
  local label = "peak RSS < 20 MB holding a 1000-node lab"
  if s and s.rss then
    target(label, s.rss < 20 * 1024, ("%.1f MB"):format(s.rss / 1024))
  else
    target(label, nil, "no figures")
  end
end
print("targets (issue 13):")
do
  local label = "chain-1000 shaping: nslab >= 5x faster than tc -batch"
  local label2 = "chain-1000 shaping: nslab >= 30x faster than one tc per qdisc"
  if shape and SHAPE_N == 1000 then
    target(label, shape.batch >= 5 * shape.nslab, ("%.1fx"):format(shape.batch / shape.nslab))
    target(label2, shape.tc >= 30 * shape.nslab, ("%.1fx"):format(shape.tc / shape.nslab))
  else
    target(label, nil, shape and ("measured at chain %d only"):format(SHAPE_N) or "skipped")
    target(label2, nil, shape and ("measured at chain %d only"):format(SHAPE_N) or "skipped")
  end
end
if inspect then
  print()
  print(("looking at chain %d (medians of %d runs; JSON %d bytes):"):format(INSPECT_N, RUNS, inspect.bytes))
  print(("  %-40s %8.3f s"):format("lab:state()", inspect.state))
  print(("  %-40s %8.3f s"):format("lab:json()", inspect.json))
  print(("  %-40s %8.3f s"):format("nslab --inspect NAME --json (a process)", inspect.inspect))
end
print("targets (issue 16):")
for _, t in ipairs { { "state", "chain-1000: lab:state() < 0.5 s" },
                     { "inspect", "chain-1000: nslab --inspect NAME --json < 0.5 s" } } do
  if inspect and INSPECT_N == 1000 then
    target(t[2], inspect[t[1]] < 0.5, ("%.3f s"):format(inspect[t[1]]))
  else
    target(t[2], nil, inspect and ("measured at chain %d only"):format(INSPECT_N) or "skipped")
  end
end
if livebench then
  print()
  print(("live labs, chain %d (medians of %d runs):"):format(LIVE_N, RUNS))
  print(("  %-40s %8.3f s"):format("lab:apply of the spec onto an empty lab", livebench.build))
  print(("  %-40s %8s"):format("C floor (chainfloor.c), paired",
    livebench.floor and ("%.3f s"):format(livebench.floor) or livebench.floor_na))
  if livebench.build_min and livebench.floor_min then
    print(("  %-40s %8.3f s vs %.3f s (%.2fx)"):format("fastest runs: apply vs C floor", livebench.build_min,
      livebench.floor_min, livebench.build_min / livebench.floor_min))
  end
  if livebench.labfloor then
    print(("  %-40s %8.3f s (apply %.2fx of it)"):format("C floor + lab sysctls (labfloor.c)", livebench.labfloor,
      livebench.build / livebench.labfloor))
    print(("  %-40s %8.3f s (%.2fx of the C floor)"):format("  its fastest run", livebench.labfloor_min,
      livebench.labfloor_min / livebench.floor_min))
  end
  print(("  %-40s %8.3f s"):format("lab:diff of an identical spec", livebench.diff))
  print(("  %-40s %8.3f s"):format("lab:apply of a one-link change", livebench.change))
end
print("targets (issue 18):")
do
  local l, at = livebench, LIVE_N == 1000
  local function t(label, cond, text)
    if l and at then return target(label, cond, text) end
    target(label, nil, l and "measured at chain " .. LIVE_N or "skipped")
  end
  t("chain-1000 from a spec (lab:apply) <= 1.05x the C floor", l and l.floor and l.build <= 1.05 * l.floor,
    l and l.floor and ("%.2fx"):format(l.build / l.floor) .. (l.labfloor and
      (("; the floor with a lab node's sysctls alone is %.2fx"):format(l.labfloor / l.floor)) or "")
      or "no floor")
  t("chain-1000: apply of a one-link change <= 50 ms, other links keep their ifindex",
    l and l.change <= 0.05 and l.kept,
    l and ("%.1f ms%s"):format(l.change * 1000, l.kept and "" or ", ifindexes changed"))
  t("chain-1000: diff of an identical spec <= 100 ms", l and l.diff <= 0.1, l and ("%.1f ms"):format(l.diff * 1000))
end
print()
print(("bench took %.0f s"):format(now() - t_start))
