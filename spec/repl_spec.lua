-- The interactive REPL, driven through a pseudo-terminal by
-- spec/pty_driver.py (python3's pty module): what a user types and sees.
local H = require "helper"

local DRIVER = "spec/pty_driver.py"

local q = H.q

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  return dir
end

--- Runs nslab ARGS on a terminal, doing steps (see spec/pty_driver.py);
-- returns the transcript, whether every step passed.
-- opts.home: $HOME (history); default a fresh directory, removed after.
local function repl(steps, args, opts)
  opts = opts or {}
  local home = opts.home or tmpdir()
  local cmd = { "env", "TERM=xterm", "HOME=" .. q(home), "python3", DRIVER, "--timeout", "10" }
  for _, s in ipairs(steps) do cmd[#cmd + 1] = q(s) end
  cmd[#cmd + 1] = "--"
  cmd[#cmd + 1] = H.bin
  cmd[#cmd + 1] = args or ""
  local out, ok = H.sh(table.concat(cmd, " "))
  if not opts.home then os.execute("rm -rf " .. q(home)) end
  return out, ok
end

local function needs_python()
  if not H.which("python3") then
    pending("python3 is not installed (make deps installs it)")
    return true
  end
end

describe("REPL", function()
  it("prints the value of an expression", function()
    if needs_python() then return end
    local out, ok = repl { "expect:> ", "send:1+1\\r", "expect:\n2\n> ", "send:\\x04", "eof" }
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
  end)

  it("reads a multi-line for loop at the secondary prompt, then runs it", function()
    if needs_python() then return end
    local out, ok = repl {
      "expect:> ", "send:for i = 1, 3 do\\r", "expect:>> ", "send:print(i * 11)\\r",
      "expect:>> ", "send:end\\r", "expect:11\n22\n33\n> ", "send:\\x04", "eof",
    }
    assert.is_true(ok, out)
  end)

  it("prints an error with its traceback and goes on", function()
    if needs_python() then return end
    local out, ok = repl {
      "expect:> ", "send:error('boom')\\r", "expect:stdin:1: boom\nstack traceback:",
      "expect:> ", "send:print(6 * 7)\\r", "expect:42\n> ", "send:\\x04", "eof",
    }
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
  end)

  it("shows a plain table as a summary, not its address", function()
    if needs_python() then return end
    local out, ok = repl {
      "expect:> ", "send:{3, 4, name = 'red', mtu = 1500, sub = {x = 1}}\\r",
      "expect:> ", "send:\\x04", "eof",
    }
    assert.is_true(ok, out)
    assert.matches('{3, 4, name = "red", mtu = 1500, sub = {x = 1}}', out, 1, true)
    assert.not_matches("table: 0x", out, 1, true)
  end)

  it("completes a method after ':' with Tab (red:pi -> red:ping)", function()
    if needs_python() then return end
    local out, ok = repl({
      "expect:> ", "send:red:pi\\t", "expect:red:ping", "send:()\\r", "expect:PONG\n> ",
      "send:\\x04", "eof",
    }, [[-i -e 'red = {ping = function() print("PO" .. "NG") end}']])
    assert.is_true(ok, out)
  end)

  it("completes globals and fields through dotted paths", function()
    if needs_python() then return end
    local out, ok = repl {
      "expect:> ", "send:string.upp\\t", "expect:string.upper", "send:('ok')\\r", "expect:OK\n> ",
      "send:print(nslab.net\\t", "expect:nslab.netns", "send:.exi\\t", "expect:exists",
      "send:)\\r", "expect:function: ", "send:\\x04", "eof",
    }
    assert.is_true(ok, out)
  end)

  it("keeps the history in ~/.nslab_history and recalls it with Up", function()
    if needs_python() then return end
    local home = tmpdir()
    finally(function() os.execute("rm -rf " .. q(home)) end)
    local out, ok = repl({ "expect:> ", "send:x1 = 40 + 2\\r", "expect:> ", "send:\\x04", "eof" },
      "", { home = home })
    assert.is_true(ok, out)
    local f = assert(io.open(home .. "/.nslab_history"), "no history file")
    local text = f:read("a")
    f:close()
    assert.matches("x1", text, 1, true)
    -- a new session finds it: Up, Enter, then the value
    out, ok = repl({ "expect:> ", "send:\\x1b[A\\r", "expect:> ", "send:print(x1)\\r",
      "expect:42\n> ", "send:\\x04", "eof" }, "", { home = home })
    assert.is_true(ok, out)
  end)

  it("never writes or chmods the history through a symlink", function()
    if needs_python() then return end
    local home = tmpdir()
    finally(function() os.execute("rm -rf " .. q(home)) end)
    local target = home .. "/target"
    local f = assert(io.open(target, "w"))
    f:write("precious\n")
    f:close()
    assert(os.execute("chmod 644 " .. q(target) .. " && ln -s target " .. q(home .. "/.nslab_history")))
    local out, ok = repl({ "expect:history not kept", "expect:> ", "send:x1 = 1\r", "expect:> ", "send:\x04", "eof" },
      "", { home = home })
    assert.is_true(ok, out)
    assert.matches(".nslab_history is a symlink: history not kept", out, 1, true)
    f = assert(io.open(target))
    assert.equals("precious\n", f:read("a"))
    f:close()
    assert.equals("644", (H.sh("stat -c %a " .. q(target)):gsub("%s", "")))
  end)

  it("drops the line on Ctrl-C at the prompt and shows a new prompt", function()
    if needs_python() then return end
    local out, ok = repl {
      "expect:> ", "send:print('dropped')", "send:\\x03", "expect:\n> ",
      "send:print('kept')\\r", "expect:kept\n> ", "send:\\x04", "eof",
    }
    assert.is_true(ok, out)
    assert.not_matches("dropped\n", out, 1, true)
    assert.matches("exit: 0", out, 1, true)
  end)

  it("drops an unfinished statement on Ctrl-C at the secondary prompt", function()
    if needs_python() then return end
    local out, ok = repl {
      "expect:> ", "send:for i = 1, 2 do\\r", "expect:>> ", "send:\\x03", "expect:\n> ",
      "send:print('fresh')\\r", "expect:fresh\n> ", "send:\\x04", "eof",
    }
    assert.is_true(ok, out)
  end)

  it("stops a running statement on Ctrl-C and returns to the prompt", function()
    if needs_python() then return end
    local out, ok = repl {
      "expect:> ", "send:while true do end\\r", "sleep:0.3", "send:\\x03",
      "expect:interrupted \\(SIGINT\\)", "expect:> ", "send:print('alive')\\r",
      "expect:alive\n> ", "send:\\x04", "eof",
    }
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
  end)

  it("ends on SIGTERM, closing the state first", function()
    if needs_python() then return end
    local out, ok = repl({
      "expect:> ", "send:os.execute('kill -TERM ' .. nslab.core.getpid())\\r", "eof",
    }, [[-i -e 'x = setmetatable({}, {__gc = function() print("clean" .. "ed") end})']])
    assert.is_true(ok, out)
    assert.matches("cleaned", out, 1, true)
    assert.matches("signal: 15", out, 1, true)
  end)

  it("lists what is available with help", function()
    if needs_python() then return end
    local out, ok = repl { "expect:> ", "send:help\\r", "expect:NODE COMMAND", "expect:> ",
      "send:\\x04", "eof" }
    assert.is_true(ok, out)
    assert.matches("Tab completes", out, 1, true)
  end)

  it("leaves on exit with status 0", function()
    if needs_python() then return end
    local out, ok = repl { "expect:> ", "send:exit\\r", "eof" }
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
  end)

  it("uses _PROMPT and _PROMPT2 as lua does", function()
    if needs_python() then return end
    local out, ok = repl({ "expect:lab\\$ ", "send:do\\r", "expect:\\.\\.\\. ", "send:end\\r",
      "expect:lab\\$ ", "send:\\x04", "eof" }, [[-i -e '_PROMPT = "lab$ " _PROMPT2 = "... "']])
    assert.is_true(ok, out)
  end)
end)

describe("REPL without a terminal", function()
  it("reads statements from stdin, multi-line ones too", function()
    local out, ok = H.sh("printf 'for i = 1, 2 do\\nprint(i)\\nend\\n3 * 3\\n' | " .. H.bin .. " -i")
    assert.is_true(ok, out)
    assert.matches("1\n2\n", out, 1, true)
    assert.matches("9\n", out, 1, true)
  end)

  it("prints an error and goes on", function()
    local out, ok = H.sh("printf 'error(\"bad\")\\nprint(\"after\")\\n' | " .. H.bin .. " -i")
    assert.is_true(ok, out)
    assert.matches("stdin:1: bad", out, 1, true)
    assert.matches("after", out, 1, true)
  end)

  it("reports a line that is neither Lua nor a node command", function()
    local out, ok = H.sh("echo 'nosuchnode ping -c1 x' | " .. H.bin .. " -i")
    assert.is_true(ok, out)
    assert.matches("syntax error near 'ping'", out, 1, true)
  end)
end)

describe("REPL with a lab #root", function()
  H.guard()

  -- A lab held in a global, so that it stays open in the REPL after -i.
  local function lab_script(a, b)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(string.format([[
local nslab = require "nslab"
LAB = nslab.lab(%q)
local a, b = LAB:host(%q), LAB:host(%q)
LAB:link(a, b, { addrs = { "10.123.0.1/24", "10.123.0.2/24" } })
]], H.name("lab"), a, b))
    f:close()
    return path
  end

  it("runs a node command in that node's netns, node names becoming addresses", function()
    if needs_python() then return end
    local a, b = H.name("r"), H.name("b")
    local path = lab_script(a, b)
    finally(function() os.remove(path) end)
    local out, ok = repl({
      "expect:> ", "send:" .. a .. " ip netns identify\\r", "expect:" .. a .. "\n> ",
      "send:" .. a .. " echo to " .. b .. "\\r", "expect:to 10\\.123\\.0\\.2\n> ",
      "send:" .. a .. " ping -c1 -W2 " .. b .. "\\r", "expect:1 received", "expect:> ",
      -- the terminal is ours again after a node command
      "send:1+1\\r", "expect:2\n> ",
      "send:\\x04", "eof",
    }, "-i " .. q(path))
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
    assert.is_nil(H.snapshot().netns[a])
  end)

  it("takes the terminal back after a node command when its group is outside the PID namespace", function()
    -- Rootless mode and the sandbox start nslab in a new PID namespace
    -- while the terminal's process group stays outside it.
    if needs_python() then return end
    local a, b = H.name("r"), H.name("b")
    local path = lab_script(a, b)
    finally(function() os.remove(path) end)
    local out, ok = repl({
      "expect:> ", "send:" .. a .. " echo hi\\r", "expect:hi",
      "send:1+1\\r", "expect:2\n> ",
      -- the command reads the terminal (it would be stopped if it did
      -- not own it), and Ctrl-C stops the command, not the session
      "send:" .. a .. " head -1\\r", "send:typed\\r", "expect:typed\ntyped",
      "send:" .. a .. " sleep 100\\r", "send:\\x03", "expect:\\[killed by SIGINT\\]", "expect:> ",
      "send:2+2\\r", "expect:4\n> ",
      "send:\\x04", "eof",
    }, "--sandbox " .. H.bin .. " -i " .. q(path))
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
  end)

  it("runs a line as a node command when it starts with a node's name and a blank", function()
    if needs_python() then return end
    -- a Lua identifier, so that the REPL also makes it a global
    local a, b = string.format("n%08x", math.random(0, 0x7fffffff)), H.name("b")
    local path = lab_script(a, b)
    finally(function() os.remove(path) end)
    local out, ok = repl({
      -- would parse as Lua (arithmetic, a call): still a node command
      "expect:> ", "send:" .. a .. " /bin/echo abs\\r", "expect:abs\n> ",
      "send:" .. a .. " -h\\r", "expect:> ",
      -- a failing command says how it ended
      "send:" .. a .. " exit 3\\r", "expect:\\[exit 3\\]", "expect:> ",
      -- no job control: Ctrl-Z does not stop it (nslab would wait forever)
      "send:" .. a .. " sleep 100\\r", "send:\\x1a", "send:\\x03", "expect:\\[killed by SIGINT\\]",
      "expect:> ",
      -- '&' starts it in the background, owned by the lab
      "send:" .. a .. " sleep 100 &\\r", "expect:started in " .. a, "expect:> ",
      "send:#nslab.netns.pids{'" .. a .. "'} > 0\\r", "expect:true\n> ",
      -- an assignment stays Lua
      "send:" .. a .. " = 7\\r", "expect:> ", "send:" .. a .. "+1\\r", "expect:8\n> ",
      "send:\\x04", "eof",
    }, "-i " .. q(path))
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
  end)

  it("completes node names for a node command", function()
    if needs_python() then return end
    local a, b = H.name("r"), H.name("b")
    local path = lab_script(a, b)
    finally(function() os.remove(path) end)
    local out, ok = repl({
      "expect:> ", "send:" .. a .. " echo " .. b:sub(1, 4) .. "\\t", "expect:" .. b,
      "send:\\r", "expect:10\\.123\\.0\\.2\n> ", "send:\\x04", "eof",
    }, "-i " .. q(path))
    assert.is_true(ok, out)
  end)

  it("stops a sleep 100 node command on Ctrl-C and returns to the prompt", function()
    if needs_python() then return end
    local a, b = H.name("r"), H.name("b")
    local path = lab_script(a, b)
    finally(function() os.remove(path) end)
    local t0 = os.time()
    local out, ok = repl({
      "expect:> ", "send:" .. a .. " sleep 100\\r", "sleep:0.5", "send:\\x03", "expect:> ",
      "send:print('back')\\r", "expect:back\n> ", "send:\\x04", "eof",
    }, "-i " .. q(path))
    assert.is_true(ok, out)
    assert.is_true(os.time() - t0 < 30)
    assert.matches("exit: 0", out, 1, true)
  end)

  -- The README's own shape: the lab in a to-be-closed local, nodes in locals.
  local function close_script(a, b, tail)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(string.format([[
local nslab = require "nslab"
local lab <close> = nslab.lab(%q)
local a, b = lab:host(%q), lab:host(%q)
lab:link(a, b, { addrs = { "10.123.0.1/24", "10.123.0.2/24" } })
%s
]], H.name("lab"), a, b, tail or ""))
    f:close()
    return path
  end

  local function ident(prefix) return (H.name(prefix):gsub("-", "_")) end

  it("keeps a <close> lab of an -i script open until the REPL ends, nodes as globals", function()
    if needs_python() then return end
    local a, b = ident("r"), ident("b")
    local path = close_script(a, b)
    finally(function() os.remove(path) end)
    local out, ok = repl({
      "expect:> ", "send:print(#nslab.lab.active(), " .. a .. ":ping(" .. b .. "))\\r",
      "expect:1\ttrue\t", "expect:> ",
      "send:" .. a .. " ip netns identify\\r", "expect:" .. a .. "\n> ",
      "send:\\x04", "eof",
    }, "-i " .. q(path))
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
    assert.not_matches("closed", out, 1, true)
    assert.is_nil(H.snapshot().netns[a], out)
    assert.is_nil(H.snapshot().netns[b], out)
  end)

  it("leaves a global of the script alone when a node has its name", function()
    if needs_python() then return end
    local a, b = ident("r"), ident("b")
    local path = close_script(a, b, a .. " = 'mine'")
    finally(function() os.remove(path) end)
    local out, ok = repl({
      "expect:> ", "send:print(" .. a .. ", " .. b .. ".name)\\r", "expect:mine\t" .. b .. "\n> ",
      "send:\\x04", "eof",
    }, "-i " .. q(path))
    assert.is_true(ok, out)
  end)

  it("keeps an unfinished assignment to a node's name Lua, reading on at '>> '", function()
    local a, b = ident("r"), ident("b")
    local path = close_script(a, b)
    finally(function() os.remove(path) end)
    local out, ok = H.sh(string.format("printf '%%s\\n' %s 'return 6 end' %s | %s -i %s",
      q(a .. " = function()"), q("print(" .. a .. "())"), H.bin, q(path)))
    assert.is_true(ok, out)
    assert.matches("> 6\n", out, 1, true)
    assert.not_matches("[exit", out, 1, true)
    assert.not_matches("rror", out, 1, true)
  end)

  it("closes a <close> lab at once when the -i script fails", function()
    if needs_python() then return end
    local a, b = ident("r"), ident("b")
    local path = close_script(a, b, "error('experiment failed')")
    finally(function() os.remove(path) end)
    local out, ok = H.sh(H.bin .. " -i " .. q(path) .. " </dev/null")
    assert.is_false(ok, out)
    assert.matches("experiment failed", out, 1, true)
    assert.is_nil(H.snapshot().netns[a], out)
  end)

  it("closes a <close> lab of a statement typed at the prompt at its end", function()
    if needs_python() then return end
    local a = ident("r")
    local out, ok = H.sh(string.format(
      "printf '%%s\\n' %s 'print(#nslab.lab.active(), nslab.netns.exists(%q))' | %s -i",
      q(string.format("do local l <close> = nslab.lab(%q) l:host(%q) end", H.name("lab"), a)), a, H.bin))
    assert.is_true(ok, out)
    assert.matches("0\tfalse", out, 1, true)
  end)

  it("leaves no namespace behind after Ctrl-D with -i scripts/veth-pair.lua", function()
    if needs_python() then return end
    local before = H.snapshot()
    local out, ok = repl({ "expect:\n> ", "send:\\x04", "eof" }, "-i scripts/veth-pair.lua")
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
    assert.same({}, H.leftovers(before, H.snapshot()))
  end)
end)
