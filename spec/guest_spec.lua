-- nslab.guest: a lab changed from another shell while its owner runs
-- (`nslab --attach`): what a guest adds is recorded in the lab's record,
-- so the owner's close and `nslab --clean` remove it; what the owner
-- made cannot be removed by a guest (EBUSY), the lab left as it was.
local H = require "helper"
local Lab = require "nslab.lab"
local record = require "nslab.record"

local raises = H.raises

local function exists(ns) return select(3, H.sh("ip netns exec " .. H.q(ns) .. " true")) == 0 end

-- An owner in another nslab process: lab name with host a and router r
-- linked, running until the flag file appears. Returns its pipe, its pid
-- and a function that lets it close its lab and end.
local function owner_lab(name, a, r)
  local flag = os.tmpname()
  os.remove(flag)
  local script = string.format([[
    local nslab = require("nslab")
    local lab <close> = nslab.lab(%q)
    local a, r = lab:host(%q), lab:router(%q)
    lab:link(a, r, { addrs = { { "10.62.0.1/24" }, { "10.62.0.2/24" } } })
    io.stdout:write("ready ", nslab.core.getpid(), "\n") io.stdout:flush()
    while not io.open(%q) do nslab.core.sleep(0.02) end
  ]], name, a, r, flag)
  local pipe = io.popen(H.bin .. " -e " .. H.q(script) .. " 2>&1", "r")
  local line = H.read_line(pipe) or ""
  local pid = tonumber(line:match("^ready (%d+)"))
  local function finish()
    local f = io.open(flag, "w")
    f:close()
    local out = pipe:read("a")
    local ok = pipe:close()
    os.remove(flag)
    return out, ok
  end
  if not pid then finish() end -- (its flag too: nothing waits for it)
  assert(pid, "owner did not start: " .. line)
  return pipe, pid, finish
end

-- Runs fn(n, pid) while an owner (owner_lab) holds lab n.lab with nodes
-- n.a, n.r (n.g: a free node name); then lets the owner close and end.
-- Returns the owner's output, whether it ended well, and n.
local function with_owner(fn)
  local n = { lab = H.name "gul", a = H.name "gua", r = H.name "gur", g = H.name "gug" }
  local _, pid, finish = owner_lab(n.lab, n.a, n.r)
  local ok, err = pcall(fn, n, pid)
  local out, closed = finish()
  assert(ok, err)
  return out, closed, n
end

describe("guest #root", function()
  H.guard()
  local rootless = H.run_nslab_unchanged()

  it("adds a node and a link, recorded: they stay after the guest, the owner's close removes them", function()
    if rootless() then return end
    local out, closed, n = with_owner(function(n, pid)
      local name, a, g = n.lab, n.a, n.g
      local lab = Lab.attach(name)
      assert.is_true(lab._guest)
      local added = lab:host(g, { hostname = "gamma" })
      lab:link(added, a, { addrs = { { "10.63.0.2/24" }, { "10.63.0.1/24" } } })
      added:spawn { "sleep", "60" }
      assert.is_true((added:ping("10.63.0.1")))
      lab:close()
      -- the guest is gone, what it added stays, recorded under the owner
      assert.is_true(exists(g))
      local rec = record.load(name)
      assert.equals(pid, rec.pid)
      assert.truthy(H.sh("cat /run/nslab/" .. H.q(name) .. ".rec"):find("\nnode " .. g .. " host gamma\n", 1, true))
      assert.truthy(H.sh("ls /run/nslab/ns/" .. H.q(name)):find(g, 1, true)) -- its pins
      -- a guest reopening it sees the node and the link
      local again = Lab.attach(name, { guest = true })
      assert.equals(3, #again.nodes)
      assert.equals(2, #again._links)
      again:close()
    end)
    assert.is_true(closed, out)
    assert.is_false(exists(n.g))
    assert.is_false(exists(n.a))
    assert.is_nil(record.load(n.lab))
  end)

  it("adds a node recorded: nslab --clean removes it once the owner is gone", function()
    if rootless() then return end
    local _, _, n = with_owner(function(n, pid)
      local name = n.lab
      local lab = Lab.attach(name)
      lab:link(lab:router(n.g), n.r)
      lab:close()
      H.sh("kill -KILL " .. pid)
      assert.is_true(H.wait_for(function() return not record.alive(pid, record.load(name).start) end, 5))
      -- the owner died: a guest is told to take it over or clean it
      lab = Lab.attach(name, { guest = true })
      local e = raises("EBUSY", lab.host, lab, H.name "gux")
      lab:close()
      assert.truthy(tostring(e):find("lost its owner (pid " .. pid .. " is gone)", 1, true), tostring(e))
      local out, cleaned = H.nslab("--clean " .. H.q(name))
      assert.is_true(cleaned, out)
    end)
    assert.is_false(exists(n.g))
    assert.is_false(exists(n.a))
    assert.is_nil(record.load(n.lab))
  end)

  it("refuses to remove what the owner made (EBUSY, lab unchanged); removes what it added", function()
    if rootless() then return end
    local out, closed, n = with_owner(function(n, pid)
      local name, a, r, g = n.lab, n.a, n.r, n.g
      local text = H.sh("cat /run/nslab/" .. H.q(name) .. ".rec")
      local lab = Lab.attach(name)
      local e = raises("EBUSY", lab.remove, lab, a)
      assert.truthy(tostring(e):find('lab:remove "' .. a .. '"', 1, true), tostring(e))
      assert.truthy(tostring(e):find('lab "' .. name .. '" is owned by pid ' .. pid, 1, true), tostring(e))
      assert.truthy(tostring(e):find("removes only what it added", 1, true))
      e = raises("EBUSY", lab.unlink, lab, a, r)
      assert.truthy(tostring(e):find("is owned by pid " .. pid, 1, true), tostring(e))
      e = raises("EBUSY", lab.apply, lab, { nodes = { { name = r, kind = "router" } } })
      assert.truthy(tostring(e):find("is owned by pid " .. pid, 1, true), tostring(e))
      -- unchanged: both nodes, their link, the record
      assert.is_true(exists(a))
      assert.is_true((lab:node(a):ping(r)))
      assert.equals(text, (H.sh("cat /run/nslab/" .. H.q(name) .. ".rec")))
      -- what the guest added, it may remove
      lab:host(g)
      lab:remove(g)
      assert.is_false(exists(g))
      lab:close()
    end)
    assert.is_true(closed, out)
    assert.is_false(exists(n.a))
  end)
end)
