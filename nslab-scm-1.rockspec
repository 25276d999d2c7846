-- `luarocks --lua-version 5.4 make` in a checkout builds the nslab module
-- with the project's Makefile (so it does not depend on where the C files
-- live) and installs nslab.so where plain lua5.4 finds it. The Lua
-- library (lua/nslab/) is embedded in nslab.so at build time. The `nslab`
-- program, its REPL and the man page come from `make install`.
rockspec_format = "3.0"
package = "nslab"
version = "scm-1"
source = {
  -- Placeholder until the repository is published; `luarocks make` builds
  -- the checkout it runs in and never fetches this.
  url = "git+https://example.invalid/nslab.git",
}
description = {
  summary = "Linux network-namespace labs in Lua",
  detailed = [[
Named network namespaces, veth pairs and other links, IPv4/IPv6 addresses,
routes, sysctls and commands run inside a namespace, all over rtnetlink
(libmnl) with no `ip` subprocess, and labs that clean up after themselves.
Linux only; creating namespaces needs CAP_NET_ADMIN and CAP_SYS_ADMIN.
]],
  license = "MIT",
  labels = { "linux", "networking", "netns", "rtnetlink" },
}
supported_platforms = { "linux" }
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  MNL = { header = "libmnl/libmnl.h", library = "mnl" },
  CAP = { header = "sys/capability.h", library = "cap" },
}
build = {
  type = "make",
  build_target = "module",
  build_variables = {
    CC = "$(CC)",
    CFLAGS = "$(CFLAGS) -I$(LUA_INCDIR) -I$(MNL_INCDIR) -I$(CAP_INCDIR)",
    LDFLAGS = "-L$(MNL_LIBDIR) -L$(CAP_LIBDIR)",
    LUA = "$(LUA)",
  },
  install_target = "install-module",
  install_variables = {
    CMODDIR = "$(LIBDIR)",
  },
}
