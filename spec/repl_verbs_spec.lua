-- The REPL as Mininet's CLI, on a terminal (spec/pty_driver.py): `lab`,
-- the words nodes, net, dump, links, pingall, link, iperf and help, a
-- mistyped node name, background output before the prompt, the progress
-- line ended before the prompt, and scripts/playground.lua under -i.
local H = require "helper"

local DRIVER = "spec/pty_driver.py"
local q = H.q

local function repl(steps, args)
  local home = os.tmpname()
  os.remove(home)
  assert(os.execute("mkdir -p " .. q(home)))
  local cmd = { "env", "TERM=xterm", "HOME=" .. q(home), "python3", DRIVER, "--timeout", "20" }
  for _, s in ipairs(steps) do cmd[#cmd + 1] = q(s) end
  cmd[#cmd + 1] = "--"
  cmd[#cmd + 1] = H.bin
  cmd[#cmd + 1] = args
  local out, ok = H.sh(table.concat(cmd, " "))
  os.execute("rm -rf " .. q(home))
  return out, ok
end

local function ident(prefix) return (H.name(prefix):gsub("-", "_")) end

-- A <close> lab in locals (it stays open under -i): hosts a, b, router r.
local function script(n, extra)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(string.format([[
local nslab = require "nslab"
local lab <close> = nslab.lab(%q)
local a, b, r = lab:host(%q), lab:host(%q), lab:router(%q)
lab:link(a, r, { addrs = { "10.70.1.1/24", "10.70.1.254/24" } })
lab:link(r, b, { addrs = { "10.70.2.254/24", "10.70.2.1/24" } })
a:route("default", "10.70.1.254")
b:route("default", "10.70.2.254")
%s
]], n.lab, n.a, n.b, n.r, extra or ""))
  f:close()
  return path
end

-- Names for the lab of `script` and its file, removed after the test.
local function lab_script()
  local n = { lab = H.name "rvl", a = ident "rva", b = ident "rvb", r = ident "rvr" }
  local path = script(n)
  finally(function() os.remove(path) end)
  return n, path
end

local function e(s) return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?|\\{}]", "\\%0")) end

describe("REPL words #root", function()
  H.guard()

  before_each(function()
    if not H.which("python3") then pending("python3 is not installed (make deps installs it)") end
  end)

  it("runs nodes, net, dump, links, pingall, link, iperf and help on `lab`", function()
    local n, path = lab_script()
    local a, b, r = n.a, n.b, n.r
    local out, ok = repl({
      "expect:> ", "send:print(lab.name)\\r", "expect:" .. e(n.lab) .. "\n> ",
      "send:nodes\\r", "expect:available nodes are: \n" .. a .. " " .. b .. " " .. r .. "\n> ",
      "send:net\\r", "expect:" .. a .. " eth0:" .. r .. ":eth0\n" .. b .. " eth0:" .. r .. ":eth1\n" .. r ..
        " eth0:" .. a .. ":eth0 eth1:" .. b .. ":eth0\n> ",
      "send:dump\\r", "expect:<Host " .. a .. ": eth0:10\\.70\\.1\\.1/24 netns=" .. a .. ">\n",
      "expect:<Router " .. r .. ": eth0:10\\.70\\.1\\.254/24 eth1:10\\.70\\.2\\.254/24 netns=" .. r .. ">\n> ",
      "send:links\\r", "expect:" .. a .. ":eth0<->" .. r .. ":eth0 \\(OK OK\\)\n", "expect:> ",
      "send:pingall\\r", "expect:\\*\\*\\* Results: 0% dropped \\(6/6 received\\)\n> ",
      "send:link " .. a .. " " .. r .. " down\\r", "expect:link " .. a .. " -- " .. r .. " down\n> ",
      "send:links\\r", "expect:" .. a .. ":eth0<->" .. r .. ":eth0 \\(DOWN DOWN\\)\n", "expect:> ",
      "send:" .. a .. ":ping(" .. b .. ")\\r", "expect:false", "expect:> ",
      "send:link " .. a .. " " .. r .. " up\\r", "expect:> ",
      "send:" .. a .. ":ping(" .. b .. ")\\r", "expect:true", "expect:> ",
      "send:link " .. a .. " nosuch up\\r", "expect:link: no node \"nosuch\"; nodes of lab " .. e(n.lab) .. ": " ..
        a .. " " .. b .. " " .. r .. "\n> ",
      "send:iperf " .. a .. " " .. b .. "\\r",
      "expect:\\*\\*\\* Iperf: testing TCP bandwidth between " .. a .. " and " .. b .. "\n",
      "expect:\\*\\*\\* Results: \\['[0-9.]+ [GMK]?bits/sec', '[0-9.]+ [GMK]?bits/sec'\\]\n> ",
      "send:help\\r", "expect:Mininet's words", "expect:link A B down\\|up", "expect:> ",
      "send:\\x04", "eof",
    }, "-i " .. q(path))
    assert.is_true(ok, out)
    assert.matches("exit: 0", out, 1, true)
  end)

  it("names the nodes for a mistyped node name instead of a syntax error", function()
    local n, path = lab_script()
    local out, ok = repl({
      "expect:> ", "send:" .. n.a .. "x ping -c1 " .. n.b .. "\\r",
      "expect:no node \"" .. n.a .. "x\" in lab " .. e(n.lab) .. " \\(nodes: " .. n.a .. " " .. n.b .. " " .. n.r ..
        "\\), and the line is not Lua\n> ",
      "send:\\x04", "eof",
    }, "-i " .. q(path))
    assert.is_true(ok, out)
    assert.not_matches("syntax error", out, 1, true)
  end)

  it("shows a background command's output before a prompt, once it ended", function()
    local n, path = lab_script()
    local out, ok = repl({
      "expect:> ", "send:" .. n.a .. " sleep 0.3; echo bg-out &\\r", "expect:started in " .. n.a, "expect:\n> ",
      "send:nslab.core.sleep(0.6)\\r", "expect:done in " .. n.a .. "\nbg-out\n> ",
      "send:\\x04", "eof",
    }, "-i " .. q(path))
    assert.is_true(ok, out)
  end)

  it("ends the progress line of a big build before the prompt", function()
    local n = { lab = H.name "rvl", a = ident "rva", b = ident "rvb", r = ident "rvr" }
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(string.format([[
local lab <close> = require("nslab").lab(%q, { progress = true })
lab:expect(100, 0)
lab:host(%q)
]], n.lab, n.a))
    f:close()
    finally(function() os.remove(path) end)
    local out, ok = repl({
      "expect:nodes, 0/0 links \\([0-9.]+/s\\)\n> ", "send:\\x04", "eof",
    }, "-i " .. q(path))
    assert.is_true(ok, out)
  end)

  it("ends the progress line with a newline once the announced build is done", function()
    local name = H.name "rvl"
    local path = H.tmpfile(string.format([[
local lab <close> = require("nslab").lab(%q, { progress = true })
lab:expect(100, 0)
for i = 1, 100 do lab:host(%q .. i) end
io.stderr:write("after\n")
]], name, H.name "rvp" .. "-"))
    finally(function() os.remove(path) end)
    local out, ok = H.sh(H.bin .. " " .. q(path))
    assert.is_true(ok, out)
    out = out:gsub("\27%[[%d;]*%a", ""):gsub("\r", "")
    assert.matches("lab " .. name:gsub("%-", "%%-") .. ": 100/100 nodes, 0/0 links %([%d.]+/s%)\nafter\n$", out)
  end)

  it("works on a lab reopened with nslab --attach, and lab:close() there removes it", function()
    if H.rootless() then return pending("rootless: labs cannot be kept") end
    local n = { lab = H.name "rvl", a = ident "rva", b = ident "rvb", r = ident "rvr" }
    local path = script(n)
    finally(function() os.remove(path) end)
    local made, made_ok = H.nslab("--keep " .. q(path))
    assert.is_true(made_ok, made)
    local out, ok = repl({
      "expect:attached to lab " .. e(n.lab), "expect:> ",
      "send:nodes\\r", "expect:" .. n.a .. " " .. n.b .. " " .. n.r .. "\n> ",
      "send:" .. n.a .. " ping -c1 -W2 " .. n.b .. "\\r", "expect:1 received", "expect:> ",
      "send:" .. n.a .. " hostname\\r", "expect:" .. n.a .. "\n> ",
      "send:lab:close()\\r", "expect:> ", "send:\\x04", "eof",
    }, "--attach " .. q(n.lab))
    assert.is_true(ok, out)
    assert.equals("", (H.sh("ls -A /run/nslab")))
    assert.is_nil(H.snapshot().netns[n.a])
  end)

  it("keeps scripts/playground.lua's lab open under -i", function()
    local out, ok = repl({
      "expect:it stays open here", "expect:> ", "send:nodes\\r", "expect:h1 h2 h3 r1 s1\n> ",
      "send:h1 ping -c1 -W2 h2\\r", "expect:1 received", "expect:> ",
      "send:\\x04", "eof",
    }, "-i scripts/playground.lua")
    assert.is_true(ok, out)
    assert.equals("", (H.sh("ls -A /run/nslab")))
  end)
end)

describe("REPL words without a lab", function()
  it("say there is no lab and how to have one, not nil or a syntax error", function()
    local input = H.tmpfile("pingall\nnet\nlink a b down\niperf a b\nprint('lua', 1 + 1)\n")
    local out = H.sh(H.bin .. " -i < " .. input)
    os.remove(input)
    for _, verb in ipairs { "pingall", "net", "link", "iperf" } do
      assert.truthy(out:find("no lab: " .. verb .. " works on an open lab;", 1, true), out)
    end
    assert.truthy(out:find("nslab --attach NAME", 1, true), out)
    assert.falsy(out:find("nil", 1, true), out)
    assert.falsy(out:find("syntax error", 1, true), out)
    assert.truthy(out:find("lua\t2", 1, true), out) -- Lua still runs
  end)
end)
