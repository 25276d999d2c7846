-- nslab --clean (nslab.clean): removes what dead labs left, identified by
-- identity, never by name alone; trusts no record others could write;
-- signals without a shell; one bad record does not stop the others
-- (issue 11, findings 4, 5, 6 and 10).
local H = require "helper"
local nslab = require "nslab"
local lab_mod = require "nslab.lab"
local record = require "nslab.record"

local q, tmpfile, raises = H.q, H.tmpfile, H.raises

local function gone(pid) return record.proc_start(pid) == nil end

local pid_in = H.pid_in

-- A child nslab builds lab lname with hosts, runs body (Lua), then dies
-- of SIGKILL, leaving everything as it was.
local function killed_lab(lname, hosts, body)
  local lines = { string.format("local lab <close> = require('nslab').lab(%q)", lname) }
  for _, h in ipairs(hosts) do lines[#lines + 1] = string.format("lab:host(%q)", h) end
  lines[#lines + 1] = body or ""
  lines[#lines + 1] = "os.execute('kill -9 ' .. require('nslab').core.getpid())"
  local script = tmpfile(table.concat(lines, "\n") .. "\n")
  local out = H.nslab(script)
  os.remove(script)
  for _, h in ipairs(hosts) do assert(nslab.netns.exists(h), out) end
  return out
end

local function record_file(lname)
  return (H.sh("(ls /run/nslab/" .. q(lname) .. ".* 2>/dev/null)"):gsub("%s+$", ""))
end

describe("nslab --clean #root", function()
  H.guard()

  it("removes the empty /run/netns file a lab killed mid netns.add left, and nothing like it", function()
    local lname, h, mid, other = H.name("lab"), H.name(), H.name(), H.name()
    killed_lab(lname, { h })
    -- SIGKILL between creating /run/netns/NAME and mounting the namespace
    -- on it: the record has the intent, no identity; the file is empty.
    local f = assert(io.open(record_file(lname), "a"))
    f:write("netns " .. mid .. "\n")
    f:close()
    for _, n in ipairs { mid, other } do assert(io.open("/run/netns/" .. n, "w")):close() end
    finally(function() os.remove("/run/netns/" .. other) os.remove("/run/netns/" .. mid) end)
    local out, ok = H.nslab("--clean " .. lname)
    assert.is_true(ok, out)
    assert.is_false(nslab.netns.exists(h), out)
    assert.is_false(nslab.netns.exists(mid), out)
    assert.is_true(nslab.netns.exists(other), "--clean removed a file no record named: " .. out)
    assert.equals("", record_file(lname))
  end)

  it("leaves a placeholder alone unless it is an empty file with no namespace", function()
    local n = H.name()
    local f = assert(io.open("/run/netns/" .. n, "w"))
    f:write("x")
    f:close()
    local ns = H.name()
    finally(function()
      os.remove("/run/netns/" .. n)
      pcall(nslab.netns.del, ns)
    end)
    assert.is_false(nslab.netns.del_placeholder(n))
    assert.is_true(nslab.netns.exists(n))
    nslab.netns.add(ns)
    assert.is_false(nslab.netns.del_placeholder(ns))
    assert.is_truthy(nslab.netns.id(ns))
  end)

  it("leaves alone a netns re-created under a dead lab's name, and what runs in it", function()
    local lname, h = H.name("lab"), H.name()
    killed_lab(lname, { h })
    H.sh("ip netns del " .. h .. " && ip netns add " .. h)
    local pidfile = os.tmpname()
    H.sh(string.format("ip netns exec %s setsid -f sh -c 'echo $$ > %s; exec sleep 300' </dev/null >/dev/null 2>&1",
      h, pidfile))
    local pid = pid_in(pidfile)
    finally(function()
      os.execute("kill -9 " .. pid)
      H.sh("ip netns del " .. h)
      os.remove(pidfile)
    end)
    local out, ok = H.nslab("--clean " .. lname)
    assert.is_true(ok, out)
    assert.matches(string.format("netns %q was re-created since lab %q made it: left alone", h, lname), out, 1, true)
    assert.is_true(nslab.netns.exists(h), out)
    assert.is_false(gone(pid), "--clean killed a process of a netns it did not make: " .. out)
    assert.equals("", record_file(lname))
  end)

  it("kills a dead lab's command's whole process group, members outside the lab's netns too", function()
    local lname, h = H.name("lab"), H.name()
    local pidfile = os.tmpname()
    finally(function() os.remove(pidfile) end)
    -- the sleep is in the spawned command's group but back in the
    -- sandbox's netns: only the group kill reaches it
    killed_lab(lname, { h }, string.format([[
lab.nodes[1]:spawn("nsenter -t 1 -n sleep 300 & echo $! > %s; wait")
local f repeat require('nslab').core.sleep(0.02) f = io.open(%q) until f and f:read("n")
]], pidfile, pidfile))
    local pid = pid_in(pidfile)
    finally(function() os.execute("kill -9 " .. pid .. " 2>/dev/null") end)
    assert.is_false(gone(pid))
    local out, ok = H.nslab("--clean " .. lname)
    assert.is_true(ok, out)
    assert.is_true(H.wait_for(function() return gone(pid) end, 5), "group member survived --clean: " .. out)
    assert.is_false(nslab.netns.exists(h))
    assert.matches("killed [1-9]%d* process", out)
  end)

  it("refuses a record group or others may write, or another uid owns, and says which", function()
    local lname, h = H.name("lab"), H.name()
    killed_lab(lname, { h })
    local path = record_file(lname)
    finally(function() H.sh("chmod 0600 " .. path .. "; " .. H.bin .. " --clean " .. lname) end)
    -- rootless, only one uid is mapped: no other owner to give it
    for _, how in ipairs(H.rootless() and { "chmod 0666" } or { "chmod 0666", "chown 65534" }) do
      assert(select(2, H.sh(how .. " " .. path)))
      local out, ok = H.nslab("--clean " .. lname)
      assert.is_false(ok, out)
      assert.matches("not trusted", out, 1, true)
      assert.matches(lname, out, 1, true)
      assert.is_true(nslab.netns.exists(h), how .. ": " .. out)
      assert(select(2, H.sh("chmod 0600 " .. path .. " && chown 0 " .. path)))
    end
    local out, ok = H.nslab("--clean " .. lname)
    assert.is_true(ok, out)
    assert.is_false(nslab.netns.exists(h))
  end)

  it("never signals pid 1 when a record names it", function()
    local lname, h = H.name("lab"), H.name()
    killed_lab(lname, { h })
    local f = assert(io.open(record.path_of(lname), "a"))
    f:write(string.format("proc 1 %d\n", record.proc_start(1)))
    f:close()
    local out, ok = H.nslab("--clean " .. lname)
    assert.is_true(ok, out)
    assert.matches("names pid 1: never signalled", out, 1, true)
    assert.is_false(nslab.netns.exists(h))
  end)

  it("reports a malformed, looping, FIFO or old-format record by name and cleans the other labs", function()
    local good, h = H.name("lab"), H.name()
    killed_lab(good, { h })
    local bad = {
      [H.name("bad")] = "nslab-record 1\nlab %s\nowner 4194000 1 1\nproc abc 12\n",
      [H.name("loop")] = "while true do end\n",
    }
    local fifo, old = H.name("fifo"), H.name("old")
    finally(function()
      for n in pairs(bad) do os.remove(record.path_of(n)) end
      os.remove(record.path_of(fifo))
      os.remove(record.dir .. "/" .. old .. ".lua")
    end)
    for n, text in pairs(bad) do
      local f = assert(nslab.core.record.open(record.path_of(n), "w"))
      f:write(text:format(n))
      f:close()
    end
    assert(select(2, H.sh("mkfifo -m 0600 " .. record.path_of(fifo))))
    assert(io.open(record.dir .. "/" .. old .. ".lua", "w")):close()
    local out, ok, code = H.nslab("--clean")
    assert.is_false(ok, out)
    assert.equals(1, code)
    assert.is_false(nslab.netns.exists(h), out)
    assert.equals("", record_file(good))
    for n in pairs(bad) do
      assert.matches(string.format("the record of lab %q cannot be used", n), out, 1, true)
    end
    assert.matches("line 4", out, 1, true)
    assert.matches(string.format("the record of lab %q cannot be used", fifo), out, 1, true)
    assert.matches(old .. ".lua is a record of an older nslab, not read", out, 1, true)
    assert.not_matches("stack traceback", out, 1, true)
  end)

  it("refuses a record over its size limit (EBADMSG) and keeps it", function()
    local lname = H.name("lab")
    local path = record.path_of(lname)
    finally(function() os.remove(path) end)
    local f = assert(nslab.core.record.open(path, "w"))
    f:write(string.format("nslab-record 1\nlab %s\nowner 4194000 1 1\n", lname), ("netns x\n"):rep(10))
    f:close()
    local max = record.max_size
    record.max_size = 64
    local ok, e = pcall(lab_mod.clean, lname)
    record.max_size = max
    assert.is_false(ok)
    assert.equals("EBADMSG", e.code)
    assert.matches("larger than nslab reads", tostring(e), 1, true)
    local fh = io.open(path) -- left for the user to inspect
    assert.is_truthy(fh)
    fh:close()
    raises("EINVAL", lab_mod.clean, "a\nb")
  end)
end)
