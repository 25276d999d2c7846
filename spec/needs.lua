--- `local needs = require("needs")(function(m) pending(m) end)`, then in a
-- spec `needs("link.veth", "exec", ...)` marks it pending, naming the first
-- nslab function it builds on that does not exist yet (parts of the module
-- land separately). busted's `pending` lives in each spec file's
-- environment, hence the closure. Shared by the lab, topo and scripts specs.
local nslab = require "nslab"

return function(pending)
  return function(...)
    for _, path in ipairs { ... } do
      local v = nslab
      for part in path:gmatch("[^.]+") do v = type(v) == "table" and v[part] or nil end
      if v == nil then pending("needs nslab." .. path) end
    end
  end
end
