-- Every field a spec link may have is seen by lab:diff when it changes:
-- the plan's quick "unchanged" test (plan.link_same) and its list of a
-- kept link's changes (link_changes) must both know a field, or a change
-- to it would be planned as nothing. A field added to the spec form fails
-- here until it has an example below (and the plan knows it).
local H = require "helper"
local nslab = require "nslab"
local check = require "nslab.declare_check"
local shape = require "nslab.shape"

-- A changed value for each field of the link r:eth1 -- a:eth0 below.
local EXAMPLES = {
  addrs = { { "10.61.1.1/24" }, { "10.61.1.9/24" } },
  mtu = 1400,
  mac = { "02:00:00:00:61:01" },
  state = "down",
  a_to_b = { rate = 5e6 },
  b_to_a = { rate = 5e6 },
  rate = 5e6, delay = 0.01, jitter = 0.001, loss = 0.01, corrupt = 0.01, duplicate = 0.01, reorder = 0.01,
  limit = 100, burst = 20000,
}
-- (delay, jitter, reorder, corrupt, duplicate need netem: refused before
-- planning on a kernel without it)
local NEEDS = { jitter = { delay = 0.01 }, reorder = { delay = 0.01 }, limit = { rate = 5e6 }, burst = { rate = 5e6 } }

describe("the plan of a kept link #root", function()
  H.guard()

  it("has an example for each spec link field", function()
    for k in pairs(check.LINK_FIELDS) do
      if k ~= 1 and k ~= 2 then assert.is_not_nil(EXAMPLES[k], "no example for link field " .. tostring(k)) end
    end
    for k in pairs(shape.FIELDS) do assert.is_not_nil(EXAMPLES[k], "no example for shaping field " .. k) end
  end)

  it("sees a change of each field, and none when nothing changed", function()
    local lab <close> = nslab.lab(H.name("lpf"))
    local p = H.name("pf")
    local r, a = lab:router(p .. "r"), lab:host(p .. "a")
    lab:link(r, a, { addrs = { "10.61.1.1/24", "10.61.1.2/24" } })
    assert.equals(0, #lab:diff(lab:spec(), { quiet = true }).changes)
    -- the plan of the spec with field k's needs, and with k too: they differ
    local function plan_text(k, with)
      local s = lab:spec()
      local l = s.links[1]
      for x, v in pairs(NEEDS[k] or {}) do l[x] = v end
      if with then l[k] = EXAMPLES[k] end
      local ok, plan = pcall(lab.diff, lab, s, { quiet = true })
      if ok then return plan:text() end
      -- a kernel without netem: refused, never planned as nothing
      assert.equals("EOPNOTSUPP", plan.code, tostring(plan))
      assert.matches('no qdisc "netem"', tostring(plan), 1, true)
    end
    for k in pairs(check.LINK_FIELDS) do
      if k ~= 1 and k ~= 2 then
        local without, with = plan_text(k, false), plan_text(k, true)
        if with then assert.are_not.equal(without, with, "no change planned for link field " .. tostring(k)) end
      end
    end
  end)
end)
