-- The Lua library's side of the C/Lua boundary (issue 12), read from its
-- source: errno numbers come from C (nslab.errno), primitives instead of
-- shell-outs, files that read in one sitting, siblings required directly
-- and without circles.
local dir = "lua/nslab/"

local function sources()
  local list = {}
  local p = assert(io.popen("ls " .. dir))
  for f in p:lines() do
    if f:match("%.lua$") then list[#list + 1] = f end
  end
  p:close()
  assert.is_true(#list > 10)
  return list
end

local function read(f)
  local h = assert(io.open(dir .. f))
  local t = h:read("a")
  h:close()
  return t
end

-- The code of a file, comments left out (a comment may name anything).
local function code_lines(f)
  local out, n = {}, 0
  for line in (read(f) .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    out[#out + 1] = { n = n, text = (line:gsub("%-%-.*$", "")) }
  end
  return out
end

describe("the Lua library", function()
  it("never hard-codes an errno number", function()
    for _, f in ipairs(sources()) do
      for _, l in ipairs(code_lines(f)) do
        local t = l.text
        local bad = t:match("^%s*local%s+E%u+[%w_, ]*=%s*%d") or t:match("errno%s*=%s*%d")
          or t:match("errno%s*[=~]=%s*%d") or t:match("errno%s+or%s+%d")
          or t:match("raise%b()") and t:match("raise%([^,]*,[^,]*,%s*%d")
        assert.is_nil(bad, f .. ":" .. l.n .. ": " .. t)
      end
    end
  end)

  it("runs no shell commands (os.execute, io.popen): primitives do that", function()
    for _, f in ipairs(sources()) do
      for _, l in ipairs(code_lines(f)) do
        assert.is_nil(l.text:match("os%.execute") or l.text:match("io%.popen"), f .. ":" .. l.n .. ": " .. l.text)
      end
    end
  end)

  it("has no file over 500 lines", function()
    for _, f in ipairs(sources()) do
      local _, n = read(f):gsub("\n", "")
      assert.is_true(n <= 500, f .. " has " .. n .. " lines")
    end
  end)
end)
