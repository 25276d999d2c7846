-- NUL bytes never reach the kernel: libc and the kernel cut a string at
-- its first NUL, so "fa\0x" would name "fa". Every primitive refuses a
-- NUL in a name, path, command, argument or value with an EINVAL error
-- object naming the operation and the field (issue 11, finding 8).
local H = require "helper"
local nslab = require "nslab"

local function refuses(op, field, f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, op .. " accepted a NUL")
  assert.is_table(e, tostring(e))
  assert.equals("EINVAL", e.code)
  assert.equals(op, e.op)
  assert.matches("contains a NUL byte", e.msg, 1, true)
  assert.matches(field .. " contains a NUL byte", tostring(e), 1, true)
  assert.matches("\\0", tostring(e), 1, true) -- the NUL shown, escaped
  return e
end

describe("NUL bytes #root", function()
  H.guard()
  local function scratch()
    local ns = H.name()
    nslab.netns.add(ns)
    finally(function() nslab.netns.del(ns) end)
    return ns
  end

  it("netns.del of name\\0x leaves the netns name alone", function()
    local ns = scratch()
    local e = refuses("netns.del", "name", nslab.netns.del, ns .. "\0x")
    assert.equals(string.format('netns.del "%s\\0x": Invalid argument: name contains a NUL byte (EINVAL)', ns),
      tostring(e))
    assert.is_true(nslab.netns.exists(ns))
    assert.truthy(H.sh("ip netns list"):find(ns, 1, true))
  end)

  it("netns.add, exists, pids and kill refuse a name with a NUL", function()
    local ns = scratch()
    local red = H.name()
    refuses("netns.add", "name", nslab.netns.add, red .. "\0evil")
    assert.is_false(nslab.netns.exists(red))
    assert.equals("", H.sh("ls /run/netns | grep -F " .. red))
    refuses("netns.exists", "name", nslab.netns.exists, ns .. "\0")
    refuses("netns.pids", "name", nslab.netns.pids, ns .. "\0")
    refuses("netns.pids", "name", nslab.netns.pids, { ns, ns .. "\0" })
    refuses("netns.kill", "name", nslab.netns.kill, { ns .. "\0x" })
  end)

  it("link, addr and route refuse a NUL in names, netns and addresses", function()
    local ns = scratch()
    refuses("link.add", "name", nslab.link.add, { kind = "bridge", name = "br\0x", netns = ns })
    refuses("link.add", "netns", nslab.link.add, { kind = "bridge", name = "br0", netns = ns .. "\0" })
    refuses("link.veth", "peer", nslab.link.veth, { name = "v0", peer = "v1\0", netns = ns })
    refuses("link.set", "ifname", nslab.link.set, "lo\0x", { up = true }, { netns = ns })
    refuses("link.set", "name", nslab.link.set, "lo", { name = "lo2\0" }, { netns = ns })
    refuses("link.del", "ifname", nslab.link.del, "lo\0", { netns = ns })
    refuses("link.get", "ifname", nslab.link.get, "lo\0", { netns = ns })
    refuses("link.kind_available", "kind", nslab.link.kind_available, "bridge\0x")
    refuses("addr.add", "address", nslab.addr.add, "lo", "10.9.0.1/8\0junk", { netns = ns })
    refuses("addr.add", "ifname", nslab.addr.add, "lo\0", "10.9.0.1/8", { netns = ns })
    refuses("addr.del", "address", nslab.addr.del, "lo", "10.9.0.1/8\0", { netns = ns })
    refuses("route.add", "dst", nslab.route.add, { dst = "10.9.0.0/16\0", dev = "lo", netns = ns })
    refuses("route.add", "dev", nslab.route.add, { dst = "10.9.0.0/16", dev = "lo\0", netns = ns })
    assert.same({}, H.ipj("-n " .. ns .. " addr show dev lo")[1].addr_info)
    assert.equals(1, #H.ipj("-n " .. ns .. " link show"))
  end)

  it("sysctl refuses a NUL in the key, the value and the netns", function()
    local ns = scratch()
    refuses("sysctl.set", "value", nslab.sysctl.set, ns, "net.ipv4.ip_forward", "1\0garbage")
    assert.equals("0", nslab.sysctl.get(ns, "net.ipv4.ip_forward"))
    refuses("sysctl.set", "key", nslab.sysctl.set, ns, "net.ipv4.ip_forward\0x", "1")
    refuses("sysctl.get", "key", nslab.sysctl.get, ns, "net.ipv4.ip_forward\0x")
    refuses("sysctl.get", "netns", nslab.sysctl.get, ns .. "\0", "net.ipv4.ip_forward")
  end)

  it("exec, sh and spawn refuse a NUL in the command, argv, env, cwd and user", function()
    local ns = scratch()
    refuses("sh", "command", nslab.sh, ns, "echo a\0; touch /tmp/nul-cut")
    refuses("exec", "argv[2]", nslab.exec, ns, { "echo", "a\0b" })
    refuses("exec", "env.X", nslab.exec, ns, { "true" }, { env = { X = "a\0b" } })
    refuses("exec", "an env name", nslab.exec, ns, { "true" }, { env = { ["X\0Y"] = "1" } })
    refuses("exec", "cwd", nslab.exec, ns, { "true" }, { cwd = "/\0tmp" })
    refuses("exec", "user", nslab.exec, ns, { "true" }, { user = "root\0x" })
    refuses("exec", "netns", nslab.exec, ns .. "\0", { "true" })
    refuses("spawn", "argv[1]", nslab.spawn, ns, { "sleep\0", "1" })
    -- stdin is data: NUL bytes pass through whole
    local r = nslab.exec(ns, { "od", "-An", "-c" }, { stdin = "a\0b" })
    assert.matches("a  \\0   b", r.stdout, 1, true)
  end)
end)
