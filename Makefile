# nslab - one GNU Makefile, no configure step.
# make            build ./nslab (host) and build/nslab.so (module for lua5.4)
# make check      build, then run the specs in a private sandbox
# make check-rootless  the same as an ordinary user (nobody), rootless
# make demo       run the article lab (scripts/veth-pair.lua)
# make bench      chain-N build/teardown, exec latency and memory table
# make check-faults  signals at random moments in a 20-node lab, in the
#                 sandbox (TRIALS=N SEED=S; ROOTLESS=1 or
#                 check-faults-rootless: as uid ROOTLESS_UID)
# make debug      ASan+UBSan build in build-debug/; make check-debug runs on it
# make doc        the Lua API reference (LDoc) in build/doc/index.html
# make install    bin/nslab, lib/lua/5.4/nslab.so, the man page (PREFIX, DESTDIR)
# make deps       install missing Debian packages (as root)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
LUADIR     ?= $(PREFIX)/share/lua/5.4
LIBDIR     ?= $(PREFIX)/lib
CMODDIR    ?= $(LIBDIR)/lua/5.4
PKG_CONFIG ?= pkg-config
LUA_PC     ?= lua5.4
LUA        ?= lua5.4
CC         ?= cc

BUILD      ?= build
NSLAB      ?= ./nslab

DEBIAN_PKGS = build-essential pkg-config liblua5.4-dev lua5.4 libmnl-dev \
	libcap-dev libedit-dev lua-busted iproute2 iputils-ping util-linux \
	nftables netcat-openbsd procps python3 lua-ldoc lua-discount luarocks \
	iperf3 strace lua-cjson lua-check bird2 traceroute tcpdump graphviz

PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LUA_PC) libmnl libcap 2>/dev/null)
PC_LIBS   := $(shell $(PKG_CONFIG) --libs $(LUA_PC) libmnl libcap 2>/dev/null)
# Without pkg-config files (luarocks passes the directories it found as
# CFLAGS/LDFLAGS), the module still links its two libraries.
MOD_LIBS  := $(or $(shell $(PKG_CONFIG) --libs libmnl libcap 2>/dev/null),-lmnl -lcap) -lm
EDIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags libedit 2>/dev/null)
EDIT_LIBS   := $(shell $(PKG_CONFIG) --libs libedit 2>/dev/null)
ifneq ($(EDIT_LIBS),)
EDIT_DEFS := -DNSLAB_HAVE_LIBEDIT
endif

WARN      = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	    -Wmissing-prototypes -Wformat=2 -Werror
OPT      ?= -O2 -g
NSLAB_CFLAGS = $(WARN) $(OPT) -fPIC -MMD -MP -Isrc -I$(BUILD) \
	       $(PC_CFLAGS) $(EDIT_CFLAGS) $(EDIT_DEFS)
NSLAB_LDFLAGS =

