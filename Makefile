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
# make deps       install missing Debian packages (as root)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
LUADIR     ?= $(PREFIX)/share/lua/5.4
LIBDIR     ?= $(PREFIX)/lib
CMODDIR    ?= $(LIBDIR)/lua/5.4
NSLAB_LUADIR ?= $(DATADIR)/nslab/lua
PKG_CONFIG ?= pkg-config
LUA_PC     ?= lua5.4
LUA        ?= lua5.4
CC         ?= cc

BUILD      ?= build
NSLAB      ?= ./nslab

DEBIAN_PKGS = build-essential pkg-config liblua5.4-dev lua5.4 libmnl-dev \
	libcap-dev libedit-dev lua-busted iproute2 iputils-ping util-linux \
	nftables netcat-openbsd procps python3

PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LUA_PC) libmnl libcap 2>/dev/null)
PC_LIBS   := $(shell $(PKG_CONFIG) --libs $(LUA_PC) libmnl libcap 2>/dev/null)
MOD_LIBS  := $(shell $(PKG_CONFIG) --libs libmnl libcap 2>/dev/null)
EDIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags libedit 2>/dev/null)
EDIT_LIBS   := $(shell $(PKG_CONFIG) --libs libedit 2>/dev/null)
ifneq ($(EDIT_LIBS),)
EDIT_DEFS := -DNSLAB_HAVE_LIBEDIT
endif

WARN      = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	    -Wmissing-prototypes -Wformat=2 -Werror
OPT      ?= -O2 -g
NSLAB_CFLAGS = $(WARN) $(OPT) -fPIC -MMD -MP -Isrc -I$(BUILD) \
	       $(PC_CFLAGS) $(EDIT_CFLAGS) $(EDIT_DEFS) \
	       -DNSLAB_LUADIR='"$(NSLAB_LUADIR)"'
NSLAB_LDFLAGS =

# The module: everything but the host's own files.
MOD_SRCS  = $(filter-out $(HOST_SRCS),$(wildcard src/*.c))
HOST_SRCS = src/main.c $(wildcard src/repl*.c) src/rootless.c
MOD_OBJS  = $(MOD_SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/embed.o
HOST_OBJS = $(HOST_SRCS:src/%.c=$(BUILD)/%.o)
LUA_SRCS  = $(sort $(wildcard lua/nslab/*.lua))

.PHONY: all check check-rootless check-debug demo debug deps install uninstall clean lint \
	format bench check-faults check-faults-rootless

all: $(NSLAB) $(BUILD)/nslab.so

$(NSLAB): $(HOST_OBJS) $(MOD_OBJS)
	$(CC) $(NSLAB_LDFLAGS) $(LDFLAGS) -o $@ $^ $(PC_LIBS) $(EDIT_LIBS)

$(BUILD)/nslab.so: $(MOD_OBJS)
	$(CC) -shared $(NSLAB_LDFLAGS) $(LDFLAGS) -o $@ $^ $(MOD_LIBS)

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(NSLAB_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/embed.c: tools/embed.lua $(LUA_SRCS) | $(BUILD)
	$(LUA) tools/embed.lua $@ $(LUA_SRCS)

$(BUILD)/embed.o: $(BUILD)/embed.c
	$(CC) $(NSLAB_CFLAGS) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD):
	mkdir -p $@

-include $(wildcard $(BUILD)/*.d)

# check, demo and bench install what is missing first (as root on Debian).
# Recursive make so pkg-config flags are read after deps installed them.
check: deps
	$(MAKE) all
	tools/check.sh $(NSLAB) $(SPECS)

# The suite as an unprivileged user: the sandbox then makes a user namespace,
# as nslab does for rootless labs (README, "Without root"). As root, drops to
# ROOTLESS_UID first with a fresh environment (root's PATH may hold
# directories that user cannot search); as an ordinary user, runs as that user.
ROOTLESS_UID ?= 65534
ROOTLESS_PATH = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
check-rootless: deps
	$(MAKE) all
	@if [ "$$(id -u)" = 0 ]; then \
		setpriv --reuid=$(ROOTLESS_UID) --regid=$(ROOTLESS_UID) \
			--clear-groups --inh-caps=-all --reset-env \
			env PATH=$(ROOTLESS_PATH) \
			tools/check.sh $(NSLAB) $(SPECS); \
	else tools/check.sh $(NSLAB) $(SPECS); fi

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
		NSLAB_LDFLAGS='-fsanitize=address,undefined'

check-debug: deps
	$(MAKE) debug
	ASAN_OPTIONS=detect_leaks=0 tools/check.sh build-debug/nslab $(SPECS)

demo: deps
	$(MAKE) all
	tools/sandbox.sh $(NSLAB) scripts/veth-pair.lua

# BENCH_N, BENCH_RUNS, BENCH_EXEC, BENCH_TOOLS...: see scripts/bench/run.lua.
# nslab keeps two fds per netns (its fd and rtnetlink socket), so chain-1000
# needs more than the usual soft limit of 1024: raised to the hard limit.
bench: deps
	$(MAKE) all $(BUILD)/bench-forkexec
	ulimit -n "$$(ulimit -Hn)"; \
	BENCH_FORKEXEC=$(BUILD)/bench-forkexec tools/sandbox.sh $(NSLAB) \
		scripts/bench/run.lua

$(BUILD)/bench-forkexec: scripts/bench/forkexec.c | $(BUILD)
	$(CC) $(WARN) $(OPT) $(CFLAGS) $(LDFLAGS) -o $@ $<

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

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(NSLAB_LUADIR)/nslab \
		$(DESTDIR)$(CMODDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(NSLAB) $(DESTDIR)$(BINDIR)/nslab
	install -m 644 $(BUILD)/nslab.so $(DESTDIR)$(CMODDIR)/nslab.so
	install -m 644 $(LUA_SRCS) $(DESTDIR)$(NSLAB_LUADIR)/nslab/
	install -m 644 doc/nslab.1 $(DESTDIR)$(MANDIR)/man1/nslab.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nslab $(DESTDIR)$(CMODDIR)/nslab.so \
		$(DESTDIR)$(MANDIR)/man1/nslab.1
	rm -rf $(DESTDIR)$(NSLAB_LUADIR)/nslab

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance \
		--inline-suppr -Isrc -I$(BUILD) src
	clang-tidy --quiet src/*.c -- $(NSLAB_CFLAGS)
	luacheck --no-color lua spec scripts

format:
	clang-format -i src/*.c src/*.h

clean:
	rm -rf build build-debug $(NSLAB)
