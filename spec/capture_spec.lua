-- node:capture (nslab.capture, issue 16): tcpdump in a node writing
-- pcap, read back with `tcpdump -r`.
local H = require "helper"
local nslab = require "nslab"

local raises = H.raises

-- The packets tcpdump -r prints for file (one line each), filtered
-- (pcap-filter text).
local function read_back(file, filter)
  local out = H.sh("tcpdump -n -r " .. H.q(file) .. " " .. H.q(filter or ""))
  local lines = {}
  for l in out:gmatch("[^\n]+") do
    if l:match("^%d%d:%d%d:") then lines[#lines + 1] = l end
  end
  return lines
end

local function tcpdumps() return H.count_procs("tcpdump") end

local function two_hosts() return H.pair_lab("cp", "10.66.0.") end

describe("node:capture #root", function()
  H.guard()
  if not H.which("tcpdump") then
    pending("tcpdump is not installed (Debian package tcpdump)")
    return
  end
  if H.rootless() then
    it("says why tcpdump cannot run rootless, in its own words", function()
      local lab <close>, a = two_hosts()
      local file = os.tmpname()
      local e = raises("EPERM", a.capture, a, "eth0", { file = file })
      assert.matches("tcpdump: Couldn't change to", tostring(e), 1, true)
      assert.is_nil(io.open(file))
      assert.equal(0, tcpdumps())
      lab:close()
    end)
    it("says the same for a pid = true node: the file is nslab's to open, not the node's", function()
      local lab <close> = nslab.lab(H.name("cpl"))
      local a, b = lab:host(H.name("cpa"), { pid = true }), lab:host(H.name("cpb"))
      lab:link(a, b, { addrs = { "10.66.1.1/24", "10.66.1.2/24" } })
      local file = os.tmpname()
      local e = raises("EPERM", a.capture, a, "eth0", { file = file })
      assert.matches("tcpdump: Couldn't change to", tostring(e), 1, true)
      assert.is_nil(io.open(file))
    end)
    return
  end

  local dir
  before_each(function() dir = H.sh("mktemp -d"):gsub("%s+$", "") end)
  after_each(function() H.sh("rm -rf " .. H.q(dir)) end)

  it("captures a ping: tcpdump -r reads back the 3 echo requests sent", function()
    local lab <close>, a, b = two_hosts()
    local file = dir .. "/ping.pcap"
    local cap = a:capture("eth0", { file = file, filter = "icmp" })
    assert.is_true(cap:running())
    assert.is_true(a:ping(b, { count = 3 }))
    assert.equal(6, cap:stop()) -- 3 requests, 3 replies
    assert.is_false(cap:running())
    assert.equal(6, cap:packets())
    local req = read_back(file, "icmp[icmptype] = icmp-echo")
    assert.equal(3, #req)
    for _, l in ipairs(req) do assert.matches("10.66.0.1 > 10.66.0.2: ICMP echo request", l, 1, true) end
    assert.equal(6, #read_back(file))
    assert.equal(6, cap:stop()) -- twice: nothing more
    lab:close()
    assert.equal(0, tcpdumps())
  end)

  it("ends by itself after count packets, keeps snaplen bytes", function()
    local lab <close>, a, b = two_hosts()
    local file = dir .. "/two.pcap"
    local cap = a:capture("eth0", { file = file, filter = "icmp", count = 2, snaplen = 60 })
    assert.is_true(a:ping(b, { count = 3 }))
    assert.is_true(H.wait_for(function() return not cap:running() end, 5))
    assert.equal(2, cap:packets())
    assert.equal(2, cap:stop())
    local info = H.sh("{ tcpdump -n -r " .. H.q(file) .. " 2>&1 >/dev/null; }")
    assert.matches("snapshot length 60", info, 1, true)
    lab:close()
  end)

  it("is killed when the lab closes: no tcpdump left, the file stays", function()
    local lab, a = two_hosts()
    local file = dir .. "/open.pcap"
    local cap = a:capture("eth0", { file = file })
    assert.equal(1, tcpdumps())
    lab:close()
    assert.is_false(cap:running())
    assert.equal(0, tcpdumps())
    assert.is_true(#H.read_all(file) >= 24)
  end)

  it("writes where nslab's path points from a pid = true node, relative or absolute, whatever dirs hide", function()
    local lab <close> = nslab.lab(H.name("cpl"))
    local a, b = lab:host(H.name("cpa"), { pid = true, dirs = { dir } }), lab:host(H.name("cpb"))
    lab:link(a, b, { addrs = { "10.66.1.1/24", "10.66.1.2/24" } })
    local rel = H.name("cp") .. ".pcap"
    for _, file in ipairs { dir .. "/abs.pcap", rel } do
      local ok, e = pcall(function()
        local cap = a:capture("eth0", { file = file, filter = "icmp" })
        assert.is_true(a:ping(b, { count = 2 }))
        assert.equal(4, cap:stop())
        assert.equal(2, #read_back(file, "icmp[icmptype] = icmp-echo"))
      end)
      os.remove(rel)
      assert(ok, e)
    end
    -- the node's own view of dir is its private tmpfs: empty
    assert.equal("", a:run({ "ls", "-A", dir }).stdout)
  end)

  it("names the Debian package when tcpdump is missing, leaving no file", function()
    local path, rm = H.path_without("tcpdump")
    finally(rm)
    local file = dir .. "/none.pcap"
    local out, ok = H.sh("env PATH=" .. H.q(path) .. " " .. H.q(H.bin) .. " -e " .. H.q(string.format([[
local lab <close> = require("nslab").lab(%q)
local a, b = lab:host(%q), lab:host(%q)
lab:link(a, b, { addrs = { "10.66.2.1/24", "10.66.2.2/24" } })
local ok, e = pcall(a.capture, a, "eth0", { file = %q })
print(e.code, e.msg)
]], H.name "cpl", H.name "cpa", H.name "cpb", file)))
    assert.is_true(ok, out)
    assert.equal("ENOENT\tNo such file or directory: tcpdump is missing: install the Debian package tcpdump "
      .. "(make deps)\n", out)
    assert.is_nil(io.open(file))
  end)

  it("says which directory is missing for a capture file in none (ENOENT)", function()
    local lab <close>, a = two_hosts()
    local file = dir .. "/no/such/x.pcap"
    local e = raises("ENOENT", a.capture, a, "eth0", { file = file })
    assert.equal(string.format('node:capture "%s": No such file or directory: cannot make the capture file %s: '
      .. "directory %s/no/such does not exist (ENOENT)", file, file, dir), tostring(e))
    e = raises("EISDIR", a.capture, a, "eth0", { file = dir })
    assert.matches("cannot make the capture file " .. dir .. ": Is a directory", tostring(e), 1, true)
    assert.equal(0, tcpdumps())
    lab:close()
  end)

  it("refuses bad input with tcpdump's own message, leaving no file", function()
    local lab <close>, a = two_hosts()
    local file = dir .. "/bad.pcap"
    local e = raises("ENODEV", a.capture, a, "eth9", { file = file })
    assert.matches("tcpdump: eth9: No such device", tostring(e), 1, true)
    -- said once (tcpdump repeats it as "(No such device exists)")
    assert.is_nil(tostring(e):find("(No such device", 1, true))
    assert.equal("node:capture", e.op)
    e = raises("EINVAL", a.capture, a, "eth0", { file = file, filter = "icmp and" })
    assert.matches("can't parse filter expression", tostring(e), 1, true)
    assert.is_nil(io.open(file))
    raises("EINVAL", a.capture, a, "eth0", { file = file, count = 0 })
    raises("EINVAL", a.capture, a, "eth0", { file = file, snaplen = 0 })
    assert.has_error(function() a:capture(1) end, "bad argument #1 to 'node:capture' (string expected, got number)")
    assert.has_error(function() a:capture("eth0", { bogus = 1 }) end)
    assert.has_error(function() a:capture("eth0", { count = "3" }) end)
    assert.equal(0, tcpdumps())
    lab:close()
    raises("EINVAL", a.capture, a, "eth0", { file = file })
  end)
end)
