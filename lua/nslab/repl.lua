--- nslab.repl: what the interactive REPL knows about labs. The host's C
-- loop (line editing, history, Ctrl-C, completion mechanics) asks this
-- module about node commands, node globals, `help` and node names; the
-- policy lives here, the terminal stays in C.
--
-- A node command, as in Mininet's CLI, is a line whose first word names a
-- node of an open lab, followed by a blank and more: `red ping -c1 blue`
-- runs `ping -c1 10.0.0.2` with `/bin/sh -c` in red's netns, each word
-- naming a node replaced by that node's first address. Lua on a node is
-- written without the blank (`red:ping(blue)`, `red.netns`), and an
-- assignment (`red = 1`) stays Lua. A command ending in a lone `&` starts
-- in the background as `node:spawn`, owned by the lab.
--
-- The interface the C side calls (all through `require "nslab.repl"`):
--
--  * `line(text)` -> boolean: runs text when it is a node command, one of
--    Mininet's words (`nodes`, `net`, `pingall`...: `nslab.repl_verbs`),
--    or answers a mistyped node name.
--  * `globals()`: makes each node of an open lab a global, and `lab`.
--  * `help()` -> string: the open labs, for `help`.
--  * `complete(before, part)` -> names, only: node names for Tab.
--
-- Nothing here loads the lab layer: when `nslab.lab` was never required
-- no lab can be open, and every function sees none.
-- @module nslab.repl
local exec = require "nslab.exec"

local M = {}

