# One Makefile, no recursion. Each program folder adds its targets in
# FOLDER/build.mk (included below); this file holds the flags, lib/ and
# the top-level targets.
#
#   make            build every program
#   make test       deps + build + the whole suite under prove
#   make run        deps + build + a demo instance in var/demo under s6-svscan
#   make install PREFIX=dir   (also PREFIX/share/qmta/qmta.service, for QHOME)
#   make install-systemd QHOME=dir   the unit into /etc/systemd/system
#   make test SAN=1 the suite under ASan and UBSan (rebuilds everything)
#   make fuzz       every fuzz target for FUZZTIME seconds (clang, libFuzzer)

CC ?= cc
.DEFAULT_GOAL := all
PREFIX ?= /usr/local
SAN ?=
FUZZTIME ?= 30

WARN = -Wall -Wextra -Werror -Wvla -Wshadow -Wstrict-prototypes -Wformat=2
CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Ilib -include lib/fmtfix.h -MMD -MP
LDFLAGS =
ifneq ($(SAN),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# programs started once per message (qinject) link statically: on small
# virtual machines dynamic loading is a good part of what a start costs
STATIC = -static
# the TLS helpers (one per session) take OpenSSL statically into a
# position-dependent program: no relocated copy of libcrypto's data per
# process, a few hundred KiB less private memory per session
SSLSTATIC = -no-pie -Wl,-Bstatic -lssl -lcrypto -Wl,-Bdynamic -lpthread -ldl
ifneq ($(SAN),)
STATIC =
SSLSTATIC = $(SSLLIBS)
endif
LDLIBS = -lowfat
comma = ,

# Programs started once per message or per connection (qinject, qsmtpd,
# qlisten) are built against musl when musl-gcc is there: glibc's
# start-up code probes the processor with dozens of cpuid instructions,
# each a trap to the hypervisor on a virtual machine (on the test machine a
# start cost 1.5 ms of CPU with glibc, 0.7 ms with musl). Their objects are
# NAME.m.o and lib/ goes into lib/libm.a; libowfat's headers are reached
# through .owfat/ (links to them alone, never to glibc's headers). Under
# SAN, with clang or without musl-gcc they are built like every other program.
MUSLCC = musl-gcc
ifneq ($(SAN),)
MUSLCC =
endif
ifneq ($(findstring clang,$(CC)),)
MUSLCC =
endif
ifeq ($(shell command -v $(MUSLCC) 2>/dev/null),)
MUSLCC =
endif
# libowfat.a is built for glibc: the parts the fast programs take from it
# must link against musl too (a musl without glibc's *64 names could not)
MUSLPROBE = buffer_flush buffer_get stralloc_readyplus cdb_init cdb_find cdb_read dns_ip4 \
  dns_ip6 dns_name4 dns_name6 dns_resolvconfip openreadclose taia_now scan_ulong fmt_ulong \
  fmt_ulonglong \
  iopause byte_copy str_len case_diffb
ifneq ($(MUSLCC),)
ifneq ($(shell echo 'int main(void) { return 0; }' | $(MUSLCC) -static -o /dev/null \
  $(patsubst %,-Wl$(comma)-u$(comma)%,$(MUSLPROBE)) -x c - -x none \
  $(shell $(CC) -print-file-name=libowfat.a) >/dev/null 2>&1 && echo ok),ok)
MUSLCC =
endif
endif
ifneq ($(MUSLCC),)
FASTO = .m.o
FASTLIB = lib/libm.a
FASTCC = $(MUSLCC)
FASTLD = -static
FASTLIBS = $(shell $(CC) -print-file-name=libowfat.a)
else
FASTO = .o
FASTLIB = lib/lib.a
FASTCC = $(CC)
FASTLD = $(STATIC)
FASTLIBS = $(LDLIBS)
endif
# the objects of a fast program: $(call fast,a.o b.o)
fast = $(patsubst %.o,%$(FASTO),$(1))

# -Wno-cpp: libowfat's iopause.h includes <sys/poll.h>, which musl answers
# with a #warning (the glibc builds keep -Wcpp)
%.m.o: %.c | .owfat/stamp
	$(MUSLCC) $(CFLAGS) -Wno-cpp -isystem .owfat -c -o $@ $<

.owfat/stamp:
	rm -rf .owfat && mkdir .owfat
	for h in $$(dpkg -L libowfat-dev | grep '^/usr/include/[^/]*\.h$$'); do ln -s $$h .owfat/ || exit 1; done
	touch $@
SSLLIBS = -lssl -lcrypto
CRYPTLIBS = -lcrypt

LIBOBJ = $(patsubst %.c,%.o,$(sort $(wildcard lib/*.c)))

# Each build.mk appends its programs to PROGS (installed into PREFIX/bin),
# its man pages to MANS, its unit tests to UNITTESTS, its fuzz targets to FUZZERS.
PROGS =
MANS =
UNITTESTS =
FUZZERS =

all: build

lib/lib.a: $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $^

lib/libm.a: $(LIBOBJ:.o=.m.o)
	rm -f $@
	$(AR) rcs $@ $^

include $(sort $(wildcard */build.mk))

build: lib/lib.a $(FASTLIB) $(PROGS) $(UNITTESTS)
	@mkdir -p bin
	@for p in $(PROGS); do ln -sf ../$$p bin/; done
	@ln -sf sendmail bin/mailq; ln -sf sendmail bin/newaliases

deps:
	sh tools/deps.sh

test: deps
	$(MAKE) build
	sh tools/runtests.sh

run: deps
	$(MAKE) build
	sh tools/demo.sh

install: build install-unit
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	for p in $(PROGS); do install -m 755 $$p $(DESTDIR)$(PREFIX)/bin/; done
	# each page into the section its suffix names: qsetup.8 -> man8, qmta-admin.7 -> man7
	for m in $(MANS); do d=$(DESTDIR)$(PREFIX)/share/man/man$${m##*.}; \
	  mkdir -p $$d && install -m 644 $$m $$d/ || exit 1; done
	ln -sf sendmail $(DESTDIR)$(PREFIX)/bin/mailq
	ln -sf sendmail $(DESTDIR)$(PREFIX)/bin/newaliases

fuzz:
	sh tools/fuzz.sh $(FUZZTIME)

clean:
	rm -f lib/lib.a lib/libm.a $(PROGS) $(UNITTESTS)
	rm -rf bin
	find . -name '*.o' -o -name '*.d' | grep -v '^./var/' | xargs rm -f
	rm -rf fuzz/bin .owfat

.PHONY: all build deps test run install fuzz clean

-include $(wildcard lib/*.d */*.d tests/unit/*.d)
