-- `make install DESTDIR=...` and the rockspec: the installed tree works on
-- its own. The installed nslab runs the article lab, plain lua5.4 finds
-- the installed module, every install line honours DESTDIR, and
-- installing reuses the build the suite runs on (nothing is recompiled).
local H = require "helper"

local q = H.q

-- The build under test, relative to the tree: ./nslab is built in build/,
-- build-debug/nslab (make check-debug) in build-debug/.
local root = (H.sh("pwd"):gsub("%s+$", ""))
local bin = H.bin:sub(1, #root + 1) == root .. "/" and H.bin:sub(#root + 2) or H.bin
local build = bin:match("^(.*)/[^/]+$") or "build"
local make_vars = " BUILD=" .. q(build) .. " NSLAB=" .. q(bin == "nslab" and "./nslab" or bin)

-- A sanitizer build (make check-debug) loads into plain lua5.4 only with
-- the ASan runtime first in the process.
local preload = ""
if H.sh("ldd " .. q(build .. "/nslab.so")):match("libasan") then
  preload = "LD_PRELOAD=" .. H.sh("cc -print-file-name=libasan.so"):gsub("%s+$", "") ..
    " ASAN_OPTIONS=detect_leaks=0 "
end

-- make run as from a shell, not as a sub-make of `make check`.
local function make(args)
  return H.sh("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory" .. make_vars .. " " .. args)
end

local function lua54(cpath, code)
  return H.sh("cd / && " .. preload .. "lua5.4 -E -e " .. q("package.cpath = " .. string.format("%q", cpath)) ..
    " -e " .. q(code))
end

-- Paths of every file under dir, relative to it, sorted.
local function files(dir)
  local out = H.sh("cd " .. q(dir) .. " && find . -type f | sort")
  local t = {}
  for l in out:gmatch("[^\n]+") do t[#t + 1] = l:sub(3) end
  return t
end

describe("make install", function()
  H.guard()
  local dest

  lazy_setup(function()
    dest = (H.sh("mktemp -d"):gsub("%s+$", ""))
  end)
  lazy_teardown(function()
    if dest then H.sh("rm -rf " .. q(dest)) end
  end)

  it("recompiles nothing and writes only below DESTDIR", function()
    local plan, ok = make("-n install DESTDIR=" .. q(dest) .. " PREFIX=/usr/local")
    assert.is_true(ok, plan)
    assert.is_nil(plan:match("[^\n]* %-c [^\n]*"), "make install would compile:\n" .. plan)
    local n = 0
    for line in plan:gmatch("[^\n]+") do
      for path in (" " .. line):gmatch("%s(/[^%s]*)") do
        n = n + 1
        assert.equals(dest, path:sub(1, #dest), "not below DESTDIR in: " .. line)
      end
    end
    assert.is_true(n >= 4, "no install line found:\n" .. plan)

    local out
    out, ok = make("install DESTDIR=" .. q(dest) .. " PREFIX=/usr/local")
    assert.is_true(ok, out)
    local got = files(dest)
    for _, want in ipairs { "usr/local/bin/nslab", "usr/local/lib/lua/5.4/nslab.so",
      "usr/local/share/man/man1/nslab.1" } do
      assert.is_truthy(H.sh("test -s " .. q(dest .. "/" .. want) .. " && echo yes"):match("yes"),
        want .. " not installed; got:\n" .. table.concat(got, "\n"))
    end
    -- The Lua library is embedded (its one delivery): no .lua file installed.
    for _, f in ipairs(got) do assert.is_nil(f:match("%.lua$"), f .. " installed") end
  end)

  it("lets plain lua5.4 find the installed module", function()
    local so = dest .. "/usr/local/lib/lua/5.4/?.so"
    local out, ok = lua54(so, 'local n = require "nslab"\n' ..
      'print(package.searchpath("nslab", package.cpath), type(n.netns.list),\n' ..
      '  type(package.preload["nslab.lab"]))')
    assert.is_true(ok, out)
    assert.equals(dest .. "/usr/local/lib/lua/5.4/nslab.so\tfunction\tfunction\n", out)
  end)

  it("installs an nslab that runs the article lab on its own #root", function()
    local out, ok, code = H.sh("cd " .. q(dest) .. " && " .. q(dest .. "/usr/local/bin/nslab") .. " " ..
      q(root .. "/scripts/veth-pair.lua"))
    assert.is_true(ok, "exit " .. tostring(code) .. ":\n" .. out)
    for _, s in ipairs { "red reaches blue", "blue reaches red", "red and blue are gone" } do
      assert.matches(s, out, 1, true)
    end
    assert.equals("", (H.sh("ls -A /run/nslab")))
  end)
end)

describe("luarocks make", function()
  H.guard()

  it("installs nslab.so where lua5.4 finds it", function()
    if not H.which("luarocks") then
      pending("luarocks is not installed (make deps installs it)")
      return
    end
    local tree = (H.sh("mktemp -d"):gsub("%s+$", ""))
    finally(function() H.sh("rm -rf " .. q(tree)) end)
    local out, ok = H.sh("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL HOME=" .. q(tree) .. " BUILD=" .. q(build) ..
      " luarocks --lua-version 5.4 --tree " .. q(tree) .. " make nslab-scm-1.rockspec")
    assert.is_true(ok, out)
    assert.is_nil(out:match("[^\n]* %-c [^\n]*"), "luarocks make recompiled:\n" .. out)
    out, ok = lua54(tree .. "/lib/lua/5.4/?.so", 'local n = require "nslab"\n' ..
      'print(package.searchpath("nslab", package.cpath), type(n.netns.list))')
    assert.is_true(ok, out)
    assert.equals(tree .. "/lib/lua/5.4/nslab.so\tfunction\n", out)
  end)
end)
