-- /run/netns set up by two nslab processes at the same moment: the first
-- netns.add of each makes /run/netns a shared mount (bind-mounting it on
-- itself when it is not a mount point yet). Without iproute2's flock
-- around that step both can see "not a mount point" and both bind-mount,
-- stacking two mounts: namespaces made under the lower one are hidden by
-- the upper one, and every later nslab or ip sees a different directory.
local H = require "helper"

-- Each process waits at the start line (a FIFO both hold open for
-- reading and writing, so neither open blocks), then makes three
-- namespaces, checks them, and deletes them.
local racer = [[
local nslab = require "nslab"
local go = assert(io.open(arg[1], "r+"))
go:setvbuf("no") -- read(1) takes one byte, leaving the other racer its own
assert(io.open(arg[2], "w")):close()
go:read(1)
local names = {}
for i = 1, 3 do
  names[i] = arg[3] .. "-" .. i
  nslab.netns.add(names[i])
end
for _, n in ipairs(names) do assert(nslab.netns.exists(n), n .. " is hidden") end
for _, n in ipairs(names) do nslab.netns.del(n) end
print("made and removed " .. #names)
]]

-- One round in a fresh mount namespace with a fresh, empty /run: both
-- racers, then how many mounts they put on /run/netns and what is left
-- in it.
local round = [[
set -u
count() { awk '$5 == "/run/netns"' /proc/self/mountinfo | wc -l; }
mount -t tmpfs nslab-race /run || exit 1
hidden=$(count) # an earlier spec's /run/netns, now under the tmpfs
mkfifo /run/go
"$BIN" "$RACER" /run/go /run/ready-a "$NAME-a" > /run/out-a 2>&1 &
"$BIN" "$RACER" /run/go /run/ready-b "$NAME-b" > /run/out-b 2>&1 &
while ! [ -e /run/ready-a ] || ! [ -e /run/ready-b ]; do sleep 0.01; done
printf xx > /run/go
wait
cat /run/out-a /run/out-b
echo "mounts=$(($(count) - hidden))"
echo "left=$(ls -A /run/netns | wc -l)"
]]

describe("netns /run/netns setup #root", function()
  H.guard()

  it("two nslab processes making namespaces at once never stack mounts (20 rounds)", function()
    if not H.which("unshare") then return pending("needs unshare(1)") end
    local racer_file, round_file = H.tmpfile(racer), H.tmpfile(round)
    finally(function()
      os.remove(racer_file)
      os.remove(round_file)
    end)
    for i = 1, 20 do
      local out = H.sh(string.format("BIN=%s RACER=%s NAME=%s timeout 60 unshare -m sh %s", H.q(H.bin),
        H.q(racer_file), H.name("race"), H.q(round_file)))
      local _, made = out:gsub("made and removed 3", "")
      assert.equals(2, made, "round " .. i .. ": " .. out)
      assert.matches("mounts=1\n", out, 1, true, "round " .. i .. ": " .. out)
      assert.matches("left=0\n", out, 1, true, "round " .. i .. ": " .. out)
    end
  end)
end)
