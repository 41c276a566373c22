# SPDX-License-Identifier: GPL-2.0
#
# vdisk - top-level build.  Kbuild (next to this file) describes the module
# for the kernel's build system; this Makefile drives it and everything
# else:
#
#   make              vdisk.ko for KDIR (default: the Debian 6.12 headers the
#                     test VM boots) and userspace/vdattach
#   make modules-all  vdisk.ko for both supported kernels (6.12 and 6.1)
#   make check        every test layer, sized for CI (under 45 min on a
#                     fresh 2-core machine); last line "N passed, N failed"
#   make check-full   every test layer at full strength (run before an
#                     issue is resolved); see Documentation/testing.rst
#   make demo         boots a VM and walks through the main job
#   make bench        the benchmark (Documentation/benchmark.md);
#                     BENCH_ARGS="--quick" for the short mode
#   make install      vdisk.ko, vdattach, man page, udev rules, bash
#                     completion, vdtab + its systemd unit, initramfs-tools
#                     hook; DESTDIR= and PREFIX= (default /usr/local) apply
#   make dkms-source  the DKMS source tree in $(DESTDIR)/usr/src/vdisk-VERSION
#   make install-dkms dkms-source, then dkms add/build/install for the
#                     running kernel
#   make clean
#
# Module objects go to .build/<kernel release>/ (see scripts/build-module);
# the kernels and headers live in $(VDISK_CACHE), outside the repository.

VDISK_CACHE ?= $(HOME)/.cache/vdisk
export VDISK_CACHE
KDIR_612 := $(VDISK_CACHE)/6.12/build
KDIR_61 := $(VDISK_CACHE)/6.1/build
KDIR ?= $(KDIR_612)

.PHONY: all module modules-all userspace deps check check-full demo bench clean \
	install install-module install-userspace dkms-source install-dkms

all: module userspace

# The default kernel trees come from scripts/setup-deps; fetch them on first
# use so that a fresh clone builds with a plain "make".
$(KDIR_612) $(KDIR_61):
	scripts/setup-deps

deps:
	scripts/setup-deps

module: $(KDIR)
	scripts/build-module $(KDIR)

modules-all: $(KDIR_612) $(KDIR_61)
	scripts/build-module $(KDIR_612)
	scripts/build-module $(KDIR_61)

userspace:
	$(MAKE) -C userspace

check: deps
	$(MAKE) modules-all userspace
	scripts/check

check-full: deps
	$(MAKE) modules-all userspace
	scripts/check --full

demo: deps
	$(MAKE) module userspace
	scripts/demo

# scripts/bench [--quick] [--out DIR]: pass options as BENCH_ARGS="--quick"
bench: deps
	$(MAKE) module userspace
	scripts/bench $(BENCH_ARGS)

clean:
	rm -rf .build
	$(MAKE) -C userspace clean

# ---- installation --------------------------------------------------------
# Paths follow a local (non-packaged) install; a distribution package sets
# PREFIX=/usr UDEVDIR=/usr/lib/udev SYSTEMDUNITDIR=/usr/lib/systemd/system
# INITRAMFSDIR=/usr/share/initramfs-tools.  The module goes to
# /lib/modules/<release of KDIR>/updates; depmod runs when DESTDIR is empty.
VERSION		:= 0.1
PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
BASHCOMPDIR	?= $(PREFIX)/share/bash-completion/completions
UDEVDIR		?= $(PREFIX)/lib/udev
UDEVRULESDIR	?= /etc/udev/rules.d
SYSTEMDUNITDIR	?= $(PREFIX)/lib/systemd/system
INITRAMFSDIR	?= /etc/initramfs-tools
DKMSSRCDIR	?= /usr/src/vdisk-$(VERSION)
INSTALL		?= install
KREL		= $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' $(KDIR)/include/generated/utsrelease.h)

install: install-module install-userspace

install-module: module
	$(INSTALL) -D -m 0644 .build/$(KREL)/vdisk.ko \
		$(DESTDIR)/lib/modules/$(KREL)/updates/vdisk.ko
	$(if $(DESTDIR),,depmod -a $(KREL))

install-userspace: userspace
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) \
		SBINDIR=$(SBINDIR) MANDIR=$(MANDIR)
	$(INSTALL) -D -m 0755 packaging/systemd/vdtab $(DESTDIR)$(SBINDIR)/vdtab
	$(INSTALL) -D -m 0644 packaging/bash-completion/vdattach \
		$(DESTDIR)$(BASHCOMPDIR)/vdattach
	$(INSTALL) -D -m 0755 packaging/udev/vdisk_id $(DESTDIR)$(UDEVDIR)/vdisk_id
	$(INSTALL) -d $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|@VDISK_ID@|$(UDEVDIR)/vdisk_id|g' packaging/udev/60-vdisk.rules.in \
		> $(DESTDIR)$(UDEVRULESDIR)/60-vdisk.rules
	sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/systemd/vdtab.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/vdtab.service
	$(INSTALL) -D -m 0755 packaging/initramfs-tools/hooks/vdisk \
		$(DESTDIR)$(INITRAMFSDIR)/hooks/vdisk
	$(INSTALL) -D -m 0755 packaging/initramfs-tools/scripts/local-top/vdisk \
		$(DESTDIR)$(INITRAMFSDIR)/scripts/local-top/vdisk

# What DKMS builds from: Kbuild, the driver and its uapi header, dkms.conf.
dkms-source:
	rm -rf $(DESTDIR)$(DKMSSRCDIR)
	$(INSTALL) -d $(DESTDIR)$(DKMSSRCDIR)/drivers/block/vdisk \
		$(DESTDIR)$(DKMSSRCDIR)/include/uapi/linux
	$(INSTALL) -m 0644 Kbuild dkms.conf $(DESTDIR)$(DKMSSRCDIR)/
	$(INSTALL) -m 0644 drivers/block/vdisk/Kconfig drivers/block/vdisk/Makefile \
		drivers/block/vdisk/*.[ch] $(DESTDIR)$(DKMSSRCDIR)/drivers/block/vdisk/
	$(INSTALL) -m 0644 include/uapi/linux/vdisk.h $(DESTDIR)$(DKMSSRCDIR)/include/uapi/linux/

install-dkms: dkms-source
	dkms add -m vdisk -v $(VERSION)
	dkms build -m vdisk -v $(VERSION)
	dkms install -m vdisk -v $(VERSION)
