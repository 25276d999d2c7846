-- nslab.guest: a lab changed from another shell while its owner runs
-- (`nslab --attach`): what a guest adds is recorded in the lab's record,
-- so the owner's close and `nslab --clean` remove it; what the owner
-- made cannot be removed by a guest (EBUSY), the lab left as it was.
local H = require "helper"
local Lab = require "nslab.lab"
local record = require "nslab.record"

local raises = H.raises

-- Entries of /run/nslab, and mounts under it.
local function run_nslab()
  local out = H.sh("ls -A /run/nslab 2>/dev/null")
  local mounts = 0
  for l in io.lines("/proc/self/mountinfo") do
    if l:find(" /run/nslab/", 1, true) then mounts = mounts + 1 end
  end
  return out, mounts
end

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
  local line = pipe:read("l") or ""
  local pid = tonumber(line:match("^ready (%d+)"))
  local function finish()
    local f = io.open(flag, "w")
    f:close()
    local out = pipe:read("a")
    local ok = pipe:close()
    os.remove(flag)
    return out, ok
  end
  assert(pid, "owner did not start: " .. line)
  return pipe, pid, finish
end

describe("guest #root", function()
  H.guard()
  local before_ls, before_mounts
  local function rootless()
    if H.rootless() then
      pending("rootless: labs live in nslab's own namespaces; nothing can attach to them")
      return true
    end
  end
  before_each(function() before_ls, before_mounts = run_nslab() end)
  after_each(function()
    local ls, mounts = run_nslab()
    assert.equals(before_ls, ls)
    assert.equals(before_mounts, mounts)
  end)

  it("adds a node and a link, recorded: they stay after the guest, the owner's close removes them", function()
    if rootless() then return end
    local name, a, r, g = H.name "gul", H.name "gua", H.name "gur", H.name "gug"
    local _, pid, finish = owner_lab(name, a, r)
    local ok, err = pcall(function()
      local lab = Lab.attach(name)
      assert.is_true(lab._guest)
      local n = lab:host(g, { hostname = "gamma" })
      lab:link(n, a, { addrs = { { "10.63.0.2/24" }, { "10.63.0.1/24" } } })
      n:spawn { "sleep", "60" }
      assert.is_true((n:ping("10.63.0.1")))
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
    local out, closed = finish()
    assert(ok, err)
    assert.is_true(closed, out)
    assert.is_false(exists(g))
    assert.is_false(exists(a))
    assert.is_nil(record.load(name))
  end)

  it("adds a node recorded: nslab --clean removes it once the owner is gone", function()
    if rootless() then return end
    local name, a, r, g = H.name "gul", H.name "gua", H.name "gur", H.name "gug"
    local _, pid, finish = owner_lab(name, a, r)
    local ok, err = pcall(function()
      local lab = Lab.attach(name)
      lab:link(lab:router(g), r)
      lab:close()
      H.sh("kill -KILL " .. pid)
      assert.is_true(H.wait_for(function() return not record.alive(pid, record.load(name).start) end, 5))
      -- the owner died: a guest is told to take it over or clean it
      local e = raises("EBUSY", function() lab = Lab.attach(name, { guest = true }) lab:host(H.name "gux") end)
      assert.truthy(tostring(e):find("lost its owner (pid " .. pid .. " is gone)", 1, true), tostring(e))
      local out, cleaned = H.nslab("--clean " .. H.q(name))
      assert.is_true(cleaned, out)
    end)
    finish()
    assert(ok, err)
    assert.is_false(exists(g))
    assert.is_false(exists(a))
    assert.is_nil(record.load(name))
  end)

  it("refuses to remove what the owner made (EBUSY, lab unchanged); removes what it added", function()
    if rootless() then return end
    local name, a, r, g = H.name "gul", H.name "gua", H.name "gur", H.name "gug"
    local _, pid, finish = owner_lab(name, a, r)
    local ok, err = pcall(function()
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
    local out, closed = finish()
    assert(ok, err)
    assert.is_true(closed, out)
    assert.is_false(exists(a))
  end)
end)
