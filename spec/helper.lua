--- Spec helpers: unique names, shell and `ip -j` views independent of
-- nslab, and the leftover guard every privileged spec installs.
-- Loaded by busted as the helper (see .busted) and by specs with
-- `local H = require "helper"`.
local json = require "dkjson"

local H = {}

--- The project's prefix plus random hex: "nsl-1a2b3c4d".
-- @tparam[opt="nsl"] string prefix
-- @treturn string a name unused by other specs
function H.name(prefix)
  return string.format("%s-%08x", prefix or "nsl", math.random(0, 0x7fffffff))
end

--- Runs a shell command; returns stdout (with stderr, less the warning
-- a debug build's AddressSanitizer prints: H.without_asan_noise),
-- success, exit code.
function H.sh(cmd)
  local f = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = f:read("a")
  local ok, _, code = f:close()
  return H.without_asan_noise(out), ok == true, code
end

--- s quoted for /bin/sh (single quotes).
function H.q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

--- Writes text to a new temporary file; returns its path (the caller
-- removes it, in its finally).
function H.tmpfile(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

--- Runs the shell command cmd inside netns ns (`ip netns exec`); as H.sh.
function H.in_ns(ns, cmd) return H.sh("ip netns exec " .. H.q(ns) .. " " .. cmd) end

--- `ip -j ARGS` decoded (iproute2's JSON); raises if ip fails.
-- @tparam string args e.g. "-n red addr show dev veth0"
-- @treturn table
function H.ipj(args)
  local out, ok = H.sh("ip -j " .. args)
  assert(ok, "ip -j " .. args .. ": " .. out)
  if out:match("^%s*$") then return {} end
  return assert(json.decode(out), "ip printed no JSON: " .. out)
end

--- Path of a program on PATH, or nil.
function H.which(prog)
  local out, ok = H.sh("command -v " .. prog)
  return ok and out:gsub("%s+$", "") or nil
end

local function read_lines(path)
  local t, f = {}, io.open(path)
  if not f then return t end
  for l in f:lines() do t[#t + 1] = l end
  f:close()
  return t
end

--- What a spec could leave behind, seen from this process: names in
-- /run/netns, links in this netns and mounts under /run/netns.
function H.snapshot()
  local s = { netns = {}, links = {}, mounts = 0, children = {} }
  local ls = io.popen("ls -A /run/netns 2>/dev/null")
  for n in ls:lines() do s.netns[n] = true end
  ls:close()
  for _, l in ipairs(read_lines("/proc/net/dev")) do
    local n = l:match("^%s*([^:%s]+):")
    if n then s.links[n] = true end
  end
  for _, l in ipairs(read_lines("/proc/self/mountinfo")) do
    if l:find(" /run/netns/", 1, true) then s.mounts = s.mounts + 1 end
  end
  return s
end

local function children_of_self()
  -- The Lua host is single-threaded: its main task holds all children.
  local out = {}
  for _, l in ipairs(read_lines("/proc/" .. H.pid() .. "/task/" .. H.pid() .. "/children")) do
    for pid in l:gmatch("%d+") do out[pid] = true end
  end
  return out
end

--- This process's pid (from /proc/self/stat, no fork).
function H.pid()
  if not H._pid then
    local f = assert(io.open("/proc/self/stat"))
    H._pid = f:read("n")
    f:close()
  end
  return math.tointeger(H._pid)
end

--- Differences between two snapshots, as a list of strings.
function H.leftovers(before, after)
  local left = {}
  for n in pairs(after.netns) do
    if not before.netns[n] then left[#left + 1] = "netns " .. n end
  end
  for n in pairs(after.links) do
    if not before.links[n] then left[#left + 1] = "link " .. n end
  end
  if after.mounts > before.mounts then
    left[#left + 1] = (after.mounts - before.mounts) .. " mount(s) under /run/netns"
  end
  for pid in pairs(after.children or {}) do
    if not (before.children or {})[pid] then left[#left + 1] = "process " .. pid end
  end
  table.sort(left)
  return left
end

-- The environment of the spec file calling the caller: busted gives each
-- spec file its own (its _ENV upvalue), holding before_each, pending, ...
local function caller_env()
  local caller, env = debug.getinfo(3, "f").func, _ENV
  for i = 1, math.huge do
    local name, value = debug.getupvalue(caller, i)
    if not name then break end
    if name == "_ENV" then env = value break end
  end
  return env
end

--- Installs before_each/after_each in the enclosing describe: every test
-- must leave no netns, link, mount or child process behind.
function H.guard()
  local env = caller_env()
  local before_each, after_each = env.before_each, env.after_each
  local before
  before_each(function()
    before = H.snapshot()
    before.children = children_of_self()
  end)
  after_each(function()
    local after = H.snapshot()
    after.children = children_of_self()
    local left = H.leftovers(before, after)
    assert(#left == 0, "left behind: " .. table.concat(left, ", "))
  end)
end

--- Calls fn(...) expecting it to raise an nslab error object with the
-- given code ("EEXIST"); returns the error object for further checks.
-- Uses busted's assert, so call it from inside a test.
function H.raises(code, fn, ...)
  local ok, e = pcall(fn, ...)
  assert(not ok, "expected an error")
  assert(require("nslab").is_error(e), "expected an nslab error object, got " .. tostring(e))
  assert(code == e.code, "expected code " .. code .. ", got " .. tostring(e.code) .. ": " .. tostring(e))
  return e
end

--- Polls fn until it returns a truthy value or timeout seconds pass.
function H.wait_for(fn, timeout)
  local deadline = os.time() + (timeout or 5)
  repeat
    local v = fn()
    if v then return v end
    os.execute("sleep 0.05")
  until os.time() > deadline
  return fn()
end

--- The pid a command wrote to path, once it is there (10 s at most).
function H.pid_in(path)
  local pid = H.wait_for(function()
    local f = io.open(path)
    local n = f and f:read("n")
    if f then f:close() end
    return n
  end, 10)
  return assert(math.tointeger(pid), "no pid in " .. path)
end

--- The whole text of file path so far ("" when it is not there).
function H.read_all(path)
  local f = io.open(path)
  local t = f and f:read("a") or ""
  if f then f:close() end
  return t
end

--- True when the specs run rootless (make check-rootless, or nslab's
-- automatic fallback): a user namespace mapping one uid only, so other
-- users (exec's user=) and root-owned files such as /etc are out of reach.
function H.rootless()
  local f = assert(io.open("/proc/self/uid_map"))
  local map = f:read("a")
  f:close()
  local _, _, count = map:match("^%s*(%d+)%s+(%d+)%s+(%d+)%s*$")
  return count == "1"
end

--- Runs nslab (the binary under test) with a shell-quoted argument string;
-- returns stdout+stderr, success, exit code.
function H.nslab(args)
  return H.sh((H.bin or "./nslab") .. " " .. args)
end

--- For a test of a lab kept from another shell (`nslab --keep`): a lab
-- name, a node name prefix and two temporary file paths, all removed at
-- the end of the test (the lab with `nslab --clean`).
-- @tparam function finally the test's busted `finally`
-- @tparam string lab_tag prefix of the lab name (H.name)
-- @tparam string node_tag prefix of the node names
-- @treturn string,string,string,string lab name, node prefix, file, file2
function H.kept_names(finally, lab_tag, node_tag)
  local lname, p = H.name(lab_tag), H.name(node_tag)
  local file, file2 = os.tmpname(), os.tmpname()
  finally(function()
    os.remove(file)
    os.remove(file2)
    H.nslab("--clean " .. H.q(lname))
  end)
  return lname, p, file, file2
end

-- Whether line is one of the three of that warning.
local function asan_line(line)
  return line:find("^==%d+==WARNING: ASan is ignoring requested __asan_handle_no_return") ~= nil
    or line == "False positive error reports may follow"
    or line == "For details see https://github.com/google/sanitizers/issues/189"
end

--- text without the warning AddressSanitizer prints (debug builds, `make
-- check-debug`) when a helper child runs on a stack of its own: three
-- lines ("ASan is ignoring requested __asan_handle_no_return", ...).
-- @tparam string text
-- @treturn string
function H.without_asan_noise(text)
  return (text:gsub("([^\n]*)\n", function(l) if asan_line(l) then return "" end end))
end

--- The next line of pipe (io.popen) that is not part of that ASan
-- warning, or nil at its end.
-- @param pipe file handle
-- @treturn ?string
function H.read_line(pipe)
  local line = pipe:read("l")
  while line and asan_line(line) do line = pipe:read("l") end
  return line
end

--- Runs Lua code with `nslab -e` after the shell commands limits (such
-- as "ulimit -Sn 256", applied to nslab alone); returns stdout+stderr,
-- success, exit code.
-- @tparam string limits shell commands run first
-- @tparam string code Lua chunk
function H.nslab_limited(limits, code)
  return H.sh(limits .. " && " .. (H.bin or "./nslab") .. " -e '" .. code:gsub("'", "'\\''") .. "'")
end

--- The host binary running these specs (busted runs under it).
H.bin = (function()
  local f = io.popen("readlink /proc/" .. H.pid() .. "/exe")
  local exe = f:read("l")
  f:close()
  return exe
end)()

--- How many processes called name (exactly, as pgrep -x) run now.
-- @tparam string name
function H.count_procs(name)
  return tonumber((H.sh("pgrep -c -x " .. H.q(name) .. " || true"):match("%d+"))) or 0
end

--- A lab of two hosts a -- b on one link, a with net .. "1/24", b with
-- net .. "2/24" (net such as "10.66.0."); names from tag (H.name).
-- @treturn lab, node a, node b
function H.pair_lab(tag, net)
  local lab = require("nslab").lab(H.name(tag .. "l"))
  local a, b = lab:host(H.name(tag .. "a")), lab:host(H.name(tag .. "b"))
  lab:link(a, b, { addrs = { net .. "1/24", net .. "2/24" } })
  return lab, a, b
end

--- A directory for PATH holding every program of /usr/bin and /usr/sbin
-- but the ones named (symbolic links), so a spec can run nslab as on a
-- machine without them (`env PATH=DIR nslab ...`), and the function
-- removing it (`finally(rm)`).
-- @tparam string ... programs left out ("iperf3", "nft")
-- @treturn string the directory
-- @treturn function removes it
function H.path_without(...)
  local dir = H.sh("mktemp -d"):gsub("%s+$", "")
  local rm = {}
  for _, p in ipairs { ... } do rm[#rm + 1] = H.q(dir .. "/" .. p) end
  H.sh("for f in /usr/bin/* /usr/sbin/*; do ln -sf \"$f\" " .. H.q(dir) .. "/; done; rm -f " .. table.concat(rm, " "))
  return dir, function() H.sh("rm -rf " .. H.q(dir)) end
end

--- For specs of labs seen from another process (attach, guests): checks
-- around each test that /run/nslab (its entries, and the mounts under it)
-- is as before; returns rootless(), which marks the test pending and
-- returns true when the specs run rootless (nothing can attach then).
function H.run_nslab_unchanged()
  local env = caller_env()
  local before_each, after_each, pending, assert = env.before_each, env.after_each, env.pending, env.assert
  local function look()
    local out = H.sh("ls -A /run/nslab 2>/dev/null")
    local mounts = 0
    for l in io.lines("/proc/self/mountinfo") do
      if l:find(" /run/nslab/", 1, true) then mounts = mounts + 1 end
    end
    return out, mounts
  end
  local before_ls, before_mounts
  before_each(function() before_ls, before_mounts = look() end)
  after_each(function()
    local ls, mounts = look()
    assert.equals(before_ls, ls)
    assert.equals(before_mounts, mounts)
  end)
  return function()
    if H.rootless() then
      pending("rootless: labs live in nslab's own namespaces; nothing can keep or attach them")
      return true
    end
  end
end

return H