-- The globals table of the state (the REPL's lua_getglobal/setglobal),
-- held here so a user's `_G = nil` cannot lose it.
local globals = _ENV

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

--- Whether s is a Lua name (ASCII letters, digits, `_`; not a keyword).
-- @tparam string s
-- @treturn boolean
function M.is_name(s)
  return type(s) == "string" and s:match("^[A-Za-z_][A-Za-z0-9_]*$") ~= nil and not KEYWORDS[s]
end

-- ---- pure parts: no lab, no kernel ----

--- Splits a line of node command form into its first word and the rest:
-- leading white space skipped, a first word (up to a blank: space or tab),
-- blanks, then anything but an assignment (`red = 1`; `red == 1` is a
-- command). Whether the word names a node is not looked at.
-- @tparam string text the line as typed
-- @treturn ?string the first word, or nil when text lacks the form
-- @treturn ?string the rest, after the blanks
-- @usage split("red ping -c1 blue") --> "red", "ping -c1 blue"
function M.split(text)
  local word, gap, rest = text:match("^%s*([^ \t]*)([ \t]*)(.*)$")
  if word == "" or gap == "" or rest == "" then return nil end
  if rest:match("^=[^=]") or rest == "=" then return nil end
  return word, rest
end

--- Replaces each word of cmd (a run of non-blanks) for which addr_of
-- returns a string by that string; blanks are kept as they are.
-- @tparam string cmd
-- @tparam function addr_of (word) -> string or nil
-- @treturn string
-- @usage substitute("ping -c1 blue", {blue = "10.0.0.2"}) --> "ping -c1 10.0.0.2"
function M.substitute(cmd, addr_of)
  if type(addr_of) == "table" then
    local t = addr_of
    addr_of = function(w) return t[w] end
  end
  return (cmd:gsub("[^ \t]+", function(w)
    local a = addr_of(w)
    if type(a) == "string" then return a end
  end))
end

--- Whether cmd asks for the background: it ends in a lone `&` (not `&&`),
-- trailing white space aside.
-- @tparam string cmd
-- @treturn string cmd without the `&` and the blanks around it, or cmd
-- @treturn boolean whether it ends in `&`
-- @usage background("iperf3 -s &") --> "iperf3 -s", true
function M.background(cmd)
  local body = cmd:match("^(.-)%s*$")
  if #body < 2 or body:sub(-1) ~= "&" or body:sub(-2, -2) == "&" then return cmd, false end
  return body:sub(1, -2):match("^(.-)%s*$"), true
end

--- How a foreground command ended, as shells show `$?`, when it failed.
-- @tparam table r an exec result (`status`, `signal`)
-- @treturn ?string "[exit 3]", "[killed by SIGINT]", or nil for success
function M.summary(r)
  if type(r.signal) == "string" then return "[killed by " .. r.signal .. "]" end
  if math.type(r.status) == "integer" and r.status ~= 0 then
    return string.format("[exit %d]", r.status)
  end
  return nil
end

-- ---- the open labs ----

--- The open labs, in creation order (none when the lab layer was never
-- loaded).
-- @treturn {lab,...}
function M.labs()
  local lab = package.loaded["nslab.lab"]
  if type(lab) ~= "table" or type(lab.active) ~= "function" then return {} end
  local list = lab.active()
  return type(list) == "table" and list or {}
end

--- The node called name in the first of labs that has one.
-- @tparam {lab,...} labs
-- @tparam string name
-- @treturn ?node
function M.find(labs, name)
  for _, lab in ipairs(labs) do
    local node = lab:node(name)
    if node ~= nil then return node end
  end
  return nil
end

--- The names of all nodes of labs, lab by lab, in creation order.
-- @tparam[opt] {lab,...} labs default: the open labs
-- @treturn {string,...}
function M.node_names(labs)
  local names = {}
  for _, lab in ipairs(labs or M.labs()) do
    if type(lab.nodes) == "table" then
      for _, node in ipairs(lab.nodes) do
        if type(node.name) == "string" then names[#names + 1] = node.name end
      end
    end
  end
  return names
end

--- What `help` shows about labs: "Open labs:" and a line per lab with its
-- nodes, or how to make one.
-- @tparam[opt] {lab,...} labs default: the open labs
-- @treturn string lines ending in "\n"
function M.help(labs)
  local out = {}
  for _, lab in ipairs(labs or M.labs()) do
    local line = { "  " .. tostring(lab.name) .. ":" }
    for _, node in ipairs(type(lab.nodes) == "table" and lab.nodes or {}) do
      line[#line + 1] = tostring(node.name)
    end
    out[#out + 1] = table.concat(line, " ") .. "\n"
  end
  if #out == 0 then return 'No lab is open: nslab.lab("name") makes one.\n' end
  return "Open labs:\n" .. table.concat(out) .. require("nslab.repl_verbs").help()
end

--- Node names for Tab. In a node command (the first word, before the word
-- being completed, names a node) they are the only candidates; on the
-- first word they join the globals and keywords C offers.
-- @tparam string before the line before the word being completed
-- @tparam string part the start of that word
-- @tparam[opt] {lab,...} labs default: the open labs
-- @treturn {string,...} names starting with part
-- @treturn boolean whether only these names fit (a node command)
function M.complete(before, part, labs)
  labs = labs or M.labs()
  local first = before:match("^[ \t]*([^ \t]+)[ \t]")
  local only = first ~= nil and M.find(labs, first) ~= nil
  local found = {}
  if only or before:match("^[ \t]*$") then
    for _, name in ipairs(M.node_names(labs)) do
      if name:sub(1, #part) == part then found[#found + 1] = name end
    end
  end
  return found, only
end

--- The lab the REPL's words act on: the global `lab` when it is an open
-- lab, else the newest open lab, else nil.
-- @tparam[opt] {lab,...} labs default: the open labs
-- @treturn ?lab
function M.current(labs)
  labs = labs or M.labs()
  local g = rawget(globals, "lab")
  for _, l in ipairs(labs) do
    if l == g then return g end
  end
  return labs[#labs]
end

-- Background commands started at the prompt, reported once they end.
local jobs = {}

-- Before a prompt: ends a build's progress line with its newline, and
-- prints what the background commands that ended wrote, so their output
-- never lands in the middle of the line being typed.
local function before_prompt(labs)
  for _, lab in ipairs(labs) do
    if lab._shown then
      io.stderr:write("\n")
      lab._shown = nil
    end
  end
  for i = #jobs, 1, -1 do
    local j = jobs[i]
    local ok, running = pcall(j.proc.running, j.proc)
    if not (ok and running) then
      table.remove(jobs, i)
      local done, r = pcall(j.proc.wait, j.proc, 0)
      r = done and r or {}
      local how = M.summary(r)
      io.stdout:write(string.format("[%d] done in %s%s\n", j.proc.pid, j.node, how and " " .. how or ""),
        r.stdout or "", r.stderr or "")
      io.stdout:flush()
    end
  end
end

--- Sets a global per node of an open lab whose name is a Lua name and not
-- a global yet (the first lab's node when two labs share a name), so that
-- after an `-i` script that kept its nodes in locals `red:ping(blue)`
-- works at the prompt, and `lab` to the newest open lab when the global
-- `lab` is free (or a lab this function set that has closed since). A
-- script's own global of that name is left alone. Called before each
-- prompt: it also ends a progress line and reports ended background
-- commands (see `line`).
-- @tparam[opt] {lab,...} labs default: the open labs
function M.globals(labs)
  labs = labs or M.labs()
  before_prompt(labs)
  for _, name in ipairs(M.node_names(labs)) do
    if M.is_name(name) and globals[name] == nil then
      globals[name] = M.find(labs, name)
    end
  end
  local g = rawget(globals, "lab")
  if g == nil or (g == M._lab and not g._open) then
    globals.lab = labs[#labs]
    M._lab = globals.lab
  end
end

-- Runs cmd in node: in the foreground with the terminal handed over (as
-- a shell does), reporting a failure; or, ending in '&', as node:spawn.
local function run(node, cmd)
  local body, bg = M.background(cmd)
  local argv = { "/bin/sh", "-c", body }
  io.stdout:flush()
  if bg then
    -- Its output is kept and shown when it ends, before a prompt.
    local proc = node:spawn(argv)
    jobs[#jobs + 1] = { proc = proc, node = tostring(node.name) }
    io.stdout:write(string.format("[%d] started in %s; its output shows when it ends; its lab stops it " ..
      "when it closes\n", proc.pid, tostring(node.name)))
    io.stdout:flush()
    return
  end
  local msg = M.summary(exec.exec(node.netns, argv, { capture = false }))
  if msg then
    io.stderr:write(msg, "\n")
    io.stderr:flush()
  end
end

--- Runs text as a node command when it is one (see the module): the rest
-- of the line, node names replaced by their first addresses, in that node.
-- Output goes to the terminal as it comes; a failure prints `[exit 3]` or
-- `[killed by SIGINT]` to stderr; `&` prints the background pid.
-- @tparam string text the line as typed
-- @tparam[opt] {lab,...} labs default: the open labs
-- @treturn boolean true when text was a node command and has run; false
--   when it is not one (then it is Lua), looking it up having failed too
-- @raise what starting or waiting for the command raises (an error
--   object, `interrupted (SIGINT)`): text was a node command all the same
-- @usage repl.line("red ping -c1 blue")
function M.line(text, labs)
  local word, rest = M.split(text)
  local ok, node
  ok, labs, node = pcall(function()
    local l = labs or M.labs()
    return l, word and M.find(l, word)
  end)
  if not ok then return false end
  if node == nil then return M.word(text, word, labs) end
  local cmd = M.substitute(rest, function(w)
    local n = M.find(labs, w)
    return n and n:first_addr()
  end)
  run(node, cmd)
  return true
end

-- Whether text is Lua the REPL can compile (an expression or statements;
-- an unfinished one counts).
local function is_lua(text)
  if load("return " .. text, "=stdin") or load(text, "=stdin") then return true end
  local _, e = load(text, "=stdin")
  return tostring(e):find("<eof>", 1, true) ~= nil
end

--- Runs a line that is not a node command when it is one of Mininet's
-- words (`nslab.repl_verbs`), or answers it when its first word looks
-- like a mistyped node name (a name that is no global, no node, and the
-- line no Lua): `no node "rde" in lab x; its nodes: red blue`. With no
-- lab open, a word says there is none and how to open one.
-- @tparam string text
-- @tparam ?string word its first word (`split`)
-- @tparam {lab,...} labs the open labs
-- @treturn boolean whether the line was handled
function M.word(text, word, labs)
  local lab = M.current(labs)
  local verbs = require "nslab.repl_verbs"
  if not lab then
    -- Mininet's words with no lab: say so, not `nil` or a syntax error.
    local verb = verbs.match(text, globals)
    if not verb then return false end
    io.stderr:write(verbs.no_lab(verb), "\n")
    io.stderr:flush()
    return true
  end
  if verbs.match(text, globals) then
    local ok, e = pcall(verbs.run, lab, text)
    if not ok then
      io.stderr:write(tostring(e), "\n")
      io.stderr:flush()
    end
    return true
  end
  if word and M.is_name(word) and rawget(globals, word) == nil and not is_lua(text) then
    io.stderr:write(string.format("no node %q in lab %s (nodes: %s), and the line is not Lua\n", word, lab.name,
      table.concat(M.node_names({ lab }), " ")))
    io.stderr:flush()
    return true
  end
  return false
end

return M
