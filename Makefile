# bridge: enforce Apple Background Security Improvements through Jamf Pro.
#
#   make deps          install the Debian packages needed to build and test (as root or via sudo)
#   make               build build/bridge
#   make test          unit tests (cmocka) and integration tests (the real binary)
#   make demo          run the built-in demo
#   make bench         time bridge sync against the simulator at 1,000, 10,000 and 100,000 devices
#                      (BENCH_SIZES=1000,10000 BENCH_LATENCY=0.05 to change; figures in build/bench/)
#   make install       install under $(DESTDIR)$(PREFIX)
#
# Knobs: PREFIX, DESTDIR, SANITIZE=address,undefined, WERROR=1 (warnings are errors; CI sets it),
# CC, CFLAGS, LDFLAGS, BUILD (output folder).

VERSION     = 0.1.0

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share/bridge
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc

CC         ?= cc
PKG_CONFIG ?= pkg-config
PYTHON     ?= python3
INSTALL    ?= install
SANITIZE   ?=
WERROR     ?= 0

# Sanitized builds live in their own folder so they never mix with normal objects.
ifeq ($(SANITIZE),)
BUILD      ?= build
else
BUILD      ?= build/san
endif

PKGS        = libcurl libcjson yaml-0.1 libpcre2-8
TEST_PKGS   = cmocka

# Every Debian package that building, testing, linting and fuzzing need.
DEBIAN_PACKAGES = build-essential pkg-config curl libcurl4-openssl-dev libcjson-dev libyaml-dev \
                  libpcre2-dev libcmocka-dev python3 openssl ca-certificates valgrind mandoc \
                  clang libclang-rt-14-dev systemd man-db libxml2-utils python3-yaml

CFLAGS     ?= -O2 -g
WARNINGS    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
              -Wvla -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wnull-dereference
HARDENING   = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
BASE_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(WARNINGS) \
              -DBRIDGE_VERSION='"$(VERSION)"' -DBRIDGE_SYSCONFDIR='"$(SYSCONFDIR)"' \
              -DBRIDGE_DATADIR='"$(DATADIR)"' -DBRIDGE_TEMPLATE_DIR='"$(CURDIR)/templates"' \
              -pthread $(shell $(PKG_CONFIG) --cflags $(PKGS))
ALL_CFLAGS  = $(BASE_CFLAGS) $(HARDENING) $(CFLAGS)
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS        = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm -pthread
ifeq ($(WERROR),1)
ALL_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
ALL_CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all -U_FORTIFY_SOURCE
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

# Modules: one .c/.h per concern; main.c holds only the orchestration.
MODULES     = alert cli config decide doctor enforce enforce_blueprint fileio gdmf http idle isotime jamf \
              jamf_platform jamf_pro json json_scan log match metrics notify reasons secret state status strtab \
              sync template tenant url version watch
OBJS        = $(MODULES:%=$(BUILD)/obj/%.o)
MAIN_OBJ    = $(BUILD)/obj/main.o
LIB         = $(BUILD)/libbridge.a
BIN         = $(BUILD)/bridge

UNIT_TESTS  = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
TEST_CFLAGS = $(ALL_CFLAGS) -Ibridge $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS)) \
              -DFIXTURES='"$(CURDIR)/tests/fixtures"'
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS)) $(LIBS)

# libFuzzer targets (clang): tests/fuzz/fuzz_NAME.c, seeded from FUZZ_SEEDS_NAME.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD    = build/fuzz
FUZZ_CFLAGS   = $(BASE_CFLAGS) -Werror -Ibridge -g -O1 -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJS     = $(MODULES:%=$(FUZZ_BUILD)/obj/%.o)
FUZZ_TARGETS  = gdmf version template state json_scan
FUZZ_SEEDS_gdmf     = tests/fixtures/gdmf
FUZZ_SEEDS_version  = tests/fuzz/corpus/version
FUZZ_SEEDS_template = tests/fuzz/corpus/template
FUZZ_SEEDS_state    = tests/fuzz/corpus/state
FUZZ_SEEDS_json_scan = tests/fuzz/corpus/json_scan
FUZZ_DICT_gdmf      = -dict=tests/fuzz/gdmf.dict
FUZZ_DICT_template  = -dict=tests/fuzz/template.dict
FUZZ_DICT_json_scan = -dict=tests/fuzz/json.dict

MANPAGES    = bridge/bridge.1 bridge/bridge.yaml.5
# Listed, not globbed, so that uninstall removes exactly what install put there.
TEMPLATES   = templates/declaration.json templates/plan.json templates/blueprint.json \
              templates/alert-slack.json templates/alert-teams.json templates/alert-json.json \
              templates/README.md
SUDO        = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test unit integration valgrind fuzz demo bench install uninstall clean lint-man FORCE

all: $(BIN)

# Installs only what is missing, so a second run does nothing.
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	else echo "deps: all packages present"; fi
	@# Node and npm for the contract check (Prism); Debian 12's nodejs 18 works too. Not in
	@# DEBIAN_PACKAGES: where nodejs comes from NodeSource (with npm inside), Debian's npm
	@# package conflicts with it.
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "installing: nodejs npm"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends nodejs npm; \
	fi
	sh tests/contract/install.sh

