-- nslab.record and the primitives it stands on: a lab's record is data
-- nobody else can write, names are identified by their nsfs identity,
-- and lab and node names cannot hide control characters (issue 11).
local H = require "helper"
local nslab = require "nslab"
local record = require "nslab.record"

local raises, q = H.raises, H.q

local function mode_of(path) return (H.sh("stat -c %a " .. path):gsub("%s+$", "")) end
-- The identity of /run/netns/NAME seen by stat(1), independent of nslab.
local function ino_of(name) return (H.sh("stat -L -c '%d %i' /run/netns/" .. q(name)):gsub("%s+$", "")) end

describe("nslab.record parse", function()
  it("reads escaped names, identities, drops and processes, as data only", function()
    local text = "nslab-record 1\nlab my%20lab\nowner 5 7 1\nnetns a%25b\nnetns-id a%25b 3 4026532001\n"
      .. "netns c d\n"
    assert.is_nil(record.parse(text, "x")) -- an unescaped space is a field too many
    text = "nslab-record 1\nlab my%20lab\nowner 5 7 1\nnetns a%25b\nnetns-id a%25b 3 4026532001\nproc 9 11\n"
    local rec = assert(record.parse(text, "x"))
    assert.equals("my lab", rec.lab)
    assert.same({ pid = 5, start = 7 }, { pid = rec.pid, start = rec.start })
    local c = record.contents(rec)
    assert.same({ "a%b" }, c.netns)
    assert.same({ dev = 3, ino = 4026532001 }, c.ids["a%b"])
  end)

  it("refuses Lua code, a string pid and unknown items, naming the line", function()
    for _, text in ipairs {
      "return {lab = 'x', pid = 1, start = 1, items = {}}\n",
      "nslab-record 1\nlab x\nowner 5 7 1\nwhile true do end\n",
      "nslab-record 1\nlab x\nowner 5 7 1\nproc abc 12\n",
      "nslab-record 1\nlab x\nowner 5 7 1\nproc 12\n",
      "nslab-record 1\nlab x\nowner 5 7 1\nnetns a%zz\n",
      "nslab-record 1\nlab x\n",
    } do
      local rec, err = record.parse(text, "/run/nslab/x.rec")
      assert.is_nil(rec, text)
      assert.matches("/run/nslab/x.rec", err, 1, true)
    end
    local _, err = record.parse("nslab-record 1\nlab x\nowner 5 7 1\nproc abc 12\n", "r")
    assert.matches("line 4", err, 1, true)
  end)
end)

describe("lab and node names", function()
  it("refuse NUL and control characters (EINVAL), before anything is made", function()
    for _, bad in ipairs { "x\0y", "a\nb", "tab\there", "del\127", "\27[31mred" } do
      local e = raises("EINVAL", nslab.lab, bad)
      assert.matches("control characters", tostring(e), 1, true)
    end
  end)
end)

