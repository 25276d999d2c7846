-- The nslab host as a Lua interpreter: options as lua(1) has them.
local H = require "helper"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function tmpfile(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

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
    out, ok = H.sh("NSLAB_PATH='" .. dir .. "/?.lua' " .. H.bin .. " -E -e 'require(\"mytopo\")'")
    assert.is_false(ok)
  end)

  it("rejects an unknown option with the usage", function()
    local out, ok, code = H.nslab("--frobnicate")
    assert.is_false(ok)
    assert.equals(2, code)
    assert.matches("usage:", out, 1, true)
  end)

  it("works as a loadable module for plain lua5.4", function()
    if not H.which("lua5.4") then return pending("lua5.4 is not installed") end
    local dir = H.bin:match("^(.*)/[^/]+$")
    local so = dir .. "/build/nslab.so"
    if not io.open(so) then so = dir .. "/nslab.so" end
    local out, ok = H.sh("lua5.4 -e 'package.cpath=\"" .. so:gsub("nslab%.so$", "?.so") ..
      ";\"..package.cpath' -e 'print(type(require(\"nslab\").netns.add))'")
    assert.is_true(ok, out)
    assert.equals("function\n", out)
  end)
end)