# Rebuild everything when the compiler flags change (e.g. SANITIZE or WERROR toggled).
$(BUILD)/flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@

$(BUILD)/obj/%.o: bridge/%.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(OBJS)
	rm -f $@
	$(AR) rcs $@ $(OBJS)

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(ALL_LDFLAGS) -MMD -MP -o $@ $< $(LIB) $(TEST_LIBS)

test: unit integration

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

# jamf-probe drives the Jamf clients step by step over HTTPS (tests/integration/jamf_probe.c).
PROBE       = $(BUILD)/tests/jamf-probe

$(PROBE): tests/integration/jamf_probe.c $(LIB) $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ibridge $(ALL_LDFLAGS) -MMD -MP -o $@ $< $(LIB) $(LIBS)

integration: $(BIN) $(PROBE)
	BRIDGE_BIN=$(CURDIR)/$(BIN) JAMF_PROBE=$(CURDIR)/$(PROBE) $(PYTHON) tests/integration/run.py

valgrind: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== valgrind $$t"; \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --show-leak-kinds=definite,indirect $$t; done

# Each target runs FUZZ_SECONDS on a working corpus (build/fuzz/corpus/NAME) that starts from
# the committed seeds; a crash leaves its input in build/fuzz/ and fails the target.
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS)s"; mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  case $$t in gdmf) seeds=$(FUZZ_SEEDS_gdmf); dict='$(FUZZ_DICT_gdmf)';; \
	    template) seeds=$(FUZZ_SEEDS_template); dict='$(FUZZ_DICT_template)';; \
	    state) seeds=$(FUZZ_SEEDS_state); dict=;; \
	    json_scan) seeds=$(FUZZ_SEEDS_json_scan); dict='$(FUZZ_DICT_json_scan)';; \
	    *) seeds=$(FUZZ_SEEDS_version); dict=;; esac; \
	  log=$(FUZZ_BUILD)/fuzz_$$t.log; \
	  if ! $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	      -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/ $$dict \
	      $(FUZZ_BUILD)/corpus/$$t $$seeds >$$log 2>&1; then \
	    tail -n 60 $$log; echo "fuzz_$$t FAILED: the input is in $(FUZZ_BUILD)/ (log: $$log)"; exit 1; \
	  fi; \
	  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' $$log; \
	done

.SECONDARY: $(FUZZ_OBJS)

$(FUZZ_BUILD)/obj/%.o: bridge/%.c Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LIBS)

lint-man:
	@set -e; for m in $(MANPAGES); do mandoc -T lint -W warning $$m; done

demo: $(BIN)
	@sh tests/demo.sh $(BIN)

# bridge sync at each fleet size against the simulator, with BENCH_LATENCY seconds per request:
# requests by kind, wall and CPU time, peak memory, and the targets of issue 8 (printed, not
# asserted). runstat measures bridge's own CPU time and memory (see tests/bench/runstat.c).
BENCH_SIZES   ?= 1000,10000,100000
BENCH_LATENCY ?= 0.05

bench: $(BIN) $(BUILD)/bench/runstat
	$(PYTHON) tests/bench/bench.py --bridge $(BIN) --runstat $(BUILD)/bench/runstat \
	  --sizes $(BENCH_SIZES) --latency $(BENCH_LATENCY) --out $(BUILD)/bench/results.json

$(BUILD)/bench/runstat: tests/bench/runstat.c $(BUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

install: $(BIN)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(DATADIR) $(DESTDIR)$(DATADIR)/templates
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/bridge
	$(INSTALL) -m 0644 bridge/bridge.1 $(DESTDIR)$(MANDIR)/man1/bridge.1
	$(INSTALL) -m 0644 bridge/bridge.yaml.5 $(DESTDIR)$(MANDIR)/man5/bridge.yaml.5
	$(INSTALL) -m 0644 config/bridge.example.yaml $(DESTDIR)$(DATADIR)/bridge.example.yaml
	$(INSTALL) -m 0644 config/apple-root-ca.pem $(DESTDIR)$(DATADIR)/apple-root-ca.pem
	$(INSTALL) -m 0644 $(TEMPLATES) $(DESTDIR)$(DATADIR)/templates/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/bridge $(DESTDIR)$(MANDIR)/man1/bridge.1 \
	  $(DESTDIR)$(MANDIR)/man5/bridge.yaml.5 $(DESTDIR)$(DATADIR)/bridge.example.yaml \
	  $(DESTDIR)$(DATADIR)/apple-root-ca.pem
	rm -f $(TEMPLATES:templates/%=$(DESTDIR)$(DATADIR)/templates/%)
	-rmdir $(DESTDIR)$(DATADIR)/templates 2>/dev/null
	-rmdir $(DESTDIR)$(DATADIR) 2>/dev/null

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_TESTS:=.d) $(FUZZ_OBJS:.o=.d) $(PROBE).d
