-- nslab.attach and the lab commands on it: reopening a kept or running
-- lab from another process (`require("nslab.lab").attach`, `nslab
-- --attach`), and looking at it (`nslab --inspect`, `nslab --graph`).
local H = require "helper"
local json = require "nslab.json"
local Lab = require "nslab.lab"

local raises = H.raises

-- Makes a lab in another nslab process, kept (`--keep`): host a with
-- hostname alpha and a command running, router r, bridge s, IPv4 and
-- IPv6. Returns the lab's name, a, r, s.
local function kept_lab()
  local name, a, r, s = H.name "atl", H.name "ata", H.name "atr", H.name "ats"
  local script = string.format([[
    local lab = require("nslab").lab(%q)
    local a, r, s = lab:host(%q, { hostname = "alpha" }), lab:router(%q), lab:bridge(%q)
    lab:link(a, s, { addrs = { { "10.60.0.1/24", "fd00:60::1/64" } } })
    lab:link(r, s, { addrs = { { "10.60.0.254/24", "fd00:60::fe/64" } } })
    a:spawn { "sleep", "60" }
  ]], name, a, r, s)
  local out, ok = H.nslab("--keep -e " .. H.q(script))
  assert(ok, out)
  assert.truthy(out:find("kept", 1, true))
  return name, a, r, s
end

