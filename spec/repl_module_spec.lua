-- nslab.repl, the REPL's lab policy, without a terminal, root or a
-- namespace: its pure parts, and line/globals/help/complete on stand-in
-- labs whose nodes run in nslab's own namespace (netns = nil).
local repl = require "nslab.repl"

-- A stand-in lab with nodes named names (addresses 10.9.0.1, ...).
local function fake_lab(name, names)
  local lab = { name = name, nodes = {}, _by = {}, spawned = {} }
  function lab:node(n) return self._by[n] end
  for i, n in ipairs(names) do
    local node = { name = n, netns = nil, lab = lab }
    local addr = i <= 9 and string.format("10.9.0.%d", i) or nil
    function node.first_addr() return addr end
    function node.spawn(self, argv, opts)
      lab.spawned[#lab.spawned + 1] = { node = self, argv = argv, opts = opts }
      return { pid = 4242 }
    end
    lab.nodes[i], lab._by[n] = node, node
  end
  return lab
end

-- Runs fn with io.stdout and io.stderr collected; returns what each got.
local function collect(fn)
  local got = { stdout = {}, stderr = {} }
  local saved = { stdout = io.stdout, stderr = io.stderr }
  local function sink(t)
    return { write = function(self, ...)
      for _, s in ipairs { ... } do t[#t + 1] = tostring(s) end
      return self
    end, flush = function(self) return self end }
  end
  -- luacheck: push ignore 122 (the module writes to io.stdout/io.stderr)
  io.stdout, io.stderr = sink(got.stdout), sink(got.stderr)
  local ok, e = pcall(fn)
  io.stdout, io.stderr = saved.stdout, saved.stderr
  -- luacheck: pop
  assert(ok, e)
  return table.concat(got.stdout), table.concat(got.stderr)
end

describe("nslab.repl", function()
  describe("split", function()
    it("gives the first word and the rest after the blanks", function()
      assert.same({ "red", "ping -c1 blue" }, { repl.split("red ping -c1 blue") })
      assert.same({ "red", "ip -br addr " }, { repl.split("  red \t ip -br addr ") })
      assert.same({ "red", "/bin/hostname" }, { repl.split("red /bin/hostname") })
      assert.same({ "red", "== 3" }, { repl.split("red == 3") })
    end)

    it("refuses Lua on a node (no blank) and assignments", function()
      for _, line in ipairs { "red:ping(blue)", "red.netns", "red", "red ", "", "   ",
        "red = 1", "red =x y", "red = function()", "red =" } do
        assert.is_nil(repl.split(line), line)
      end
    end)
  end)

  describe("substitute", function()
    it("replaces whole words that name nodes, keeping the blanks", function()
      local addrs = { blue = "10.0.0.2", red = "10.0.0.1" }
      assert.equal("ping -c1  10.0.0.2", repl.substitute("ping -c1  blue", addrs))
      assert.equal("echo blue; 10.0.0.1\tx", repl.substitute("echo blue; red\tx", addrs))
      assert.equal("a b", repl.substitute("a b", function() return nil end))
    end)
  end)

  describe("background", function()
    it("recognises a lone trailing '&' and strips it with its blanks", function()
      assert.same({ "iperf3 -s", true }, { repl.background("iperf3 -s &") })
      assert.same({ "sleep 1", true }, { repl.background("sleep 1&  \t") })
    end)

    it("leaves '&&', a lone '&' and '&' inside alone", function()
      for _, cmd in ipairs { "true &&", "&", "a & b", "ping x" } do
        assert.same({ cmd, false }, { repl.background(cmd) }, cmd)
      end
    end)
  end)

  describe("summary", function()
    it("says how a failing command ended, nothing for success", function()
      assert.equal("[exit 3]", repl.summary { status = 3 })
      assert.equal("[killed by SIGINT]", repl.summary { signal = "SIGINT" })
      assert.is_nil(repl.summary { status = 0, ok = true })
    end)
  end)

  describe("is_name", function()
    it("accepts Lua names only", function()
      assert.is_true(repl.is_name("red_1"))
      for _, s in ipairs { "r-1", "1r", "", "end", "r.1" } do assert.is_false(repl.is_name(s), s) end
    end)
  end)

  describe("help", function()
    it("lists open labs and their nodes, or says none is open", function()
      local labs = { fake_lab("l1", { "red", "blue" }), fake_lab("l2", {}) }
      assert.equal("Open labs:\n  l1: red blue\n  l2:\n" .. require("nslab.repl_verbs").help(), repl.help(labs))
      assert.equal('No lab is open: nslab.lab("name") makes one.\n', repl.help({}))
    end)
  end)

  describe("complete", function()
    local labs = { fake_lab("l1", { "red", "rose" }), fake_lab("l2", { "blue" }) }

    it("offers only node names in a node command's arguments", function()
      assert.same({ { "red", "rose" }, true }, { repl.complete("blue ping ", "r", labs) })
      assert.same({ { "red", "rose", "blue" }, true }, { repl.complete(" red x ", "", labs) })
    end)

    it("adds node names on the first word, none elsewhere", function()
      assert.same({ { "rose" }, false }, { repl.complete("  ", "ro", labs) })
      assert.same({ {}, false }, { repl.complete("print(", "r", labs) })
      assert.same({ {}, false }, { repl.complete("nothing ", "r", labs) })
    end)
  end)

  describe("globals", function()
    it("makes nodes with Lua names globals, leaving existing globals alone", function()
      local a, b = "zrepl_a_" .. math.random(1e6), "zrepl_b_" .. math.random(1e6)
      local labs = { fake_lab("l1", { a, b, "z-dash", "1z" }), fake_lab("l2", { a }) }
      _G[b] = "mine"
      finally(function() _G[a], _G[b] = nil, nil end)
      repl.globals(labs)
      assert.equal(labs[1]._by[a], _G[a])
      assert.equal("mine", _G[b])
      assert.is_nil(rawget(_G, "z-dash"))
      assert.is_nil(rawget(_G, "1z"))
    end)
  end)

  describe("line", function()
    local labs = { fake_lab("l1", { "n1", "n2" }) }

    it("leaves Lua and lines naming no node to the REPL", function()
      for _, line in ipairs { "n1 = 3", "n1:ping(n2)", "nosuch = 1", "print 'x'", "n1" } do
        assert.is_false(repl.line(line, labs), line)
      end
      assert.is_false(repl.line("n1 echo x", {}))
      assert.is_false(repl.line("nosuch echo x", {}))
    end)

    it("names the nodes when the first word looks like a mistyped node name", function()
      local _, err = collect(function() assert.is_true(repl.line("n3 ping -c1 n2", labs)) end)
      assert.equal('no node "n3" in lab l1 (nodes: n1 n2), and the line is not Lua\n', err)
    end)

    it("runs a node command with node names as addresses, saying how it failed", function()
      local out, err, _
      out, err = collect(function()
        assert.is_true(repl.line("n1 test n2 = 10.9.0.2 && test x = x", labs))
      end)
      assert.equal("", out .. err)
      _, err = collect(function() assert.is_true(repl.line("n2 exit 3", labs)) end)
      assert.equal("[exit 3]\n", err)
      _, err = collect(function() assert.is_true(repl.line("n2 kill -TERM $$", labs)) end)
      assert.equal("[killed by SIGTERM]\n", err)
    end)

    it("starts a command ending in '&' as node:spawn", function()
      local out = collect(function() assert.is_true(repl.line("n2 sleep 100 n1 &", labs)) end)
      assert.equal("[4242] started in n2; its output shows when it ends; its lab stops it when it closes\n", out)
      local s = labs[1].spawned[1]
      assert.equal("n2", s.node.name)
      assert.same({ "/bin/sh", "-c", "sleep 100 10.9.0.1" }, s.argv)
      assert.is_nil(s.opts) -- output kept (memfd), shown before a prompt once it ends
    end)

    it("lets a start failure through: the line was a node command", function()
      local bad = fake_lab("l3", { "n3" })
      bad.nodes[1].spawn = function() error("cannot start", 0) end
      assert.has_error(function() repl.line("n3 x &", { bad }) end, "cannot start")
    end)
  end)
end)
