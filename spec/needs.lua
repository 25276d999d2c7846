--- needs("link.veth", "exec", ...): marks the running spec pending, naming
-- the first nslab function it builds on that does not exist yet (parts of
-- the module land separately). Shared by the lab, topo and scripts specs.
local nslab = require "nslab"

return function(...)
  for _, path in ipairs { ... } do
    local v = nslab
    for part in path:gmatch("[^.]+") do v = type(v) == "table" and v[part] or nil end
    if v == nil then pending("needs nslab." .. path) end
  end
end
