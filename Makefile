# SPDX-License-Identifier: GPL-2.0
#
# vdisk - top-level build.  Kbuild (next to this file) describes the module
# for the kernel's build system; this Makefile drives it and everything
# else:
#
#   make              vdisk.ko for KDIR (default: the Debian 6.12 headers the
#                     test VM boots) and userspace/vdattach
#   make modules-all  vdisk.ko for both supported kernels (6.12 and 6.1)
#   make check        every test layer; last line "N passed, N failed"
#   make demo         boots a VM and walks through the main job
#   make bench        the benchmark (Documentation/benchmark.md);
#                     BENCH_ARGS="--quick" for the short CI mode
#   make clean
#
# Module objects go to .build/<kernel release>/ (see scripts/build-module);
# the kernels and headers live in $(VDISK_CACHE), outside the repository.

VDISK_CACHE ?= $(HOME)/.cache/vdisk
export VDISK_CACHE
KDIR_612 := $(VDISK_CACHE)/6.12/build
KDIR_61 := $(VDISK_CACHE)/6.1/build
KDIR ?= $(KDIR_612)

.PHONY: all module modules-all userspace deps check demo bench clean

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
