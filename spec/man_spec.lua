-- The man page (doc/nslab.1) against the program: every lab command of
-- src/host/command.c's table has its entry and its exit status, and
-- every module of lua/nslab is named in THE LUA REFERENCE, so neither
-- can drift from the code again.
local H = require "helper"

local read = H.read_all

-- The text of section name of the man page (up to the next .SH).
local function section(man, name)
  local at = assert(man:find("\n.SH " .. name .. "\n", 1, true), "no section " .. name)
  local stop = man:find("\n.SH ", at + 1, true) or #man
  return man:sub(at, stop)
end

describe("the man page", function()
  local man = read("doc/nslab.1")

  it("has an entry and an exit status for every lab command in command.c", function()
    local verbs = {}
    for verb in read("src/host/command.c"):gmatch('\n%s*{"([%w_]+)",') do verbs[#verbs + 1] = verb end
    assert.is_true(#verbs >= 8, "commands[] not found in src/host/command.c")
    local exit = section(man, "EXIT STATUS")
    for _, verb in ipairs(verbs) do
      local flag = "\\-\\-" .. verb
      assert.truthy(man:find("\n.TP\n.B[IR]* \"?" .. flag:gsub("%p", "%%%0") .. "[ \"\n]"),
        "no entry for --" .. verb .. " in doc/nslab.1")
      assert.truthy(exit:find(flag, 1, true), "--" .. verb .. " is not in EXIT STATUS")
    end
    assert.truthy(man:find("\\-\\-dry\\-run", 1, true), "--apply's --dry-run")
  end)

  it("names every module of lua/nslab in THE LUA REFERENCE", function()
    local ref = section(man, "THE LUA REFERENCE"):gsub("\n", " ")
    local files = H.sh("ls lua/nslab")
    local n = 0
    for file in files:gmatch("([%w_]+)%.lua\n") do
      n = n + 1
      local name = file == "init" and "nslab (init)" or file
      assert.truthy(ref:find("[ ,:]" .. name:gsub("%p", "%%%0") .. "[,.]"), "module " .. file .. " not named")
    end
    assert.is_true(n > 50)
  end)
end)