describe("nslab.record #root", function()
  H.guard()

  it("opens the record close-on-exec: commands a lab runs inherit no fd on it", function()
    local lab <close> = nslab.lab(H.name("lab"))
    local a = lab:host(H.name())
    local out = a:run("ls -l /proc/self/fd/").stdout
    assert.not_matches("/run/nslab", out, 1, true)
    local f = assert(io.popen("ls -l /proc/self/fd/"))
    out = f:read("a")
    f:close()
    assert.not_matches("/run/nslab", out, 1, true)
  end)

  it("writes records 0600 in a /run/nslab writable by nobody else, tightening a loose one", function()
    assert(select(2, H.sh("mkdir -p /run/nslab && chmod 0777 /run/nslab")))
    local lab <close> = nslab.lab(H.name("lab"))
    assert.equals("600", mode_of("/run/nslab/" .. q(lab.name) .. ".*")) -- any format
    assert.equals("755", mode_of(record.dir))
  end)

  it("makes /run/nslab itself when missing (no shell)", function()
    local saved = "/run/nslab-saved-" .. H.name()
    assert(os.rename(record.dir, saved))
    finally(function()
      os.execute("rm -rf " .. q(record.dir))
      assert(os.rename(saved, record.dir))
    end)
    local lab <close> = nslab.lab(H.name("lab"))
    assert.equals("755", mode_of(record.dir))
    assert.equals("600", mode_of(record.path_of(lab.name)))
    assert.equals("0", (H.sh("stat -c %u " .. record.dir):gsub("%s+$", "")))
  end)

  it("refuses a node name with NUL or a newline (EINVAL), making nothing", function()
    local lab <close> = nslab.lab(H.name("lab"))
    for _, bad in ipairs { "h\0x", "h\nx", "h\rx" } do
      local e = raises("EINVAL", lab.host, lab, bad)
      assert.equals("lab:host", e.op)
    end
    assert.is_false(nslab.netns.exists("h"))
    assert.equals(0, #lab.nodes)
  end)

  it("says a lab of that name already runs in this process", function()
    local lab <close> = nslab.lab(H.name("lab"))
    local a = lab:host(H.name())
    local e = raises("EEXIST", nslab.lab, lab.name)
    assert.matches("already running in this process", tostring(e), 1, true)
    local other <close> = nslab.lab(H.name("lab"))
    e = raises("EEXIST", other.host, other, a.name)
    assert.matches("running in this process", tostring(e), 1, true)
  end)
end)

describe("rootless mode #root", function()
  it("says nothing can be kept (--keep, lab:keep()) instead of printing 'kept'", function()
    local lname = H.name("lab")
    local script = H.tmpfile(string.format("local lab <close> = require('nslab').lab(%q)\nlab:host('kh')\nlab:keep()\n",
      lname))
    finally(function() os.remove(script) end)
    local out, ok = H.nslab("--rootless --keep " .. script)
    assert.is_true(ok, out)
    assert.matches("--keep: nothing can be kept in rootless mode", out, 1, true)
    assert.matches(string.format("lab %q cannot be kept in rootless mode", lname), out, 1, true)
    assert.not_matches("kept:", out, 1, true)
    assert.not_matches("nslab --clean", out, 1, true)
  end)
end)

describe("netns identity #root", function()
  H.guard()

  it("netns.id is the nsfs inode processes inside see; nothing for a missing name", function()
    local name = H.name()
    local dev, ino = nslab.netns.add(name)
    finally(function() pcall(nslab.netns.del, name) end)
    local d2, i2 = nslab.netns.id(name)
    assert.equals(dev, d2)
    assert.equals(ino, i2)
    -- an independent view: the net namespace of a process run inside it
    local out = H.sh("ip netns exec " .. q(name) .. " stat -L -c '%d %i' /proc/self/ns/net")
    assert.equals(string.format("%d %d", dev, ino), (out:gsub("%s+$", "")))
    assert.is_nil(nslab.netns.id(H.name()))
  end)

  it("netns.id refuses a symlink in /run/netns", function()
    local name = H.name()
    assert(select(2, H.sh("ln -s /proc/1/ns/net /run/netns/" .. name)))
    finally(function() os.remove("/run/netns/" .. name) end)
    local e = raises("EINVAL", nslab.netns.id, name)
    assert.matches("symlink", tostring(e), 1, true)
  end)

  it("netns.add calls on_create with the identity before the name exists", function()
    local name = H.name()
    local seen
    local dev, ino = nslab.netns.add(name, { on_create = function(d, i)
      -- the name is claimed (an empty file), but no namespace is bound on it yet
      seen = { d, i, pcall(nslab.netns.id, name) }
    end })
    finally(function() pcall(nslab.netns.del, name) end)
    assert.same({ dev, ino, false }, { seen[1], seen[2], seen[3] })
    assert.same({ dev, ino }, { nslab.netns.id(name) })
  end)

  it("netns.add whose on_create raises makes nothing and raises that error", function()
    local name = H.name()
    local ok, e = pcall(nslab.netns.add, name, { on_create = function() error("record full", 0) end })
    assert.is_false(ok)
    assert.equals("record full", e)
    assert.is_false(nslab.netns.exists(name))
    assert.has_error(function() nslab.netns.add(name, { on_create = 1 }) end)
    assert.has_error(function() nslab.netns.add(name, { oncreate = print }) end)
  end)

  it("netns.del with an identity deletes only that namespace (ESTALE otherwise)", function()
    local name = H.name()
    local dev, ino = nslab.netns.add(name)
    nslab.netns.del(name)
    assert(select(2, H.sh("ip netns add " .. name)))
    finally(function() H.sh("ip netns del " .. name) end)
    local e = raises("ESTALE", nslab.netns.del, name, { dev = dev, ino = ino })
    assert.matches("left alone", tostring(e), 1, true)
    assert.is_true(nslab.netns.exists(name))
    local d2, i2 = nslab.netns.id(name)
    nslab.netns.del(name, { dev = d2, ino = i2 })
    assert.is_false(nslab.netns.exists(name))
  end)

  it("a lab does not remove a netns of its name made again by another lab (close and __gc)", function()
    for _, how in ipairs { "close", "gc" } do
      local name = H.name()
      local lab1 = nslab.lab(H.name("lab"))
      lab1:host(name)
      pcall(lab1.link, lab1, name, "nonode") -- a failed link; lab1 left unclosed
      H.sh("ip netns del " .. name)
      local lab2 <close> = nslab.lab(H.name("lab"))
      lab2:host(name)
      local id = ino_of(name)
      if how == "close" then
        lab1:close()
      else
        lab1 = nil -- luacheck: ignore 311
        collectgarbage()
        collectgarbage()
      end
      assert.is_true(nslab.netns.exists(name), how)
      assert.equals(id, ino_of(name))
      lab2:close()
      assert.is_false(nslab.netns.exists(name))
    end
  end)

  it("a lab's owned_netns leaves out a name that now holds another namespace", function()
    local lab <close> = nslab.lab(H.name("lab"))
    local a, b = lab:host(H.name()), lab:host(H.name())
    assert.same({ a.name, b.name }, lab._rec:owned_netns { a.name, b.name })
    H.sh("ip netns del " .. a.name .. " && ip netns add " .. a.name)
    finally(function() H.sh("ip netns del " .. a.name) end)
    assert.same({ b.name }, lab._rec:owned_netns { a.name, b.name })
  end)
end)

describe("core.record #root", function()
  it("kill_group never signals pid 1, 0, -1, nslab or its own group", function()
    local kg = nslab.core.record.kill_group
    local start1 = record.proc_start(1)
    for _, pid in ipairs { 1, 0, -1, nslab.core.getpid() } do
      raises("EPERM", kg, pid, start1 or 0)
    end
    assert.equals(0, kg(4194000, 1)) -- no such process
  end)

  it("kill_group signals a group only while its leader is the recorded process", function()
    local p = nslab.spawn(nil, { "sh", "-c", "sleep 300 & wait" })
    local start = record.proc_start(p.pid)
    assert.equals(0, nslab.core.record.kill_group(p.pid, start + 1))
    assert.is_true(p:running())
    assert.equals(1, nslab.core.record.kill_group(p.pid, start))
    p:wait()
    assert.is_false(p:running())
  end)

  it("read refuses a FIFO at once and a file over its limit", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(select(2, H.sh("mkdir " .. dir .. " && mkfifo " .. dir .. "/f && head -c 100 /dev/zero > " .. dir .. "/z")))
    finally(function() H.sh("rm -rf " .. dir) end)
    local t, err, errno = nslab.core.record.read(dir .. "/f", 10)
    assert.is_nil(t)
    assert.equals(22, errno, err)
    t, err, errno = nslab.core.record.read(dir .. "/z", 99)
    assert.is_nil(t)
    assert.equals(27, errno, err)
    assert.equals(100, #nslab.core.record.read(dir .. "/z", 100))
  end)
end)
