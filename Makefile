# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of ovpn-dco-v2.ko (Rust + a thin C shim).
#
#   make [KERNEL_SRC=/path/to/built/kernel]   build the module
#   make install                              install into updates/, depmod
#   make rust-prepare                         a headers tree without Rust artefacts:
#                                             rebuild them from the kernel's source
#   make clean
#   make tests                                build the host tools (tests/)
#   make check                                run every test (tests/run-all.sh)
#   make bench                                the side-by-side benchmark in the VM
#                                             (tests/bench/bench.sh; BENCH_ARGS=--smoke ...)
#
# Any other variable (V=1, CLIPPY=1, ...) is passed to the kernel's build.

PWD := $(shell pwd)
KERNEL_SRC ?= /lib/modules/$(shell uname -r)/build
KREL := $(shell cat $(KERNEL_SRC)/include/config/kernel.release 2>/dev/null)

# LLVM for clang-built kernels only, the version that built the kernel
# (bindgen's libclang must match it); a GCC-built kernel needs no clang
# binary.  LLVM=... on the command line wins.
kconfig = $(shell sed -n 's/^$(1)=//p' $(KERNEL_SRC)/.config 2>/dev/null)
ifeq ($(call kconfig,CONFIG_CC_IS_CLANG),y)
LLVM ?= -$(shell expr $(call kconfig,CONFIG_CLANG_VERSION) / 10000)
else
LLVM :=
endif
export LLVM

# A distribution's headers tree has no Rust artefacts (rust/*.rmeta):
# `make rust-prepare` rebuilds them from the kernel's source into a kdir
# under RUST_CACHE, keyed by the release and a hash of the kernel's
# .config and Module.symvers, and the module is then built in that kdir.
ifeq ($(shell id -u),0)
RUST_CACHE ?= /var/cache/ovpn-dco
else
RUST_CACHE ?= $(HOME)/.cache/ovpn-dco
endif
KERNEL_SOURCE ?=
has_rust = $(wildcard $(KERNEL_SRC)/rust/libkernel.rmeta)
rust_key = $(shell cat $(KERNEL_SRC)/.config $(KERNEL_SRC)/Module.symvers 2>/dev/null | sha256sum | cut -c1-12)
RUST_KDIR = $(RUST_CACHE)/$(KREL)-$(rust_key)
KBUILD_DIR = $(if $(has_rust),$(KERNEL_SRC),$(RUST_KDIR))

all: modules

# `make rust-prepare modules` (dkms.conf) prepares first.
check-kernel: $(filter rust-prepare,$(MAKECMDGOALS))
	@if [ ! -f "$(KERNEL_SRC)/Makefile" ]; then \
		echo "ovpn-dco: no kernel build tree at KERNEL_SRC=$(KERNEL_SRC)." >&2; \
		echo "ovpn-dco: install the kernel's headers (Debian: linux-headers-$$(uname -r))" >&2; \
		echo "ovpn-dco: or pass KERNEL_SRC=/path/to/a/built/kernel." >&2; \
		exit 1; fi
	@if ! grep -qs '^CONFIG_RUST=y' "$(KERNEL_SRC)/.config" "$(KERNEL_SRC)/include/config/auto.conf"; then \
		echo "ovpn-dco: the kernel at $(KERNEL_SRC) has no Rust support (CONFIG_RUST=y)." >&2; \
		exit 1; fi
	@rel="$(KREL)"; \
	maj=$${rel%%.*}; min=$${rel#*.}; min=$${min%%[!0-9]*}; \
	case "$$maj$$min" in *[!0-9]* | "") ;; *) \
		if [ "$$maj" -lt 7 ] || { [ "$$maj" -eq 7 ] && [ "$$min" -lt 2 ]; }; then \
			echo "ovpn-dco: the kernel at $(KERNEL_SRC) is Linux $$rel; the module needs 7.2 or newer" >&2; \
			echo "ovpn-dco: (the oldest kernel its Rust side is built and checked against)." >&2; \
			exit 1; fi ;; esac
	@if [ -z "$(has_rust)" ] && [ ! -f "$(RUST_KDIR)/.ovpn-dco-prepared" ]; then \
		echo "ovpn-dco: $(KERNEL_SRC) lacks the kernel's Rust artefacts (rust/libkernel.rmeta):" >&2; \
		echo "ovpn-dco: distribution header packages ship none.  Run \`make rust-prepare\` once per" >&2; \
		echo "ovpn-dco: kernel (it needs the kernel's source; Debian: apt install linux-source-$$(echo $(KREL) | cut -d. -f1,2))," >&2; \
		echo "ovpn-dco: or build against the kernel's full build tree (KERNEL_SRC=...)." >&2; \
		exit 1; fi

rust-prepare:
	@if [ -n "$(has_rust)" ]; then \
		echo "ovpn-dco: $(KERNEL_SRC) has its Rust artefacts; nothing to prepare."; \
	elif [ -f "$(RUST_KDIR)/.ovpn-dco-prepared" ]; then \
		echo "ovpn-dco: prepared already: $(RUST_KDIR)"; \
	else \
		$(CURDIR)/tools/rust-prepare.sh "$(KERNEL_SRC)" "$(RUST_KDIR)" $(KERNEL_SOURCE); fi

modules: check-kernel
	$(MAKE) -C $(KBUILD_DIR) M=$(PWD) modules

# A kernel built with module signing signs on install; without its key
# (a distribution's kernel) the module is installed unsigned, quietly.
# A headers tree has no System.map, so kbuild skips depmod: run it here.
sig_key = $(call kconfig,CONFIG_MODULE_SIG_KEY)
install: check-kernel
	$(MAKE) -C $(KBUILD_DIR) M=$(PWD) INSTALL_MOD_DIR=updates \
		$(if $(wildcard $(KBUILD_DIR)/$(subst ",,$(sig_key)) $(subst ",,$(sig_key))),,CONFIG_MODULE_SIG_ALL=) \
		modules_install
	$(if $(wildcard $(KBUILD_DIR)/System.map),,depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) -a $(KREL))

clean:
	@if [ -f "$(KBUILD_DIR)/Makefile" ]; then $(MAKE) -C $(KBUILD_DIR) M=$(PWD) clean; fi
	rm -f src/abstractions/bindings_generated.rs src/abstractions/.bindings_generated.rs.cmd \
		src/abstractions/bindings_ovpn_generated.rs src/abstractions/.bindings_ovpn_generated.rs.cmd

tests:
	cargo build --release --workspace

check:
	tests/run-all.sh

# Long fuzzing: every protocol-core target for 10M executions (`make
# check` runs each for 20 s).
fuzz:
	tests/fuzz.sh runs $(or $(FUZZ_RUNS),10000000)

# Not part of `make check` (it takes long); its smoke mode is.
bench:
	tests/bench/bench.sh $(BENCH_ARGS)

.PHONY: all check-kernel rust-prepare modules install clean tests check fuzz bench