# The floors (README, "Layout"): the module is src/linit.c plus the core,
# nl, net and exec folders; the host program adds src/host/.
MOD_DIRS  = src/core src/nl src/net src/exec src/lab
MOD_SRCS  = src/linit.c $(foreach d,$(MOD_DIRS),$(wildcard $(d)/*.c))
HOST_SRCS = $(wildcard src/host/*.c)
MOD_OBJS  = $(MOD_SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/embed.o
HOST_OBJS = $(HOST_SRCS:src/%.c=$(BUILD)/%.o)
LUA_SRCS  = $(sort $(wildcard lua/nslab/*.lua))
# Unit tests of the pure helpers (no Lua, no namespaces): tests/unit/.
UNIT_SRCS = $(wildcard tests/unit/*.c)
UNIT_LIBS = src/nl/names.c src/nl/nl_tab.c src/net/inet_text.c \
	    src/net/sysctl_path.c src/net/tc_units.c
UNIT_OBJS = $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%.o) \
	    $(UNIT_LIBS:src/%.c=$(BUILD)/%.o)

.PHONY: all check check-rootless check-debug demo debug deps deps-frr install uninstall clean lint \
	format bench doc module install-module unit check-faults \
	check-faults-rootless

all: $(NSLAB) $(BUILD)/nslab.so

$(NSLAB): $(HOST_OBJS) $(MOD_OBJS)
	$(CC) $(NSLAB_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PC_LIBS) $(EDIT_LIBS) -lm

# The loadable module alone, for plain lua5.4 (what luarocks builds).
module: $(BUILD)/nslab.so

$(BUILD)/nslab.so: $(MOD_OBJS)
	$(CC) -shared $(NSLAB_LDFLAGS) $(LDFLAGS) -o $@ $^ $(MOD_LIBS)

$(BUILD)/%.o: src/%.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(NSLAB_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/unit: $(UNIT_OBJS)
	$(CC) $(NSLAB_LDFLAGS) $(LDFLAGS) -o $@ $^ -lm

$(BUILD)/tests/%.o: tests/%.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(NSLAB_CFLAGS) $(CFLAGS) -c -o $@ $<

# make unit: build and run the unit tests alone (make check runs them too).
unit: $(BUILD)/unit
	$(BUILD)/unit

$(BUILD)/embed.c: tools/embed.lua $(LUA_SRCS) | $(BUILD)
	$(LUA) tools/embed.lua $@ $(LUA_SRCS)

$(BUILD)/embed.o: $(BUILD)/embed.c
	$(CC) $(NSLAB_CFLAGS) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD):
	mkdir -p $@

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d $(BUILD)/*/*/*.d)

# check, demo and bench install what is missing first (as root on Debian).
# Recursive make so pkg-config flags are read after deps installed them.
# The unit tests run first, outside the sandbox (they need nothing), and
# their counts join the suite's final line (tools/check.sh).
check: deps
	$(MAKE) all $(BUILD)/unit
	NSLAB_UNIT=$(BUILD)/unit tools/check.sh $(NSLAB) $(SPECS)

# The suite as an unprivileged user: the sandbox then makes a user namespace,
# as nslab does for rootless labs (README, "Without root"). As root, drops to
# ROOTLESS_UID first with a fresh environment (root's PATH may hold
# directories that user cannot search); as an ordinary user, runs as that user.
ROOTLESS_UID ?= 65534
ROOTLESS_PATH = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
check-rootless: deps
	$(MAKE) all $(BUILD)/unit
	@if [ "$$(id -u)" = 0 ]; then \
		setpriv --reuid=$(ROOTLESS_UID) --regid=$(ROOTLESS_UID) \
			--clear-groups --inh-caps=-all --reset-env \
			env PATH=$(ROOTLESS_PATH) NSLAB_UNIT=$(BUILD)/unit \
			tools/check.sh $(NSLAB) $(SPECS); \
	else NSLAB_UNIT=$(BUILD)/unit tools/check.sh $(NSLAB) $(SPECS); fi

# Fault injection (scripts/faults/run.lua): TRIALS trials of SIGINT,
# SIGTERM, SIGHUP (single and doubled) or SIGKILL + --clean at random
# moments in build, run and close of scripts/faults/lab20.lua, each checked
# for leftovers and a re-run; SEED (printed) repeats a schedule. Fails if
# any trial left anything. ROOTLESS=1 drops to ROOTLESS_UID as
# check-rootless does.
TRIALS ?= 100
SEED   ?=
FAULTS_ENV = TRIALS=$(TRIALS) SEED=$(SEED)
check-faults: deps
	$(MAKE) all
	@if [ -n "$(ROOTLESS)" ] && [ "$$(id -u)" = 0 ]; then \
		setpriv --reuid=$(ROOTLESS_UID) --regid=$(ROOTLESS_UID) \
			--clear-groups --inh-caps=-all --reset-env \
			env PATH=$(ROOTLESS_PATH) $(FAULTS_ENV) \
			tools/sandbox.sh $(NSLAB) scripts/faults/run.lua; \
	else env $(FAULTS_ENV) tools/sandbox.sh $(NSLAB) scripts/faults/run.lua; fi

check-faults-rootless:
	$(MAKE) check-faults ROOTLESS=1

debug:
	$(MAKE) BUILD=build-debug NSLAB=build-debug/nslab \
		OPT='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined' \
		NSLAB_LDFLAGS='-fsanitize=address,undefined' \
		all build-debug/unit

check-debug: deps
	$(MAKE) debug
	ASAN_OPTIONS=detect_leaks=0 NSLAB_UNIT=build-debug/unit \
		tools/check.sh build-debug/nslab $(SPECS)

demo: deps
	$(MAKE) all
	tools/sandbox.sh $(NSLAB) scripts/veth-pair.lua

# BENCH_N, BENCH_RUNS, BENCH_EXEC, BENCH_TOOLS, BENCH_SHAPE_N...: see
# scripts/bench/run.lua; BENCH_PINGALL_N, BENCH_STAR_N: see
# scripts/bench/pingall.lua (in-process pingall against ping per pair).
# nslab keeps two fds per netns (its fd and rtnetlink socket), so chain-1000
# needs more than the usual soft limit of 1024: raised to the hard limit.
bench: deps
	$(MAKE) all $(BUILD)/bench-forkexec
	-$(MAKE) $(BUILD)/chainfloor
	$(MAKE) $(BUILD)/labfloor
	ulimit -n "$$(ulimit -Hn)"; \
	BENCH_FORKEXEC=$(BUILD)/bench-forkexec tools/sandbox.sh $(NSLAB) \
		scripts/bench/run.lua
	ulimit -n "$$(ulimit -Hn)"; \
	tools/sandbox.sh $(NSLAB) scripts/bench/pingall.lua

$(BUILD)/bench-forkexec: scripts/bench/forkexec.c | $(BUILD)
	$(CC) $(WARN) $(OPT) $(CFLAGS) $(LDFLAGS) -o $@ $<

# The C floor of chain N (issue 18 pairs lab:apply with it), when the
# shared bench sources are beside the tree.
CHAINFLOOR_SRC ?= ../shared/bench/chainfloor.c
$(BUILD)/chainfloor: $(CHAINFLOOR_SRC) | $(BUILD)
	$(CC) -O2 $(CFLAGS) $(LDFLAGS) -o $@ $< -lmnl

# That floor plus the sysctls every lab node must have (pitfalls P2, P8).
$(BUILD)/labfloor: scripts/bench/labfloor.c | $(BUILD)
	$(CC) $(WARN) $(OPT) $(CFLAGS) $(LDFLAGS) -o $@ $< -lmnl

deps:
	@missing=""; for p in $(DEBIAN_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: run as root to install:$$missing" >&2; exit 1; \
		fi; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# FRR for the specs and examples that use it (they skip without it): apart
# from make deps, since not every lab needs a second routing suite (about
# 4.4 MB, 22.5 MB installed, 7 s here; without the recommended extras).
deps-frr:
	@dpkg-query -W -f='$${Status}' frr 2>/dev/null | grep -q 'install ok installed' || { \
		if [ "$$(id -u)" != 0 ]; then echo "make deps-frr: run as root to install frr" >&2; exit 1; fi; \
		echo "installing: frr"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends frr; }

# The Lua library is embedded in both nslab and nslab.so (tools/embed.lua),
# its one delivery: no Lua files are installed beside them.
install: all install-module
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(NSLAB) $(DESTDIR)$(BINDIR)/nslab
	install -m 644 doc/nslab.1 $(DESTDIR)$(MANDIR)/man1/nslab.1

# nslab.so into CMODDIR (luarocks passes CMODDIR=$(LIBDIR) of the rock).
install-module: module
	install -d $(DESTDIR)$(CMODDIR)
	install -m 644 $(BUILD)/nslab.so $(DESTDIR)$(CMODDIR)/nslab.so

# The Lua API reference, from the LDoc comments in lua/nslab/ (config.ld).
doc:
	@command -v ldoc >/dev/null || { echo "make doc: needs ldoc (Debian: lua-ldoc lua-discount; make deps)" >&2; exit 1; }
	ldoc -d $(BUILD)/doc .

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nslab $(DESTDIR)$(CMODDIR)/nslab.so \
		$(DESTDIR)$(MANDIR)/man1/nslab.1
	@# where installs before 0.1.0's embedded-only library put Lua files
	rm -rf $(DESTDIR)$(DATADIR)/nslab/lua
	-rmdir $(DESTDIR)$(DATADIR)/nslab 2>/dev/null

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance \
		--inline-suppr -Isrc -I$(BUILD) src tests/unit
	clang-tidy --quiet $(MOD_SRCS) $(HOST_SRCS) $(UNIT_SRCS) -- $(NSLAB_CFLAGS)
	luacheck --no-color lua spec scripts

format:
	clang-format -i $(shell find src tests/unit -name '*.[ch]')

clean:
	rm -rf build build-debug $(NSLAB)