describe("attach #root", function()
  H.guard()
  local rootless = H.run_nslab_unchanged()

  it("reopens a kept lab: nodes, kinds, hostnames, commands; close removes it all", function()
    if rootless() then return end
    local name, a, r, s = kept_lab()
    assert.equals(a .. "\n" .. r .. "\n" .. s .. "\n", (H.sh("ls /run/nslab/ns/" .. H.q(name)))) -- the pins
    local lab, sleeper = Lab.attach(name), nil
    local ok, err = pcall(function()
      assert.equals(3, #lab.nodes)
      assert.same({ "host", "router", "bridge" }, { lab.nodes[1].kind, lab.nodes[2].kind, lab.nodes[3].kind })
      assert.equals("br0", lab:node(s).bridge)
      assert.equals(2, #lab._links)
      assert.equals("alpha\n", lab:node(a):run({ "hostname" }).stdout)
      assert.equals(r .. "\n", lab:node(r):run({ "hostname" }).stdout)
      -- the lab's hosts file, and the network
      assert.truthy(lab:node(a):run({ "cat", "/etc/hosts" }).stdout:find("fd00:60::fe\t" .. r, 1, true))
      assert.is_true((lab:node(a):ping(r)))
      assert.is_true((lab:node(a):ping("fd00:60::fe")))
      assert.equals("fd00:60::1", lab:node(a):first_addr("inet6"))
      -- taken over: the record names this process
      assert.equals(H.pid(), require("nslab.record").load(name).pid)
      local st = lab:state()
      assert.equals("alive", st.status)
      assert.equals(1, #st.nodes[1].processes) -- the kept lab's command runs on
      sleeper = st.nodes[1].processes[1]
      assert.same(lab, Lab.attach(name)) -- open here: the same object
    end)
    lab:close()
    assert(ok, err)
    assert.equals("", H.sh("ip netns list | grep -e " .. H.q(a) .. " -e " .. H.q(r) .. " -e " .. H.q(s)))
    assert.is_nil(require("nslab.record").proc_start(sleeper))
  end)

  it("is a guest of a running lab: reads it, close leaves it to its owner", function()
    if rootless() then return end
    local name, a, r = H.name "atl", H.name "ata", H.name "atr"
    local flag = os.tmpname()
    os.remove(flag)
    local script = string.format([[
      local lab <close> = require("nslab").lab(%q)
      local a, r = lab:host(%q), lab:router(%q)
      lab:link(a, r, { addrs = { { "10.61.0.1/24" }, { "10.61.0.2/24" } } })
      io.stdout:write("ready\n") io.stdout:flush()
      while not io.open(%q) do require("nslab").core.sleep(0.02) end
    ]], name, a, r, flag)
    local owner = io.popen(H.bin .. " -e " .. H.q(script) .. " 2>&1", "r")
    local ok, err = pcall(function()
      assert.equals("ready", H.read_line(owner))
      local st = json.decode((H.nslab("--inspect " .. H.q(name) .. " --json")))
      assert.equals("alive", st.status)
      assert.equals(2, #st.nodes)
      local list = json.decode((H.nslab("--inspect --json")))
      local mine
      for _, l in ipairs(list) do
        if l.name == name then mine = l end
      end
      assert.same({ "alive", 2, 1 }, { mine.status, mine.nodes, mine.links })
      local lab = Lab.attach(name)
      assert.is_true(lab._guest)
      assert.is_true((lab:node(a):ping(r)))
      lab:close()
      assert.equals(0, select(3, H.sh("ip netns exec " .. H.q(a) .. " true")))
    end)
    local f = io.open(flag, "w")
    f:close()
    owner:read("a")
    owner:close()
    os.remove(flag)
    assert(ok, err)
  end)

  it("nslab --attach: a REPL with lab and the nodes; lab:close() removes it", function()
    if rootless() then return end
    local name, a = kept_lab()
    local input = H.tmpfile(string.format("print(lab.name, #lab.nodes)\n%s hostname\nlab:close()\n", a))
    local out, ok = H.sh(H.bin .. " --attach " .. H.q(name) .. " < " .. input)
    os.remove(input)
    assert.is_true(ok, out)
    assert.truthy(out:find("attached to lab " .. name, 1, true), out)
    assert.truthy(out:find(name .. "\t3", 1, true), out)
    assert.truthy(out:find("alpha", 1, true), out)
    assert.equals("", H.sh("ip netns list | grep -e " .. H.q(a)))
  end)

  it("nslab --attach: leaving without lab:close() keeps a kept lab", function()
    if rootless() then return end
    local name, _, r = kept_lab()
    local out, ok = H.sh("echo 'print(lab)' | " .. H.bin .. " --attach " .. H.q(name))
    assert.is_true(ok, out)
    local listed = H.nslab("--inspect")
    assert.truthy(listed:find(name, 1, true), listed)
    assert.truthy(listed:find("kept", 1, true), listed)
    -- --graph reads it; --clean removes it, pins too
    local mer = H.nslab("--graph " .. H.q(name) .. " --format mermaid")
    assert.truthy(mer:find('{"' .. r .. "<br/>10.60.0.254/24<br/>fd00:60::fe/64", 1, true), mer)
    out, ok = H.nslab("--clean " .. H.q(name))
    assert.is_true(ok, out)
  end)

  it("says a lab is kept on stderr, not in the script's output", function()
    if rootless() then return end
    local name = H.name "atl"
    local err = os.tmpname()
    local out = H.sh("(" .. H.bin .. " --keep -e " .. H.q(string.format(
      [[require("nslab").lab(%q):host(%q) print("data")]], name, H.name "ata")) .. " 2>" .. err .. ")")
    local text = H.read_all(err)
    os.remove(err)
    H.nslab("--clean " .. H.q(name))
    assert.equals("data\n", out)
    assert.truthy(text:find('nslab: lab "' .. name .. '" kept: 1 node(s) left running', 1, true), text)
  end)

  it("joins the PID namespace of a pid = true node (pinned like UTS)", function()
    if rootless() then return end
    local name, a = H.name "atl", H.name "ata"
    local out, ok = H.nslab("--keep -e " .. H.q(string.format(
      [[local lab = require("nslab").lab(%q) lab:host(%q, { pid = true }):spawn { "sleep", "60" }]], name, a)))
    assert(ok, out)
    assert.equals("pid\nuts\n", (H.sh("ls /run/nslab/ns/" .. H.q(name) .. "/" .. H.q(a))))
    local lab = Lab.attach(name)
    local r = lab:node(a):run { "sh", "-c", "echo $$; cat /proc/[0-9]*/comm" }
    lab:close()
    -- in the node's namespace: a small pid, the node's init and sleep seen
    local pid = tonumber(r.stdout:match("^(%d+)\n"))
    assert.is_true(pid ~= nil and pid < 100, r.stdout)
    assert.truthy(r.stdout:find("\nnslab-init\n", 1, true), r.stdout)
    assert.truthy(r.stdout:find("\nsleep\n", 1, true), r.stdout)
  end)

  it("reads a kept lab with --inspect NAME --json from another process", function()
    if rootless() then return end
    local name, a, _, s = kept_lab()
    local out, ok = H.nslab("--inspect " .. H.q(name) .. " --json")
    local st = ok and json.decode(out)
    H.nslab("--clean " .. H.q(name))
    assert.is_true(ok, out)
    assert.same({ "kept", 3, 2, 1 }, { st.status, #st.nodes, #st.links, #st.nodes[1].processes })
    assert.same({ a, "alpha", "host" }, { st.nodes[1].name, st.nodes[1].hostname, st.nodes[1].kind })
    assert.same({ a, "eth0", s, "eth0" }, { st.links[1].a.node, st.links[1].a.ifname, st.links[1].b.node,
      st.links[1].b.ifname })
  end)

  it("reads the record of an older nslab: kinds from the kernel, no links", function()
    if rootless() then return end
    local name, a = kept_lab()
    local path = "/run/nslab/" .. name .. ".rec"
    local kept = {}
    for l in io.lines(path) do
      if not (l:match("^node ") or l:match("^veth ") or l == "kept") then kept[#kept + 1] = l end
    end
    local f = assert(io.open(path, "w"))
    f:write(table.concat(kept, "\n"), "\n")
    f:close()
    local lab = Lab.attach(name)
    local kinds = { lab.nodes[1].kind, lab.nodes[2].kind, lab.nodes[3].kind, #lab._links, lab.nodes[1].hostname }
    lab:close()
    assert.same({ "host", "router", "bridge", 0, a }, kinds)
  end)

  it("refuses an unknown lab, a bad name, a bad option", function()
    local e = raises("ENOENT", Lab.attach, "nsl-no-such-lab")
    assert.truthy(tostring(e):find('no lab "nsl-no-such-lab" is recorded', 1, true))
    raises("EINVAL", Lab.attach, "a/b")
    assert.has_error(function() Lab.attach("x", { bogus = true }) end)
    -- one wording for every lab command (and --clean)
    local spec = H.tmpfile("return { nodes = {} }\n")
    for _, cmd in ipairs { "--inspect nsl-no-such-lab", "--graph nsl-no-such-lab", "--attach nsl-no-such-lab",
      "--export nsl-no-such-lab", "--apply nsl-no-such-lab " .. spec, "--events nsl-no-such-lab",
      "--capture nsl-no-such-lab a eth0", "--clean nsl-no-such-lab" } do
      local out, ok, code = H.nslab(cmd)
      assert.is_false(ok)
      assert.equals(1, code)
      assert.truthy(out:find('no lab "nsl-no-such-lab" is recorded in /run/nslab', 1, true), out)
      assert.equals(1, select(2, out:gsub("\n", ""))) -- one line
    end
    os.remove(spec)
    -- a bad --events group is the command's error, not a node's
    local out, ok = H.nslab("--events nsl-no-such-lab --groups link,bogus")
    assert.is_false(ok)
    assert.truthy(out:find('nslab --events "bogus": Invalid argument: unknown group "bogus"', 1, true), out)
    out, ok = H.nslab("--graph x --format png")
    assert.is_false(ok)
    assert.truthy(out:find("--format takes dot, mermaid or svg", 1, true), out)
    out, ok = H.nslab("--inspect --yaml")
    assert.is_false(ok)
    assert.truthy(out:find('unknown option "--yaml"', 1, true), out)
    out, ok = H.nslab("--graph")
    assert.is_false(ok)
    assert.truthy(out:find("which lab?", 1, true), out)
  end)
end)
