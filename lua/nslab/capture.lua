--- nslab.capture: packet capture on a node's interface with tcpdump
-- (Debian `tcpdump`), writing pcap (`node:capture`, `nslab --capture`).
--
-- tcpdump runs inside the node (its netns) as a lab-owned process, so
-- the lab kills it when it closes and `nslab --clean` when nslab died. It
-- writes `-w -` with `-U` (each packet flushed at once) and
-- `--immediate-mode` (each packet handed over at once, not in batches a
-- stop would lose) into the file, which nslab itself opens (`nslab.exec`'s
-- `stdout =`): the path is what nslab sees, so a node's private
-- directories (`dirs`), its own /proc (`pid = true`) or rootless
-- credentials cannot hide it. tcpdump still drops root to its own user
-- once the interface is open; the file is already open by then.
-- `node:capture` returns once tcpdump listens (its "listening on" line,
-- read from its stderr through /proc/PID/fd/2, and the pcap header in the
-- file), so what the experiment sends next is captured.
--
-- The file is pcap as tcpdump writes it (libpcap format, link type of
-- the interface: EN10MB for veths): `tcpdump -r FILE`, Wireshark and
-- scapy read it. It is the experiment's result, so it stays when the
-- lab closes. A link must be up to be captured on (tcpdump: "That device
-- is not up"). Rootless (`nslab --rootless`) tcpdump cannot run: it
-- drops root with setgroups(2), which the user namespace denies, and
-- says so ("Couldn't change to 'tcpdump' uid=...": EPERM).
-- @module nslab.capture

-- "nslab" first: it registers nslab.core.
local core = require("nslab").core
local opts_mod = require "nslab.opts"

local E = core.errno -- errno names from the C library (src/core/err.c)

local M = {}

local OPTS = { file = "string", filter = "string", count = "integer", snaplen = "integer" }
-- How long tcpdump may take to listen, and to end after SIGINT (seconds).
local START_TIMEOUT, STOP_TIMEOUT = 10, 5

local function q(s) return string.format("%q", s) end

--- tcpdump's arguments for a capture of ifname written to stdout.
-- @tparam string ifname
-- @tparam[opt] table opts `filter` (pcap-filter(7) text), `count`
-- (packets, then tcpdump ends), `snaplen` (bytes kept of each packet)
-- @treturn {string,...} argv, starting with "tcpdump"
function M.argv(ifname, opts)
  opts = opts or {}
  local argv = { "tcpdump", "-U", "--immediate-mode", "-n", "-i", ifname, "-w", "-" }
  if opts.count then
    argv[#argv + 1], argv[#argv + 2] = "-c", tostring(opts.count)
  end
  if opts.snaplen then
    argv[#argv + 1], argv[#argv + 2] = "-s", tostring(opts.snaplen)
  end
  if opts.filter and opts.filter:find("%S") then argv[#argv + 1] = opts.filter end
  return argv
end

--- The error object for tcpdump's refusal: its own message (stderr
-- lines joined with "; "), ENODEV for a missing interface, EPERM when it
-- could not drop root (always under `nslab --rootless`), EINVAL
-- otherwise (a filter it cannot parse, a link that is down).
-- @tparam string op
-- @tparam string object
-- @tparam string stderr what tcpdump printed
-- @treturn table error object
function M.refusal(op, object, stderr)
  local lines = {}
  for l in (stderr or ""):gmatch("[^\n]+") do
    -- (tcpdump repeats pcap's reason in parentheses on a line of its own)
    local again = l:match("^%((.*)%)$")
    local said = again and table.concat(lines, "; "):find(again, 1, true)
    if not l:find("^listening on ") and not said then lines[#lines + 1] = l end
  end
  local text = table.concat(lines, "; ")
  if text == "" then text = "tcpdump ended before it listened" end
  local errno = E.EINVAL
  if text:find("No such device", 1, true) then
    errno = E.ENODEV
  elseif text:find("Operation not permitted", 1, true) then
    -- rootless: tcpdump drops root to its own user with setgroups(2),
    -- which a user namespace of nslab --rootless denies
    errno = E.EPERM
  end
  return core.error { op = op, object = object, errno = errno, extack = text }
end

--- The number of packets in a pcap file (its complete records: a record
-- still being written is not counted).
-- @tparam string path
-- @treturn integer packets; 0 when the file is missing or has no header
function M.count(path)
  local f = io.open(path, "rb")
  if not f then return 0 end
  local data = f:read("a") or ""
  f:close()
  if #data < 24 then return 0 end
  local magic = string.unpack("<I4", data)
  local order
  if magic == 0xa1b2c3d4 or magic == 0xa1b23c4d then
    order = "<"
  elseif magic == 0xd4c3b2a1 or magic == 0x4d3cb2a1 then
    order = ">"
  else
    return 0
  end
  local n, at = 0, 25
  while at + 15 <= #data do
    local len = string.unpack(order .. "I4", data, at + 8)
    if at + 15 + len > #data then break end
    n, at = n + 1, at + 16 + len
  end
  return n
end

local function size_of(path)
  local f = io.open(path, "rb")
  if not f then return 0 end
  local n = f:seek("end")
  f:close()
  return n
end

-- Raises the error of a capture file nslab cannot make: ENOENT naming
-- the directory that is missing, or the errno io.open got.
local function file_error(op, file, msg, errno)
  local dir = file:match("^(.*)/[^/]*$")
  if dir == "" then dir = "/" end
  if errno == E.ENOENT then
    opts_mod.raise(op, q(file), E.ENOENT, string.format("cannot make the capture file %s: directory %s does not "
      .. "exist", file, dir or "."))
  end
  opts_mod.raise(op, q(file), errno or E.EIO, string.format("cannot make the capture file %s: %s", file,
    tostring(msg):gsub("^[^:]*: ", "")))
end

local Capture = {}
Capture.__index = Capture

--- Whether tcpdump still runs.
-- @treturn boolean
function Capture:running() return self.proc:running() end

--- The packets in the capture file so far (complete pcap records).
-- @treturn integer
function Capture:packets() return M.count(self.file) end

--- Stops the capture: waits until tcpdump has written what it got (the
-- file stops growing), then SIGINT, and waits for it to end (SIGKILL
-- after 5 s). Does nothing the second time, or when tcpdump ended by
-- itself (`count`).
-- @treturn integer the packets in the file
function Capture:stop()
  if self.proc:running() then
    local last, deadline = -1, core.monotime() + 1
    while core.monotime() < deadline do
      local now = size_of(self.file)
      if now == last then break end
      last = now
      core.sleep(0.02)
    end
    self.proc:kill("SIGINT")
  end
  if not self.result then self.result = self.proc:wait(STOP_TIMEOUT) end
  return self:packets()
end
Capture.__close = function(self) self:stop() end

Capture.__tostring = function(self)
  return string.format("capture %s:%s -> %s (%s)", self.node.name, self.ifname, self.file,
    self.proc:running() and "running" or "stopped")
end

-- What tcpdump printed on stderr so far: spawn's memfd, read through
-- /proc/PID/fd/2 (a new open file, from its start) while it runs.
local function stderr_of(proc)
  local f = io.open("/proc/" .. proc.pid .. "/fd/2", "rb")
  if not f then return "" end
  local text = f:read("a") or ""
  f:close()
  return text
end

-- Waits until tcpdump listens: its "listening on" line (printed once the
-- interface is open, the filter set and root dropped) and the pcap
-- header in the file; raises its refusal when it ended first.
local function wait_listening(cap, op, object)
  local deadline = core.monotime() + START_TIMEOUT
  while not (stderr_of(cap.proc):find("listening on", 1, true) and size_of(cap.file) >= 24) do
    if not cap.proc:running() then
      local r = cap.proc:wait()
      error(M.refusal(op, object, r.stderr), 0)
    end
    if core.monotime() > deadline then
      cap.proc:kill("SIGKILL")
      cap.proc:wait()
      opts_mod.raise(op, object, E.ETIMEDOUT, "tcpdump did not start listening in " .. START_TIMEOUT .. " s")
    end
    core.sleep(0.005)
  end
end

--- Installs `node:capture`.
-- @param _ the lab class (unused)
-- @param Node the node class
function M.install(_, Node)
  --- Captures packets on one of the node's interfaces with tcpdump, into
  -- a pcap file, until `stop()`, `count` packets, or the lab's close.
  -- Returns once tcpdump listens.
  -- @tparam string ifname the interface in this node ("eth0"); it must be up
  -- @tparam[opt] table opts `file` (path of the pcap file, made or
  -- truncated; relative to nslab's working directory; default
  -- "NODE-IFNAME.pcap" there), `filter` (pcap-filter(7) text, as
  -- tcpdump takes it: "icmp", "tcp port 80"), `count` (integer >= 1:
  -- tcpdump ends after that many packets), `snaplen` (bytes kept of each
  -- packet, 1..262144; default the whole packet). The file is opened by
  -- nslab, as nslab sees the path: a node's `dirs`, its `pid = true`
  -- /proc or a rootless run do not change where it goes
  -- @treturn table capture: fields `node`, `ifname`, `file`, `proc`;
  -- methods `stop()` (returns the packet count), `packets()` (packets in
  -- the file so far), `running()`; a `<close>` variable stops it
  -- @raise argument error for an ifname that is not a string, an unknown
  -- field or a field of the wrong type; EINVAL error object for a count
  -- or snaplen out of range, a closed lab, and tcpdump's refusal with its
  -- own message (a filter it cannot parse, a link that is down); ENODEV
  -- (tcpdump's message) when the node has no such interface; EPERM
  -- (tcpdump's message) rootless; ENOENT when tcpdump is not installed,
  -- or naming the directory of a capture file that does not exist; the
  -- errno of another capture file nslab cannot make (EACCES, EISDIR)
  -- @usage local cap <close> = red:capture("eth0", {file = "red.pcap", filter = "icmp"})
  -- red:ping(blue, {count = 3})
  -- print(cap:stop(), "packets")
  function Node:capture(ifname, opts)
    local op = "node:capture"
    self.lab:_check_open(op, q(self.name))
    if type(ifname) ~= "string" then opts_mod.argerror(op, 1, "string expected, got " .. type(ifname)) end
    opts = opts_mod.check(op, 2, opts, OPTS)
    local object = q(self.name .. ":" .. ifname)
    if opts.count then opts_mod.range(op, object, "count", opts.count, 1) end
    if opts.snaplen then opts_mod.range(op, object, "snaplen", opts.snaplen, 1, 262144) end
    -- ENOENT naming the package (a failed start through sh would say
    -- "exited with status 127")
    opts_mod.need(op, object, "tcpdump", "tcpdump (make deps)")
    local file = opts.file or (self.name .. "-" .. ifname .. ".pcap")
    local out, msg, errno = io.open(file, "wb") -- made here, by nslab: its errors are nslab's
    if not out then file_error(op, file, msg, errno) end
    out:close()
    local cap = setmetatable({ node = self, ifname = ifname, file = file }, Capture)
    local ok, e = pcall(function()
      cap.proc = self:spawn(M.argv(ifname, opts), { stdout = file })
      wait_listening(cap, op, object)
    end)
    if not ok then
      os.remove(file) -- made above, empty: nothing was captured
      error(e, 0)
    end
    return cap
  end
end

return M
