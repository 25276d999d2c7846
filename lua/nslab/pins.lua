--- nslab.pins: a lab's node namespaces other processes can join.
--
-- A node's network namespace is bound at /run/netns/NODE; its UTS (and,
-- when asked for, IPC, time and PID) namespace exists only as an fd held by
-- the process that made the lab (`nslab.nodens`), and would end with it.
-- So that `nslab --attach` (or `nslab.attach` in any process) can run
-- commands that see the node as the lab's own commands do (hostname,
-- shared memory, clocks), each node's namespaces are bound, as
-- `ip netns add` binds a netns, on files under the lab's directory:
--
--     /run/nslab/ns/LAB/NODE/uts   (and ipc, time, pid when the node has them)
--
-- The record gets a `pins` line before the first is made; the node's
-- directory is removed (unmounted first) when its node is, by `lab:close()`,
-- and by `nslab --clean` for a dead lab. Rootless labs cannot be reached
-- from another process, so they pin nothing. What is not pinned: the
-- node's mount namespace (an attaching process makes its own, with the
-- lab's /etc/hosts; the tmpfs contents of `dirs =` are not shared).
-- @module nslab.pins
local nslab = require "nslab"
local core = nslab.core
local record = require "nslab.record"

local M = {}

--- The directory of every lab's pins: /run/nslab/ns (removed when empty).
M.top = record.dir .. "/ns"

--- The directory of lab name's pins: /run/nslab/ns/NAME.
-- @tparam string lab lab name
-- @treturn string
function M.dir(lab) return M.top .. "/" .. lab end

--- The directory of node's pins in lab: /run/nslab/ns/LAB/NODE.
-- @tparam string lab
-- @tparam string node node name
-- @treturn string
function M.node_dir(lab, node) return M.dir(lab) .. "/" .. node end

local function mkdir(op, path, mode)
  local ok, err, errno = core.record.mkdir(path, tonumber(mode or "700", 8))
  if not ok then require("nslab.opts").raise(op, path, errno, err) end
end

-- Removes lab's directory, and the top one when no other lab has one.
local function rmdirs(lab)
  os.remove(M.dir(lab))
  os.remove(M.top)
end

--- Whether this process pins (false in rootless mode).
-- @treturn boolean
function M.enabled() return not rawget(_G, "NSLAB_ROOTLESS") end

--- Pins node's namespaces, as a building step of its lab: the `pins`
-- record line and the lab's directory first (once per lab), then the
-- node's directory, each with its undo entry.
-- @tparam lab lab
-- @tparam node node
-- @raise the mount's error object (op "exec.pin"), after undoing the step
function M.pin(lab, node)
  if not M.enabled() then return end
  if not lab._pins then
    lab:_step("pins", function(push)
      core.defer_signals(function()
        lab._rec:add("pins")
        push { what = "pins", lines = { { "pins" } }, fn = function() rmdirs(lab.name) end }
      end)
      -- another lab may remove an empty top directory meanwhile: twice
      for try = 1, 2 do
        mkdir("lab:pins", record.dir, "755")
        mkdir("lab:pins", M.top, "755")
        local ok, e = pcall(mkdir, "lab:pins", M.dir(lab.name))
        if ok then break end
        if try == 2 or type(e) ~= "table" or e.code ~= "ENOENT" then error(e, 0) end
      end
    end)
    lab._pins = true
  end
  local dir = M.node_dir(lab.name, node.name)
  lab:_step(string.format("pin %q", node.name), function(push)
    core.defer_signals(function()
      mkdir("lab:pins", dir)
      push { what = "pins " .. node.name, lines = { { "pins" } }, fn = function() core.exec.unpin(dir) end }
    end)
    core.exec.pin(node.netns, dir)
  end)
end

--- Joins, in this process, the namespaces pinned for node (those there):
-- its later commands see the node's hostname, IPC and clocks.
-- @tparam string lab lab name
-- @tparam node node
-- @treturn {string,...} the kinds joined ("uts", ...)
-- @raise EINVAL error object naming a file that is not a pinned namespace
function M.adopt(lab, node)
  return core.exec.adopt(node.netns, M.node_dir(lab, node.name))
end

--- Removes every pin of lab name and its directory (`nslab --clean`).
-- @tparam string lab
-- @raise the error object naming what could not be unmounted or removed
function M.remove(lab)
  local list = core.record.readdir(M.dir(lab))
  for _, n in ipairs(list or {}) do core.exec.unpin(M.node_dir(lab, n)) end
  rmdirs(lab)
end

return M
