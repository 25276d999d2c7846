-- Signals during a lab's build and close (issue 11, findings 1 and 2; issue
-- 12: Ctrl-C despite debug.sethook). Each spec runs a real nslab process on
-- a lab script and delivers real signals: at a precise point through the
-- fault-injection seam NSLAB_TEST_SIGNAL_AT (lua/nslab/fault.lua), or from
-- here with kill(1). Then: no netns left, the record gone (or kept when
-- something was left), and the process dead of the signal.
local H = require "helper"
local nslab = require "nslab"
local record = require "nslab.record"

local q, tmpfile = H.q, H.tmpfile

local STATUS = { INT = 130, TERM = 143, HUP = 129 }

local function record_exists(name)
  local f = io.open(record.path_of(name))
  if f then f:close() end
  return f ~= nil
end

-- busted keeps one `finally` per test: these run in it, newest first
-- (sweep installs it).
local cleanups = {}
local function at_end(fn) cleanups[#cleanups + 1] = fn end
local function run_at_end()
  for i = #cleanups, 1, -1 do pcall(cleanups[i]) end
  cleanups = {}
end

-- Runs nslab on the script text with the environment prefix env (shell
-- words), killing it after 20 s; returns its output and exit status.
local function run(text, env)
  local script = tmpfile(text)
  local out = H.sh(string.format("(%s timeout -s KILL 20 %s %s; echo status=$?)", env or "", H.bin, script))
  os.remove(script)
  return out, math.tointeger(tonumber(out:match("status=(%d+)")))
end

-- Starts nslab on the script text in the background; returns its pid and
-- a function giving its output so far, once it printed "ready".
local function start(text, env)
  local script, log = tmpfile(text), os.tmpname()
  local pid = tonumber(H.sh(string.format("%s %s %s >%s 2>&1 & echo $!", env or "", H.bin, script, log)):match("%d+"))
  local function output() return H.read_all(log) end
  at_end(function()
    if record.proc_start(pid) then os.execute("kill -9 " .. pid) end
    os.remove(script)
    os.remove(log)
  end)
  assert.is_truthy(H.wait_for(function() return output():find("ready", 1, true) end, 10), output())
  return math.tointeger(pid), output
end

local function gone(pid) return record.proc_start(pid) == nil end

-- Removes what a failing spec left, so the next ones start clean.
local function sweep(lname, names)
  finally(run_at_end)
  at_end(function()
    for _, n in ipairs(names) do
      if nslab.netns.exists(n) then pcall(nslab.netns.kill, { n }, "SIGKILL") pcall(nslab.netns.del, n) end
    end
    os.remove(record.path_of(lname))
  end)
end

describe("signals during a lab's build #root", function()
  H.guard()

  for _, sig in ipairs { "INT", "TERM", "HUP" } do
    it("SIG" .. sig .. " right after a node's netns is made leaves nothing and kills nslab", function()
      local lname, h1, h2 = H.name("lab"), H.name(), H.name()
      sweep(lname, { h1, h2 })
      local out, status = run(string.format([[
local lab <close> = require("nslab").lab(%q)
lab:host(%q)
lab:host(%q)
print("not reached")
]], lname, h1, h2), "NSLAB_TEST_SIGNAL_AT=netns-added:" .. sig)
      assert.equals(STATUS[sig], status, out)
      assert.matches("interrupted (SIG" .. sig .. ")", out, 1, true)
      assert.not_matches("not reached", out, 1, true)
      assert.is_false(nslab.netns.exists(h1), "netns left behind: " .. out)
      assert.is_false(nslab.netns.exists(h2))
      assert.is_false(record_exists(lname), out)
    end)
  end

  it("leaves no record and no .tmp file when a signal lands while the record is written", function()
    local lname = H.name("lab")
    sweep(lname, {})
    local out, status = run(string.format([[
local lab <close> = require("nslab").lab(%q)
print("not reached")
]], lname), "NSLAB_TEST_SIGNAL_AT=record-tmp")
    assert.equals(STATUS.INT, status, out)
    assert.not_matches("not reached", out, 1, true)
    assert.is_false(record_exists(lname), out)
    local f = io.open(record.path_of(lname) .. ".tmp")
    if f then f:close() end
    assert.is_nil(f, "the record's .tmp file was left: " .. out)
  end)

  it("rolls back a node interrupted between creation and registration, so it can be made again", function()
    -- What Ctrl-C at the REPL does: the error is caught, the lab goes on.
    local lname, h1 = H.name("lab"), H.name()
    sweep(lname, { h1 })
    local out, status = run(string.format([[
local lab <close> = require("nslab").lab(%q)
local ok, e = pcall(lab.host, lab, %q)
print("first:", ok, e)
local h = lab:host(%q)
print("second:", h.name, #lab.nodes)
]], lname, h1, h1), "NSLAB_TEST_SIGNAL_AT=netns-added")
    assert.matches("first:\tfalse\t", out, 1, true)
    assert.matches("interrupted (SIGINT)", out, 1, true)
    assert.matches("second:\t" .. h1 .. "\t1", out, 1, true)
    assert.equals(STATUS.INT, status, out)
    assert.is_false(nslab.netns.exists(h1), out)
    assert.is_false(record_exists(lname), out)
  end)

  it("rolls back a link interrupted right after its veth is made: the same link can be made again", function()
    local lname, a, b = H.name("lab"), H.name(), H.name()
    sweep(lname, { a, b })
    local out, status = run(string.format([[
local lab <close> = require("nslab").lab(%q)
local a, b = lab:host(%q), lab:host(%q)
local ok, e = pcall(lab.link, lab, a, b, { addrs = { "10.9.0.1/24", "10.9.0.2/24" } })
print("first:", ok, e)
local l = lab:link(a, b, { addrs = { "10.9.0.1/24", "10.9.0.2/24" } })
print("second:", l.ifnames[1], l.ifnames[2])
]], lname, a, b), "NSLAB_TEST_SIGNAL_AT=veth-added")
    assert.matches("first:\tfalse\t", out, 1, true)
    assert.matches("interrupted (SIGINT)", out, 1, true)
    assert.matches("second:\teth0\teth0", out, 1, true)
    assert.equals(STATUS.INT, status, out)
    assert.is_false(nslab.netns.exists(a), out)
    assert.is_false(nslab.netns.exists(b), out)
    assert.is_false(record_exists(lname), out)
  end)
end)

describe("signals during a lab's close #root", function()
  H.guard()

  it("finishes the teardown when SIGINT comes during close, then dies of it", function()
    local lname, h1, h2 = H.name("lab"), H.name(), H.name()
    sweep(lname, { h1, h2 })
    local out, status = run(string.format([[
local lab = require("nslab").lab(%q)
lab:link(lab:host(%q), lab:host(%q))
lab:close()
print("not reached")
]], lname, h1, h2), "NSLAB_TEST_SIGNAL_AT=teardown")
    assert.equals(STATUS.INT, status, out)
    assert.matches("interrupted (SIGINT)", out, 1, true)
    assert.not_matches("not reached", out, 1, true)
    assert.is_false(nslab.netns.exists(h1), "netns left behind: " .. out)
    assert.is_false(nslab.netns.exists(h2), out)
    assert.is_false(record_exists(lname), out)
  end)

  it("says 'cleaning up, please wait' to a second and third Ctrl-C and still removes everything", function()
    local lname, h1, h2 = H.name("lab"), H.name(), H.name()
    sweep(lname, { h1, h2 })
    local pid, output = start(string.format([[
local lab <close> = require("nslab").lab(%q)
lab:link(lab:host(%q), lab:host(%q))
io.stdout:write("ready\n") io.stdout:flush()
while true do require("nslab").core.sleep(0.05) end
]], lname, h1, h2), "NSLAB_TEST_SIGNAL_AT=teardown:INT:2")
    H.sh("kill -INT " .. pid)
    assert.is_true(H.wait_for(function() return gone(pid) end, 10), output())
    local out = output()
    local _, notices = out:gsub("nslab: cleaning up, please wait\n", "")
    assert.equals(2, notices, out)
    assert.matches("interrupted (SIGINT)", out, 1, true)
    assert.is_false(nslab.netns.exists(h1), "netns left behind: " .. out)
    assert.is_false(nslab.netns.exists(h2), out)
    assert.is_false(record_exists(lname), out)
  end)

  it("keeps the record of what is left when a teardown is cut short (plain lua5.4: no deferral)", function()
    if not H.which("lua5.4") then return pending("lua5.4 is not installed") end
    local dir = H.bin:match("^(.*)/[^/]+$")
    local so = io.open(dir .. "/build/nslab.so") and dir .. "/build/?.so" or dir .. "/?.so"
    if dir:find("build-debug", 1, true) then return pending("the sanitized module needs the ASan runtime") end
    local lname, h1, h2 = H.name("lab"), H.name(), H.name()
    sweep(lname, { h1, h2 })
    -- lua.c's own SIGINT handler raises "interrupted!" wherever Lua is:
    -- here in the middle of the teardown, which nslab cannot defer.
    local script = tmpfile(string.format([[
package.cpath = %q .. ";" .. package.cpath
package.path = %q .. ";" .. package.path
local lab <close> = require("nslab").lab(%q)
lab:link(lab:host(%q), lab:host(%q))
]], so, dir .. "/lua/?.lua", lname, h1, h2))
    at_end(function() os.remove(script) end)
    local out = H.sh("(NSLAB_TEST_SIGNAL_AT=teardown lua5.4 " .. q(script) .. "; echo status=$?)")
    assert.matches("interrupted", out, 1, true)
    assert.is_true(nslab.netns.exists(h1) or nslab.netns.exists(h2), "expected a cut-short teardown: " .. out)
    assert.is_true(record_exists(lname), out)
    local clean, ok = H.nslab("--clean " .. lname)
    assert.is_true(ok, clean)
    assert.is_false(nslab.netns.exists(h1), clean)
    assert.is_false(nslab.netns.exists(h2), clean)
    assert.is_false(record_exists(lname), clean)
  end)
end)

describe("Ctrl-C with a script's own debug hook #root", function()
  H.guard()

  for _, mask in ipairs { "l", "c" } do
    it("interrupts a script that set debug.sethook(f, " .. q(mask) .. ") and closes its lab", function()
      local lname, h1 = H.name("lab"), H.name()
      sweep(lname, { h1 })
      local pid, output = start(string.format([[
local hits = 0
debug.sethook(function() hits = hits + 1 end, %q)
local lab <close> = require("nslab").lab(%q)
lab:host(%q)
io.stdout:write("ready\n") io.stdout:flush()
local function spin() return 1 end
while true do spin() end
]], mask, lname, h1))
      H.sh("kill -INT " .. pid)
      local died = H.wait_for(function() return gone(pid) end, 5)
      assert.is_true(died, "not interrupted: " .. output())
      assert.matches("interrupted (SIGINT)", output(), 1, true)
      assert.is_false(nslab.netns.exists(h1), output())
      assert.is_false(record_exists(lname), output())
    end)
  end

  it("gives the script its own hook back after an interrupt it caught", function()
    local out, status = run([[
local function f() end
debug.sethook(f, "l")
local pid = math.tointeger(require("nslab").core.getpid())
local ok, e = pcall(function()
  io.popen("kill -INT " .. pid):close()
  while true do end
end)
print("caught:", ok, e)
print("hook kept:", debug.gethook() == f, select(2, debug.gethook()))
]])
    assert.matches("caught:\tfalse\t", out, 1, true)
    assert.matches("interrupted (SIGINT)", out, 1, true)
    assert.matches("hook kept:\ttrue\tl", out, 1, true)
    assert.equals(STATUS.INT, status, out)
  end)
end)
