-- The lab's /etc/hosts is written lazily (nslab.nodens.source): a link or
-- an address only marks it changed; a command starting in a node reads the
-- text then, nodes where commands ran get it rewritten at once, and a
-- build without commands makes the text no time at all (it was O(n) per
-- link in every node: chain-1000 took 11 s).
local H = require "helper"
local nslab = require "nslab"
local Exec = require "nslab.exec"
local nodens = require "nslab.nodens"

local raises = H.raises

-- Counts nodens.hosts_text calls while fn runs.
local function texts_made(fn)
  local real, n = nodens.hosts_text, 0
  nodens.hosts_text = function(...)
    n = n + 1
    return real(...)
  end
  local ok, e = pcall(fn)
  nodens.hosts_text = real
  if not ok then error(e, 0) end
  return n
end

describe("lab hosts file, written when read #root #quick", function()
  H.guard()

  it("is right for a command run right after a link or an address", function()
    local lab <close> = nslab.lab(H.name "hsl")
    local a, b, c = H.name "hsa", H.name "hsb", H.name "hsc"
    local red, blue, green = lab:host(a), lab:host(b), lab:host(c, { pid = true })
    lab:link(red, blue, { addrs = { "10.124.1.1/24", "10.124.1.2/24" } })
    -- nslab.exec straight in the netns, never through the node
    local hosts = nslab.exec(red.netns, { "cat", "/etc/hosts" }).stdout
    assert.matches("\n10.124.1.2\t" .. b .. "\n", hosts, 1, true)
    assert.matches("\n10.124.1.1\t" .. a .. "\n", hosts, 1, true)
    assert.is_true(red:run("ping -c1 -W2 " .. b).ok)
    -- a node where commands ran, and one where none did, after a link
    lab:link(blue, green, { addrs = { "10.124.2.1/24", "10.124.2.2/24" } })
    assert.matches("\n10.124.2.2\t" .. c .. "\n", red:run({ "cat", "/etc/hosts" }).stdout, 1, true)
    assert.matches("\n10.124.2.1\t" .. b .. "\n", green:spawn({ "cat", "/etc/hosts" }):wait(5).stdout, 1, true)
    -- after node:addr
    green:addr("eth0", "10.124.3.9/24")
    assert.matches("\n10.124.3.9\t" .. c .. "\n", blue:run("cat /etc/hosts").stdout, 1, true)
    assert.equals(red:run("cat /etc/hosts").stdout, green:run("cat /etc/hosts").stdout)
  end)

  it("is rewritten for a command running in the node", function()
    local lab <close> = nslab.lab(H.name "hsl")
    local a, b = H.name "hsa", H.name "hsb"
    local red, blue = lab:host(a), lab:host(b)
    local p = red:spawn("until grep -q '^10.124.4.2\t" .. b .. "$' /etc/hosts; do sleep 0.02; done")
    lab:link(red, blue, { addrs = { "10.124.4.1/24", "10.124.4.2/24" } })
    local r = p:wait(5)
    assert.is_false(r.timed_out, "the running command never saw the new /etc/hosts")
    assert.is_true(r.ok)
  end)

  it("is made once for a topology, not at each link", function()
    local lab <close> = nslab.lab(H.name "hsl")
    local p = H.name "hs"
    local n = texts_made(function()
      for i = 1, 12 do lab:host(p .. i) end
      for i = 1, 11 do
        lab:link(p .. i, p .. (i + 1), { addrs = { "10.125." .. i .. ".1/24", "10.125." .. i .. ".2/24" } })
      end
    end)
    assert.equals(0, n)
    n = texts_made(function()
      assert.matches("\n10.125.11.2\t" .. p .. "12\n", lab:node(p .. "1"):run("cat /etc/hosts").stdout, 1, true)
      assert.matches("\n10.125.1.1\t" .. p .. "1\n", lab:node(p .. "12"):run("cat /etc/hosts").stdout, 1, true)
    end)
    assert.equals(1, n)
  end)
end)

describe("Exec.node hosts = function #root #quick", function()
  H.guard()

  it("asks the function before each command, with the netns name", function()
    local ns = H.name "hsn"
    nslab.netns.add(ns)
    finally(function() nslab.netns.del(ns) end)
    local asked, text = {}, "10.0.0.1 one\n"
    local function fn(name)
      asked[#asked + 1] = name
      return text
    end
    Exec.node(ns, { hosts = fn })
    assert.same({}, asked)
    assert.equals(text, nslab.exec(ns, { "cat", "/etc/hosts" }).stdout)
    assert.same({ ns }, asked)
    text = "10.0.0.2 two\n"
    assert.equals(text, nslab.sh(ns, "cat /etc/hosts").stdout)
    -- given again once the file exists: asked at once, rewritten in place
    text = "10.0.0.3 three\n"
    Exec.node(ns, { hosts = fn })
    assert.equals(3, #asked)
    -- a string replaces the function
    Exec.node(ns, { hosts = "10.0.0.4 four\n" })
    assert.equals("10.0.0.4 four\n", nslab.exec(ns, { "cat", "/etc/hosts" }).stdout)
    assert.equals(3, #asked)
  end)

  it("refuses what is not a string without NUL, at the command", function()
    local ns = H.name "hsn"
    nslab.netns.add(ns)
    finally(function() nslab.netns.del(ns) end)
    local answer = 42
    Exec.node(ns, { hosts = function() return answer end })
    local e = raises("EINVAL", nslab.exec, ns, { "true" })
    assert.matches("hosts function must return a string", tostring(e), 1, true)
    answer = "a\0b"
    raises("EINVAL", nslab.exec, ns, { "true" })
    answer = "10.0.0.5 five\n"
    assert.equals(answer, nslab.exec(ns, { "cat", "/etc/hosts" }).stdout)
  end)
end)
