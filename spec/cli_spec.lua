-- The nslab host as a Lua interpreter: options as lua(1) has them.
local H = require "helper"

local q, tmpfile = H.q, H.tmpfile

describe("nslab host", function()
  it("prints nslab's and Lua's versions with -v", function()
    local out, ok = H.nslab("-v")
    assert.is_true(ok)
    assert.matches("^nslab %d+%.%d+%.%d+", out)
    assert.matches("Lua 5%.4", out)
  end)

  it("has the module built in: require from stdin with -", function()
    local out, ok = H.sh("echo 'print(type(require \"nslab\"))' | " .. H.bin .. " -")
    assert.is_true(ok)
    assert.equals("table\n", out)
  end)

  it("runs several -e in order", function()
    local out, ok = H.nslab("-e 'x=41' -e 'print(x+1)'")
    assert.is_true(ok)
    assert.equals("42\n", out)
  end)

  it("reads the script from stdin when not a terminal", function()
    local out, ok = H.sh("echo 'print(1+2)' | " .. H.bin)
    assert.is_true(ok)
    assert.equals("3\n", out)
  end)

  it("passes script arguments in arg and ...", function()
    local path = tmpfile("print(arg[0] == ..., arg[1], arg[2], select('#', ...))\n" ..
      "print(arg[-1] ~= nil)\n")
    finally(function() os.remove(path) end)
    local out, ok = H.nslab(q(path) .. " a b")
    assert.is_true(ok)
    assert.equals("false\ta\tb\t2\ntrue\n", out)
  end)

  it("exits 1 with file:line: and a traceback on a script error", function()
    local path = tmpfile("local x = 1\nerror('boom')\n")
    finally(function() os.remove(path) end)
    local out, ok, code = H.nslab(q(path))
    assert.is_false(ok)
    assert.equals(1, code)
    assert.matches(path:gsub("%p", "%%%0") .. ":2: boom", out)
    assert.matches("stack traceback:", out, 1, true)
  end)

  it("prints an error object through its __tostring", function()
    local out, ok = H.nslab([[-e 'error(setmetatable({}, {__tostring = function() return "custom" end}))']])
    assert.is_false(ok)
    assert.matches("custom", out, 1, true)
  end)

  it("loads a library into a global with -l", function()
    local out, ok = H.nslab("-l nslab -e 'print(type(nslab.netns))'")
    assert.is_true(ok)
    assert.equals("table\n", out)
    out, ok = H.nslab("-l n=nslab -e 'print(type(n.netns))'")
    assert.is_true(ok)
    assert.equals("table\n", out)
  end)

  it("stops at -- and treats what follows as the script", function()
    local path = tmpfile("print(arg[1])\n")
    finally(function() os.remove(path) end)
    local out, ok = H.nslab("-- " .. q(path) .. " -x")
    assert.is_true(ok)
    assert.equals("-x\n", out)
  end)

  it("runs the REPL after the script with -i, its globals live", function()
    local path = tmpfile("answer = 42\n")
    finally(function() os.remove(path) end)
    local out, ok = H.sh("echo 'print(answer)' | " .. H.bin .. " -i " .. q(path))
    assert.is_true(ok)
    assert.matches("42", out)
  end)

  it("finds libraries through -I and NSLAB_PATH", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    finally(function() os.execute("rm -rf " .. dir) end)
    local f = assert(io.open(dir .. "/mytopo.lua", "w"))
    f:write("return { hello = 'from mytopo' }\n")
    f:close()
    local out, ok = H.nslab("-I " .. dir .. " -e 'print(require(\"mytopo\").hello)'")
    assert.is_true(ok, out)
    assert.equals("from mytopo\n", out)
    out, ok = H.sh("NSLAB_PATH='" .. dir .. "/?.lua' " .. H.bin .. " -e 'print(require(\"mytopo\").hello)'")
    assert.is_true(ok, out)
    assert.equals("from mytopo\n", out)
    -- -E ignores NSLAB_PATH as lua -E ignores LUA_PATH
    ok = select(2, H.sh("NSLAB_PATH='" .. dir .. "/?.lua' " .. H.bin .. " -E -e 'require(\"mytopo\")'"))
    assert.is_false(ok)
  end)

  it("rejects an unknown option with the usage, exiting 1 as lua does", function()
    local out, ok, code = H.nslab("--frobnicate")
    assert.is_false(ok)
    assert.equals(1, code)
    assert.matches("unrecognized option '--frobnicate'", out, 1, true)
    assert.matches("usage:", out, 1, true)
  end)

  it("says which option lacks its argument (-e at the end, -e followed by an option)", function()
    local out, ok, code = H.nslab("-e")
    assert.is_false(ok)
    assert.equals(1, code)
    assert.matches("'-e' needs argument", out, 1, true)
    out, ok = H.nslab("-l -v")
    assert.is_false(ok)
    assert.matches("'-l' needs argument", out, 1, true)
  end)

  it("prints every option with --help and -h, exiting 0", function()
    for _, opt in ipairs { "--help", "-h" } do
      local out, ok = H.nslab(opt)
      assert.is_true(ok, out)
      for _, o in ipairs { "-e stat", "-i", "-l mod", "-l g=mod", "-I dir", "-v", "-E", "-W", "--keep",
        "--clean", "--rootless", "--", "NSLAB_PATH" } do
        assert.matches(o, out, 1, true)
      end
    end
  end)

  it("sets arg[0] to the program when there is no script, as lua does", function()
    local out, ok = H.nslab("-e 'print(arg[0] == \"" .. H.bin .. "\", arg[1], arg[2] ~= nil, arg[-1])'")
    assert.is_true(ok, out)
    assert.equals("true\t-e\ttrue\tnil\n", out)
  end)

  it("runs the chunk with its arguments in ... when it is read from stdin with -", function()
    local out, ok = H.sh("echo 'print(...)' | " .. H.bin .. " - x y")
    assert.is_true(ok, out)
    assert.equals("x\ty\n", out)
  end)

  it("prints the version and reads no stdin with -v alone", function()
    local out, ok = H.sh("echo 'print(\"ran\")' | " .. H.bin .. " -v")
    assert.is_true(ok, out)
    assert.not_matches("ran", out, 1, true)
  end)

  it("reads stdin when only -l is given, as lua does", function()
    local out, ok = H.sh("echo 'print(type(string))' | " .. H.bin .. " -l string")
    assert.is_true(ok, out)
    assert.equals("table\n", out)
  end)

  it("prints the version first with -i (-i implies -v)", function()
    local out, ok = H.sh("echo '' | " .. H.bin .. " -i")
    assert.is_true(ok, out)
    assert.matches("^nslab %d+%.%d+%.%d+", out)
  end)

  it("runs LUA_INIT first, and -E ignores it", function()
    local out, ok = H.sh("LUA_INIT='print(\"init\")' " .. H.bin .. " -e 'print(\"main\")'")
    assert.is_true(ok, out)
    assert.equals("init\nmain\n", out)
    local path = tmpfile("print('from file')\n")
    finally(function() os.remove(path) end)
    out, ok = H.sh("LUA_INIT_5_4=@" .. q(path) .. " " .. H.bin .. " -e ''")
    assert.is_true(ok, out)
    assert.equals("from file\n", out)
    out, ok = H.sh("LUA_INIT='print(\"init\")' " .. H.bin .. " -E -e 'print(\"main\")'")
    assert.is_true(ok, out)
    assert.equals("main\n", out)
  end)

  it("turns warnings on with -W", function()
    local out = H.nslab("-e 'warn(\"quiet\")' -W -e 'warn(\"loud\")'")
    assert.not_matches("quiet", out, 1, true)
    assert.matches("Lua warning: loud", out, 1, true)
  end)

  it("exits 1 naming the file it cannot open", function()
    local out, ok, code = H.nslab("/nonexistent/lab.lua")
    assert.is_false(ok)
    assert.equals(1, code)
    assert.matches("cannot open /nonexistent/lab.lua", out, 1, true)
  end)

  it("exits 1 with file:line: on a syntax error", function()
    local path = tmpfile("x = = 1\n")
    finally(function() os.remove(path) end)
    local out, ok, code = H.nslab(q(path))
    assert.is_false(ok)
    assert.equals(1, code)
    assert.matches(path:gsub("%p", "%%%0") .. ":1: unexpected symbol near '='", out)
  end)

  it("closes the state on os.exit, so __gc (labs) runs, unless told not to", function()
    local gc = "x = setmetatable({}, {__gc = function() print(\"closed\") end}) "
    local out, ok, code = H.nslab("-e '" .. gc .. "os.exit(3)'")
    assert.is_false(ok)
    assert.equals(3, code)
    assert.equals("closed\n", out)
    out, ok = H.nslab("-e '" .. gc .. "os.exit(true, false)'")
    assert.is_true(ok)
    assert.equals("", out)
  end)

  it("requires nslab.* submodules before nslab itself", function()
    local out, ok = H.nslab("-e 'print(type(require(\"nslab.netns\").add))'")
    assert.is_true(ok, out)
    assert.equals("function\n", out)
  end)

  it("requires nslab.core and nslab.exec before nslab itself, each once", function()
    local out, ok = H.nslab([[-e 'local core, exec = require "nslab.core", require "nslab.exec"
      print(core == require("nslab").core, exec.exec == require("nslab").exec)']])
    assert.is_true(ok, out)
    assert.equals("true\ttrue\n", out)
  end)

  it("delivers the Lua library embedded: no library directory on package.path", function()
    local dir = H.bin:match("^(.*)/[^/]+$")
    local out, ok = H.nslab("-e 'print(package.path)'")
    assert.is_true(ok, out)
    assert.not_matches(dir .. "/lua/", out, 1, true)
    assert.not_matches("/share/nslab/", out, 1, true)
    -- from a directory with no lua/ beside it, the embedded copy loads
    out, ok = H.sh("cd / && " .. q(H.bin) ..
      " -e 'print(debug.getinfo(require(\"nslab.topo\").line, \"S\").source)'")
    assert.is_true(ok, out)
    assert.equals("@[nslab]/nslab/topo.lua\n", out)
  end)

  it("lets a module on -I or NSLAB_PATH override the embedded copy, saying so once", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/nslab"))
    finally(function() os.execute("rm -rf " .. dir) end)
    for name, text in pairs { topo = "return { line = 'dev topo' }", view = "return { count = 'dev view' }",
      extra = "return { 'not in the library' }" } do
      local f = assert(io.open(dir .. "/nslab/" .. name .. ".lua", "w"))
      f:write(text, "\n")
      f:close()
    end
    local code = " -e 'print(require(\"nslab.topo\").line, require(\"nslab.view\").count)'"
    local function overrides(out)
      local n = select(2, out:gsub("overrides the embedded", ""))
      return n
    end
    local out, ok = H.nslab("-I " .. dir .. code)
    assert.is_true(ok, out)
    assert.matches("dev topo\tdev view\n", out, 1, true)
    assert.matches(dir .. "/nslab/topo.lua overrides the embedded nslab.topo (-I or NSLAB_PATH); " ..
      "-v lists every override", out, 1, true)
    assert.equals(1, overrides(out))
    out, ok = H.nslab("-v -I " .. dir .. code)
    assert.is_true(ok, out)
    assert.matches(dir .. "/nslab/view.lua overrides the embedded nslab.view (-I or NSLAB_PATH)\n", out, 1, true)
    assert.equals(2, overrides(out))
    out, ok = H.sh("NSLAB_PATH=" .. q(dir .. "/?.lua") .. " " .. q(H.bin) .. code)
    assert.is_true(ok, out)
    assert.matches("dev topo\tdev view\n", out, 1, true)
    assert.equals(1, overrides(out))
    -- -E: NSLAB_PATH is ignored, the embedded copies load
    out, ok = H.sh("NSLAB_PATH=" .. q(dir .. "/?.lua") .. " " .. q(H.bin) .. " -E" .. code)
    assert.is_true(ok, out)
    assert.matches("^function: ", out)
    assert.equals(0, overrides(out))
    -- a module the library does not have is no override: it loads silently
    out, ok = H.nslab("-I " .. dir .. " -e 'print(require(\"nslab.extra\")[1])'")
    assert.is_true(ok, out)
    assert.equals("not in the library\n", out)
  end)

  it("lets an init.lua on -I override the embedded one, with nslab.core still built in", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/nslab"))
    finally(function() os.execute("rm -rf " .. dir) end)
    local f = assert(io.open(dir .. "/nslab/init.lua", "w"))
    f:write("local core = require 'nslab.core'\nreturn { dev = true, add = core.netns.add }\n")
    f:close()
    local out, ok = H.nslab("-I " .. dir .. " -e 'local n = require \"nslab\" print(n.dev, type(n.add))'")
    assert.is_true(ok, out)
    assert.matches("true\tfunction\n", out, 1, true)
    assert.matches(dir .. "/nslab/init.lua overrides the embedded nslab", out, 1, true)
  end)

  it("dies of the signal after closing the state (SIGTERM during a script)", function()
    local out = H.sh(H.bin .. " -e 'x = setmetatable({}, {__gc = function() print(\"closed\") end})' " ..
      "-e 'os.execute(\"kill -TERM \" .. require(\"nslab\").core.getpid()) while true do end' 2>&1; echo status=$?")
    assert.matches("interrupted (SIGTERM)", out, 1, true)
    assert.matches("closed", out, 1, true)
    assert.matches("status=143", out, 1, true)
  end)

  it("reports bad arguments to os.exit and os.execute at the caller's line, as lua does", function()
    local out, ok = H.nslab([[-e 'os.exit("x")']])
    assert.is_false(ok)
    assert.matches("(command line):1: bad argument #1 to 'exit' (number expected, got string)", out, 1, true)
    out, ok = H.nslab([[-e 'os.execute({})']])
    assert.is_false(ok)
    assert.matches("(command line):1: bad argument #1 to 'execute' (string expected, got table)", out, 1, true)
  end)

  it("stops at Ctrl-C during an os.execute loop (the command dies of SIGINT)", function()
    -- As a terminal does: SIGINT to the whole foreground group, nslab and
    -- the sleep; system(3) ignores SIGINT in nslab meanwhile.
    local out = H.sh("(set -m; timeout 20 " .. H.bin ..
      " -e 'print(\"start\") io.stdout:flush() while true do os.execute(\"sleep 0.2\") end' & " ..
      "pid=$!; sleep 0.6; kill -INT -$pid; wait $pid; echo status=$?) 2>&1")
    assert.matches("start", out, 1, true)
    assert.matches("interrupted (SIGINT)", out, 1, true)
    assert.matches("status=130", out, 1, true)
  end)

  it("stops at a SIGINT sent to nslab alone during os.execute, passing it on to the command", function()
    -- kill, systemd or a CI runner signal nslab only: system(3) would
    -- ignore it until the command ended, and the script went on.
    for _, sig in ipairs { "INT", "TERM" } do
      local out = H.sh("(" .. H.bin ..
        " -e 'print(\"start\") io.stdout:flush() print(os.execute(\"sleep 5\")) print(\"went on\")' </dev/null & " ..
        "pid=$!; sleep 0.5; t=$(date +%s%N); kill -" .. sig .. " $pid; wait $pid; " ..
        "echo status=$? ms=$(( ($(date +%s%N) - t) / 1000000 ))) 2>&1")
      assert.matches("interrupted (SIG" .. sig .. ")", out, 1, true)
      assert.not_matches("went on", out, 1, true)
      assert.matches("status=" .. (sig == "INT" and 130 or 143), out, 1, true)
      assert.is_true(tonumber(out:match("ms=(%d+)")) < 2500, out)
      assert.is_nil(out:match("%(command line%):1: interrupted"), "the error should carry no position: " .. out)
    end
  end)

  it("runs no more Lua after a signal interrupts io.read", function()
    -- stdin is a FIFO nobody writes to, so io.read blocks until the signal.
    local out = H.sh("d=$(mktemp -d); mkfifo $d/f; exec 3<>$d/f; (" .. H.bin ..
      " -e 'print(\"reading\") io.stdout:flush() io.read() print(\"continued\")' <$d/f & " ..
      "pid=$!; sleep 0.5; kill -TERM $pid; wait $pid; echo status=$?) 2>&1; rm -rf $d")
    assert.matches("reading", out, 1, true)
    assert.matches("interrupted (SIGTERM)", out, 1, true)
    assert.not_matches("continued", out, 1, true)
    assert.matches("status=143", out, 1, true)
  end)

  it("installs and uninstalls under PREFIX and DESTDIR", function()
    if not (H.which("make") and io.open("Makefile")) then return pending("needs make and the source tree") end
    local dest = os.tmpname()
    os.remove(dest)
    finally(function() os.execute("rm -rf " .. q(dest)) end)
    local out, ok = H.sh("make -s install PREFIX=/opt/nsl DESTDIR=" .. q(dest))
    assert.is_true(ok, out)
    local root = dest .. "/opt/nsl"
    for _, f in ipairs { "/bin/nslab", "/lib/lua/5.4/nslab.so", "/share/man/man1/nslab.1" } do
      assert.is_truthy(io.open(root .. f), "not installed: " .. f)
    end
    -- the library is embedded: no Lua files installed, none needed
    out = H.sh("find " .. q(dest) .. " -name '*.lua'")
    assert.equals("", out)
    out, ok = H.sh("cd / && " .. q(root .. "/bin/nslab") .. " -e 'print(require(\"nslab.lab\") ~= nil)'")
    assert.is_true(ok, out)
    assert.equals("true\n", out)
    out, ok = H.sh("make -s uninstall PREFIX=/opt/nsl DESTDIR=" .. q(dest))
    assert.is_true(ok, out)
    out = H.sh("find " .. q(dest) .. " -type f")
    assert.equals("", out)
  end)

  it("has a man page that man can render", function()
    if not H.which("man") then return pending("man is not installed") end
    local out, ok = H.sh("MANWIDTH=80 man -l doc/nslab.1")
    assert.is_true(ok, out)
    assert.matches("THE REPL", out, 1, true)
    assert.matches("NSLAB_PATH", out, 1, true)
  end)

  it("works as a loadable module for plain lua5.4", function()
    if not H.which("lua5.4") then return pending("lua5.4 is not installed") end
    local dir = H.bin:match("^(.*)/[^/]+$")
    local so = dir .. "/build/nslab.so"
    if not io.open(so) then so = dir .. "/nslab.so" end
    -- A sanitized module (make check-debug) needs the ASan runtime first.
    local preload = ""
    if dir:find("build-debug", 1, true) then
      preload = "LD_PRELOAD=" .. H.sh("cc -print-file-name=libasan.so"):gsub("%s+$", "") ..
        " ASAN_OPTIONS=detect_leaks=0 "
    end
    local out, ok = H.sh(preload .. "lua5.4 -e 'package.cpath=\"" .. so:gsub("nslab%.so$", "?.so") ..
      ";\"..package.cpath' -e 'print(type(require(\"nslab\").netns.add))'")
    assert.is_true(ok, out)
    assert.equals("function\n", out)
  end)
end)

describe("nslab host installed setuid or with file capabilities #root", function()
  -- A copy of the host, setuid root or with a file capability, run as
  -- uid 65534: the kernel sets AT_SECURE and nslab must refuse at once.
  local function copy(setup)
    local dir = H.sh("mktemp -d"):gsub("%s+$", "")
    local bin = dir .. "/nslab"
    local out, ok = H.sh("cp " .. H.q(H.bin) .. " " .. bin .. " && chmod 755 " .. dir .. " && " .. setup(bin))
    assert(ok, out)
    return dir, bin
  end
  local as_nobody = "setpriv --reuid 65534 --regid 65534 --clear-groups "
  -- Needs the machine's root (uid 65534 mapped, setuid honoured): not
  -- under nslab --rootless, where "root" is a user namespace's.
  local function machine_root()
    local f = io.open("/proc/self/uid_map")
    local map = f and f:read("a") or ""
    if f then f:close() end
    if not map:match("^%s*0%s+0%s+4294967295") then
      pending("needs the machine's root, not a user namespace's")
      return false
    end
    return true
  end

  it("refuses to run setuid root, saying why, with status 126", function()
    if not machine_root() then return end
    local dir, bin = copy(function(b) return "chmod 4755 " .. b end)
    finally(function() H.sh("rm -rf " .. dir) end)
    local out, ok, code = H.sh(as_nobody .. bin .. " -e 'print(\"ran\")'")
    assert.is_false(ok)
    assert.equals(126, code)
    assert.is_nil(out:find("ran", 1, true))
    assert.matches("refusing to run setuid, setgid or with file capabilities", out, 1, true)
  end)

  it("refuses to run with file capabilities", function()
    if not machine_root() then return end
    if not H.which("setcap") then pending("no setcap") return end
    local dir, bin = copy(function(b) return "setcap cap_net_admin+ep " .. b end)
    finally(function() H.sh("rm -rf " .. dir) end)
    local out, ok, code = H.sh(as_nobody .. bin .. " -e 'print(\"ran\")'")
    assert.is_false(ok)
    assert.equals(126, code)
    assert.matches("AT_SECURE", out, 1, true)
  end)

  it("runs as usual when installed as an ordinary program", function()
    if not machine_root() then return end
    local dir, bin = copy(function(b) return "true " .. b end)
    finally(function() H.sh("rm -rf " .. dir) end)
    local out, ok = H.sh(as_nobody .. bin .. " -e 'print(\"ran\")'")
    assert.is_true(ok, out)
    assert.matches("ran", out, 1, true)
  end)
end)

describe("nslab host as PID 1 #root", function()
  -- A container entry point: unshare -pf makes nslab PID 1 of a new PID
  -- namespace, where orphans are reparented to it.
  local function pid1(code)
    local path = H.tmpfile(code)
    finally(function() os.remove(path) end)
    return H.sh("unshare --pid --fork --mount-proc " .. H.bin .. " " .. path)
  end

  it("reaps an orphan left by a command its timeout killed: no zombie remains", function()
    if not H.which("unshare") then pending("no unshare(1)") return end
    local out, ok = pid1 [[
      local nslab = require "nslab"
      local core = require "nslab.core"
      local r = nslab.sh(nil, "setsid sleep 0.2 & exec sleep 30", { timeout = 0.5 })
      assert(r.timed_out)
      local function zombies()
        local f = io.popen("cat /proc/[0-9]*/stat 2>/dev/null")
        local n = 0
        for l in f:lines() do if l:match("^%d+ %(.*%) Z ") then n = n + 1 end end
        f:close()
        return n
      end
      local deadline = core.monotime() + 5
      while zombies() > 0 and core.monotime() < deadline do core.sleep(0.05) end
      print("zombies", zombies())
      -- nslab's own children are still its own to wait for
      local p = nslab.spawn(nil, { "sh", "-c", "exit 3" })
      print("own", p:wait(5).status)
      local f = io.popen("echo hi")
      f:read("a") -- else echo may die of SIGPIPE
      print("popen", f:close())
    ]]
    assert.is_true(ok, out)
    assert.matches("zombies\t0\n", out, 1, true)
    assert.matches("own\t3\n", out, 1, true)
    assert.matches("popen\ttrue\texit\t0\n", out, 1, true)
  end)

  it("exits with the script's status, and passes SIGTERM on", function()
    if not H.which("unshare") then pending("no unshare(1)") return end
    local _, ok, code = pid1("os.exit(7)")
    assert.is_false(ok)
    assert.equals(7, code)
    local out
    out, ok, code = pid1("os.execute('kill -TERM 1; sleep 2') print('not interrupted')")
    assert.is_false(ok)
    assert.equals(143, code)
    assert.matches("interrupted (SIGTERM)", out, 1, true)
  end)
end)
