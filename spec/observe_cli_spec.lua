-- `nslab --events NAME` and `nslab --capture NAME NODE IFNAME` (issue 16)
-- against a lab kept by another nslab process (`nslab --keep script`).
local H = require "helper"
local nslab = require "nslab"
local json = require "nslab.json"

local q = H.q

-- Keeps a lab of two hosts a -- b made by a second nslab process;
-- returns its name and the two node names.
local function kept_lab()
  local name, a, b = H.name "ocl", H.name "oca", H.name "ocb"
  local script = H.tmpfile(string.format([[
local lab = require("nslab").lab(%q)
lab:link(lab:host(%q), lab:host(%q), {addrs = {"10.55.0.1/24", "10.55.0.2/24"}})
]], name, a, b))
  local out, ok = H.nslab("--keep " .. q(script))
  os.remove(script)
  assert(ok, out)
  return name, a, b
end

local function clean(name)
  local out, ok = H.nslab("--clean " .. q(name))
  assert(ok, out)
end

-- Starts `nslab ARGS >out 2>err` in the background; returns the proc and
-- the two paths.
local function background(args, dir)
  local out, err = dir .. "/out", dir .. "/err"
  local p = nslab.spawn(nil, { "/bin/sh", "-c", string.format("exec %s %s >%s 2>%s", q(H.bin), args, q(out), q(err)) })
  return p, out, err
end

local function tcpdumps() return H.count_procs("tcpdump") end

describe("lab commands on a kept lab #root", function()
  H.guard()

  local dir
  before_each(function() dir = H.sh("mktemp -d"):gsub("%s+$", "") end)
  after_each(function() H.sh("rm -rf " .. q(dir)) end)

  it("--events prints a link going down and an address added as JSON lines", function()
    local name, a = kept_lab()
    local ok, e = pcall(function()
      local p, out, err = background("--events " .. q(name) .. " --timeout 20 --groups link,addr", dir)
      assert(H.wait_for(function() return H.read_all(err):find("watching 2 node", 1, true) end, 10), H.read_all(err))
      nslab.link.set("eth0", { up = false }, { netns = a })
      nslab.addr.add("lo", "10.56.0.1/32", { netns = a })
      local down, added
      H.wait_for(function()
        for l in H.read_all(out):gmatch("[^\n]+") do
          local ev = json.decode(l)
          if ev.node == a and ev.kind == "link" and ev.name == "eth0" and ev.up == false then down = ev end
          if ev.node == a and ev.kind == "addr" and ev.address == "10.56.0.1" then added = ev end
        end
        return down and added
      end, 10)
      assert.is_table(down, H.read_all(out))
      assert.is_table(added, H.read_all(out))
      assert.equal("new", added.event)
      assert.equal("lo", added.ifname)
      -- interrupted, nslab ends as interrupted programs do: by the signal
      p:kill("SIGINT")
      assert.equal("SIGINT", p:wait(5).signal, H.read_all(err))
    end)
    clean(name)
    assert(ok, e)
  end)

  it("--events ends once the lab is removed (nslab --clean)", function()
    local name = kept_lab()
    local p, _, err = background("--events " .. q(name), dir)
    local ok, e = pcall(function()
      assert(H.wait_for(function() return H.read_all(err):find("watching 2 node", 1, true) end, 10), H.read_all(err))
    end)
    clean(name)
    assert(ok, e)
    local r = p:wait(10)
    assert.is_false(r.timed_out)
    assert.equal(0, r.status, H.read_all(err))
    assert.matches(string.format('lab "%s" is gone', name), H.read_all(err), 1, true)
  end)

  it("--capture streams pcap that tcpdump -r reads: the 3 pings sent", function()
    if not H.which("tcpdump") then return pending("tcpdump is not installed") end
    if H.rootless() then return pending("rootless: tcpdump cannot drop root (see capture_spec)") end
    local name, a = kept_lab()
    local ok, e = pcall(function()
      local p, out, err = background("--capture " .. q(name) .. " " .. q(a) .. " eth0 icmp", dir)
      assert(H.wait_for(function() return #H.read_all(out) >= 24 end, 10), H.read_all(err))
      local r = nslab.exec(a, { "ping", "-c", "3", "-i", "0.2", "10.55.0.2" })
      assert.is_true(r.ok, r.stdout)
      -- every packet is flushed as it comes (-U): 6 there before the stop
      assert(H.wait_for(function()
        return select(2, H.sh("tcpdump -n -r " .. q(out)):gsub("ICMP echo", "")) == 6
      end, 5))
      p:kill("SIGINT")
      assert.equal("SIGINT", p:wait(5).signal, H.read_all(err))
      local text = H.sh("tcpdump -n -r " .. q(out) .. " 'icmp[icmptype] = icmp-echo'")
      assert.equal(3, select(2, text:gsub("ICMP echo request", "")), text)
      assert.equal(0, tcpdumps())
      -- and through a pipe, as documented
      local rout, rerr = dir .. "/reader.out", dir .. "/reader.err"
      local piped = nslab.spawn(nil, { "/bin/sh", "-c", string.format(
        "%s --capture %s %s eth0 icmp | tcpdump -c 1 -n -r - >%s 2>%s", q(H.bin), q(name), q(a), q(rout), q(rerr)) })
      -- the reader says so once the pcap header came through the pipe
      assert(H.wait_for(function() return H.read_all(rerr):find("reading from file -", 1, true) end, 10))
      assert.is_true(nslab.exec(a, { "ping", "-c", "1", "10.55.0.2" }).ok)
      assert(H.wait_for(function() return H.read_all(rout):find("ICMP echo request", 1, true) end, 10))
      -- the reader is gone: the next packet ends the writer (EPIPE), as
      -- for any pipe writer
      assert.is_true(nslab.exec(a, { "ping", "-c", "1", "10.55.0.2" }).ok)
      assert.is_false(piped:wait(10).timed_out)
      assert.equal(0, tcpdumps())
    end)
    clean(name)
    assert(ok, e)
  end)

  it("refuses bad input: unknown lab or node, an interface the node lacks, a bad filter or group", function()
    local name, a = kept_lab()
    local ok, e = pcall(function()
      local function fails(args, text)
        local out, okr, code = H.sh("{ " .. q(H.bin) .. " " .. args .. " </dev/null 2>&1 >/dev/null; }")
        assert.is_false(okr, out)
        assert.equal(1, code)
        assert.matches(text, out, 1, true)
        assert.equal(1, select(2, out:gsub("\n", ""))) -- one line
      end
      local nolab = H.name "nolab"
      fails("--events " .. q(nolab), string.format('no lab "%s" is recorded in /run/nslab', nolab))
      fails("--capture " .. q(nolab) .. " x eth0", string.format('no lab "%s" is recorded in /run/nslab', nolab))
      fails("--capture " .. q(name) .. " nope eth0", string.format('lab "%s" has no node "nope"', name))
      fails("--events " .. q(name) .. " --groups link,bogus",
        'nslab --events "bogus": Invalid argument: unknown group "bogus"')
      fails("--events", "which lab?")
      fails("--events " .. q(name) .. " --timeout 0", "--timeout takes seconds > 0")
      if H.which("tcpdump") then
        fails("--capture " .. q(name) .. " " .. q(a) .. " eth9", "tcpdump: eth9: No such device")
        fails("--capture " .. q(name) .. " " .. q(a) .. " eth0 'icmp and'", "can't parse filter expression")
      end
      assert.equal(0, tcpdumps())
    end)
    clean(name)
    assert(ok, e)
  end)
end)
