-- Rootless labs (src/rootless.c): nslab --rootless, the automatic fallback
-- when nslab lacks CAP_NET_ADMIN, NSLAB_ROOTLESS, and the errors when user
-- namespaces are disabled. nslab is started here without capabilities
-- through util-linux: `unshare --user --map-user=1000` (a uid other than 0
-- and no capabilities, as an ordinary user has) and `setpriv`.
local H = require "helper"

local q = H.q

local function slurp(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

--- Runs a shell command; returns stdout, stderr, exit code (128+N when
-- killed by signal N, as the shell reports it).
local function run(cmd)
  local errf = os.tmpname()
  local f = assert(io.popen("(" .. cmd .. ") 2>" .. errf .. "; echo \"rc=$?\"", "r"))
  local out = f:read("a")
  f:close()
  local err = slurp(errf)
  os.remove(errf)
  local code = tonumber(out:match("rc=(%d+)\n$"))
  return out:gsub("rc=%d+\n$", ""), err, code
end

-- nslab as an ordinary user: uid 1000 in a user namespace of its own,
-- without capabilities (execve as a non-root uid drops them).
local UNPRIV = "unshare --user --map-user=1000 --map-group=1000 "
-- A user namespace where no further user namespace can be made: the
-- limit is per user namespace, so the host's stays as it is.
local NOUSERNS = "unshare --user --map-root-user sh -c " ..
  q("echo 0 >/proc/sys/user/max_user_namespaces && exec \"$@\"") .. " sh "
local NOCAPS = "setpriv --inh-caps=-all --bounding-set=-all "
local FALLBACK = "no CAP_NET_ADMIN; running rootless in a new user namespace"

local function max_userns()
  return tonumber(slurp("/proc/sys/user/max_user_namespaces"))
end

-- Builds red and blue joined by a veth pair with nslab, prints what ip
-- and ping see there, cleans up. Used through --rootless and through the automatic fallback.
local VETH_LAB = [[
local nslab = require "nslab"
local red, blue = "rl-red", "rl-blue"
nslab.netns.add(red)
nslab.netns.add(blue)
nslab.link.veth { name = "va", netns = red, peer = "vb", peer_netns = blue, up = true }
nslab.addr.add("va", "10.123.0.1/24", { netns = red })
nslab.addr.add("vb", "10.123.0.2/24", { netns = blue })
print("netns " .. table.concat(nslab.netns.list(), ","))
local function sh(c) assert(os.execute(c), c) end
sh("ip -n rl-red -o link show dev va; ip -n rl-blue -o link show dev vb")
sh("ip netns exec rl-red ping -c1 -W2 10.123.0.2 >/dev/null && echo red-pings-blue")
sh("ip netns exec rl-blue ping -c1 -W2 10.123.0.1 >/dev/null && echo blue-pings-red")
io.write(io.open("/proc/self/uid_map"):read("a"))
nslab.netns.del(red)
nslab.netns.del(blue)
]]

describe("rootless #root", function()
  H.guard()

  describe("--rootless", function()
    it("runs a script that makes netns and a veth pair, and sees them", function()
      local out, err, code = run(H.bin .. " --rootless -e " .. q(VETH_LAB))
      assert.equals("", err)
      assert.equals(0, code)
      assert.matches("netns rl%-blue,rl%-red\n", out)
      assert.matches(": va@if%d+: .* state UP", out)
      assert.matches(": vb@if%d+: .* state UP", out)
      assert.matches("red-pings-blue\nblue-pings-red\n", out, 1, true)
      -- root inside is one id outside: the caller's
      assert.matches("^%s*0%s+%d+%s+1\n$", out:match("[^\n]*\n$"))
      -- the lab's namespaces never appear outside
      assert.is_nil(H.snapshot().netns["rl-red"])
    end)

    it("gives the lab a host netns of its own: lo up, no other link", function()
      local out, err, code = run(H.bin .. " --rootless -e " ..
        q([[for l in io.popen("ls /sys/class/net"):lines() do print(l) end
            print(io.open("/sys/class/net/lo/operstate"):read("l"),
                  io.open("/sys/class/net/lo/flags"):read("l"))]]))
      assert.equals("", err)
      assert.equals(0, code)
      local first, flags = out:match("^lo\n(%a+)\t(0x%x+)\n$")
      assert.is_not_nil(first, out)
      assert.equals(1, math.tointeger(tonumber(flags)) & 1) -- IFF_UP
    end)

    it("starts with empty /run/netns and /run/nslab of its own", function()
      local out, _, code = run(H.bin .. " --rootless -e " ..
        q([[print(#require("nslab").netns.list(), io.open("/run/nslab") ~= nil)]]))
      assert.equals(0, code)
      assert.equals("0\ttrue\n", out)
    end)

    it("exits with the script's status", function()
      local _, _, code = run(H.bin .. " --rootless -e 'os.exit(7)'")
      assert.equals(7, code)
      local _, err
      _, err, code = run(H.bin .. " --rootless -e 'error(\"boom\")'")
      assert.equals(1, code)
      assert.matches("boom", err, 1, true)
    end)

    it("passes SIGTERM to the script and dies of it", function()
      local out = run("sh -c " .. q(H.bin .. " --rootless -e 'while true do end' 2>/dev/null & " ..
        "p=$!; sleep 0.3; kill -TERM $p; wait $p; echo status=$?"))
      assert.equals("status=143\n", out)
    end)

    it("leaves nothing running: a background process dies with the lab", function()
      local tag = string.format("%d.%d", math.random(1000, 9999), math.random(100, 999))
      local _, _, code = run(H.bin .. " --rootless -e " ..
        q("os.execute('sleep " .. tag .. " >/dev/null 2>&1 &')"))
      assert.equals(0, code)
      assert.is_true(H.wait_for(function()
        return not select(2, H.sh("pgrep -f '[s]leep " .. tag .. "'"))
      end, 5))
    end)

    it("leaves nothing running when nslab itself is killed with SIGKILL", function()
      local tag = string.format("%d.%d", math.random(1000, 9999), math.random(100, 999))
      local out = run("sh -c " .. q(H.bin .. " --rootless -e " ..
        q("os.execute('sleep " .. tag .. " >/dev/null 2>&1 & sleep " .. tag .. "')") ..
        " 2>/dev/null & p=$!; sleep 0.3; kill -KILL $p; wait $p; echo status=$?"))
      assert.equals("status=137\n", out)
      assert.is_true(H.wait_for(function()
        return not select(2, H.sh("pgrep -f '[s]leep " .. tag .. "'"))
      end, 5))
    end)
  end)

  describe("automatic fallback", function()
    it("runs rootless when nslab lacks CAP_NET_ADMIN, saying so on stderr", function()
      local out, err, code = run(UNPRIV .. H.bin .. " -e " .. q(VETH_LAB))
      assert.equals(0, code)
      local lines = {}
      for l in err:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.equals(1, #lines, err)
      assert.matches(FALLBACK, lines[1], 1, true)
      assert.matches("red-pings-blue\nblue-pings-red\n", out, 1, true)
      -- root inside is uid 1000 of the unprivileged caller
      assert.matches("^%s*0%s+1000%s+1\n$", out:match("[^\n]*\n$"))
    end)

    it("is off with NSLAB_ROOTLESS=0: privileged calls name CAP_NET_ADMIN", function()
      local _, err, code = run("NSLAB_ROOTLESS=0 " .. UNPRIV .. H.bin ..
        " -e 'require(\"nslab\").netns.add(\"rl-x\")'")
      assert.equals(1, code)
      assert.not_matches("running rootless", err, 1, true)
      assert.matches('netns%.add "rl%-x": .*needs CAP_NET_ADMIN.*%-%-rootless.*%(EPERM%)', err)
    end)

    it("names CAP_NET_ADMIN when a lab is the first privileged call, before writing anything", function()
      local _, err, code = run("NSLAB_ROOTLESS=0 " .. UNPRIV .. H.bin ..
        " -e 'require(\"nslab\").lab(\"rl-lab\")'")
      assert.equals(1, code)
      assert.matches('nslab%.lab "rl%-lab": .*needs CAP_NET_ADMIN.*%(EPERM%)', err)
      assert.not_matches("EACCES", err, 1, true)
    end)

    it("leaves pure Lua alone when nslab has the capabilities", function()
      local out, err, code = run(H.bin .. " -e 'print(io.open(\"/proc/self/uid_map\"):read(\"a\"))'")
      assert.equals(0, code)
      assert.equals("", err)
      assert.equals(H.sh("cat /proc/self/uid_map"), out:sub(1, -2))
    end)

    it("NSLAB_ROOTLESS=1 forces it even with the capabilities", function()
      local out, _, code = run("NSLAB_ROOTLESS=1 " .. H.bin ..
        " -e 'print(#io.open(\"/proc/self/uid_map\"):read(\"a\"))'")
      assert.equals(0, code)
      assert.not_equals(H.sh("cat /proc/self/uid_map"), out)
      out, _, code = run("NSLAB_ROOTLESS=1 " .. H.bin .. " -e 'print(#require(\"nslab\").netns.list())'")
      assert.equals(0, code)
      assert.equals("0\n", out)
    end)

    it("rejects other NSLAB_ROOTLESS values, unless -E ignores the environment", function()
      local _, err, code = run("NSLAB_ROOTLESS=yes " .. H.bin .. " -e 'print(1)'")
      assert.equals(1, code)
      assert.matches('NSLAB_ROOTLESS must be 0 or 1, not "yes"', err, 1, true)
      local out
      out, _, code = run("NSLAB_ROOTLESS=yes " .. H.bin .. " -E -e 'print(1)'")
      assert.equals(0, code)
      assert.equals("1\n", out)
    end)
  end)

  describe("without user namespaces", function()
    it("--rootless fails naming user.max_user_namespaces", function()
      local before = max_userns()
      local out, err, code = run(NOUSERNS .. H.bin .. " --rootless -e 'print(1)'")
      assert.equals(1, code)
      assert.equals("", out)
      assert.matches("cannot create a user namespace: .*%(ENOSPC%); user namespaces are disabled: " ..
        "sysctl user.max_user_namespaces is 0", err)
      assert.equals(before, max_userns()) -- this namespace's limit untouched
      assert.is_true(before > 0)
    end)

    it("the fallback stays quiet; privileged calls name CAP_NET_ADMIN", function()
      local out, err, code = run(NOUSERNS .. NOCAPS .. H.bin ..
        " -e 'print(1)' -e 'require(\"nslab\").netns.add(\"rl-x\")'")
      assert.equals(1, code)
      assert.equals("1\n", out)
      assert.not_matches("running rootless", err, 1, true)
      assert.matches('netns%.add "rl%-x": .*needs CAP_NET_ADMIN', err)
      -- and does not suggest what cannot work here
      assert.not_matches("--rootless", err, 1, true)
      assert.matches("user namespaces are disabled (sysctl user.max_user_namespaces is 0)", err, 1, true)
    end)
  end)
end)

describe("nslab --sandbox #root", function()
  H.guard()

  it("gives the command a private /etc: what it writes there stays inside", function()
    local probe = "/etc/" .. H.name("nslab-probe")
    local out, ok = H.sh(H.bin .. " --sandbox sh -c " ..
      q("mkdir " .. probe .. " && echo x > " .. probe .. "/f && cat " .. probe .. "/f"))
    assert.is_true(ok, out)
    assert.equals("x\n", out)
    assert.is_nil(io.open(probe .. "/f"))
    assert.is_falsy(os.execute("test -e " .. probe))
  end)

  local function ns_of(kind)
    return (H.sh("readlink /proc/self/ns/" .. kind):gsub("%s+$", ""))
  end

  it("gives the command its own UTS and IPC namespaces", function()
    local out, ok = H.sh(H.bin .. " --sandbox sh -c 'readlink /proc/self/ns/uts /proc/self/ns/ipc'")
    assert.is_true(ok, out)
    local uts, ipc = out:match("^(%S+)\n(%S+)\n$")
    assert.is_truthy(uts, out)
    assert.are_not.equal(ns_of("uts"), uts)
    assert.are_not.equal(ns_of("ipc"), ipc)
  end)

  it("keeps a hostname set inside and its System V IPC from the outside", function()
    -- Only once the namespaces are known to differ: never rename this one.
    local out = H.sh(H.bin .. " --sandbox readlink /proc/self/ns/uts")
    assert.are_not.equal(ns_of("uts") .. "\n", out)
    local before = H.sh("hostname")
    local name = H.name("sbx")
    local ok
    out, ok = H.sh(H.bin .. " --sandbox sh -c " .. q("hostname " .. name .. " && hostname && " ..
      "ipcmk -Q >/dev/null && grep -c . /proc/sysvipc/msg"))
    assert.is_true(ok, out)
    assert.equals(name .. "\n2\n", out) -- header line and the new queue
    assert.equals(before, H.sh("hostname"))
    assert.equals("1\n", H.sh("grep -c . /proc/sysvipc/msg")) -- the header alone
  end)
end)

describe("scripts/ rootless #root", function()
  H.guard()
  local scripts = {}
  local ls = io.popen("ls scripts/*.lua 2>/dev/null")
  for l in ls:lines() do scripts[#scripts + 1] = l end
  ls:close()
  if #scripts == 0 then
    it("runs every example lab", function() pending("no scripts/*.lua yet") end)
  end
  for _, script in ipairs(scripts) do
    it("runs " .. script .. " as an ordinary user", function()
      local out, err, code = run(UNPRIV .. H.bin .. " " .. q(script))
      assert.equals(0, code, out .. err)
      assert.matches(FALLBACK, err, 1, true)
    end)
  end
end)
