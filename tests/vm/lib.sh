# SPDX-License-Identifier: GPL-2.0-only
# Booting Debian's kernel with msr-safe.ko under qemu TCG, shared by
# tests/vm/run, the full-stack test, scripts/demo and bench/run.  Source
# it; it defines functions and VM_* variables and runs nothing.
#
# The guest's /init (tests/vm/init) mounts the host's root read-only over
# virtio-9p at /host and runs one host script inside chroot /host, so
# programs from the build tree run unchanged.  Its output goes to the
# second serial port (DIR/results.txt); the kernel console to the first
# (DIR/console.txt).
#
#   MSR_SAFE_CACHE   where the kernels are unpacked (default
#                    /var/cache/msr-safe; scripts/kernels); reused between runs
#   VM_CPU           qemu -cpu model vm_boot emulates (default max; e.g.
#                    Skylake-Server or EPYC for a tool that checks the model)
# shellcheck shell=bash

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_REPO=$(cd "$VM_LIB_DIR/../.." && pwd)
VM_CACHE=${MSR_SAFE_CACHE:-/var/cache/msr-safe}

vm_say() { printf 'vm: %s\n' "$*" >&2; }

# Every host tool the boot path needs; says which one is missing.
vm_require_tools() {
	local tool
	for tool in qemu-system-x86_64 busybox cpio xz zstd dpkg-deb apt-get gcc \
		make timeout flock depmod; do
		command -v "$tool" >/dev/null ||
			{ vm_say "missing $tool: run scripts/deps"; return 1; }
	done
	# A dynamic busybox names its ELF interpreter; the initramfs has no libc.
	if LC_ALL=C grep -qa '/ld-linux' "$(readlink -f "$(command -v busybox)")"; then
		vm_say "busybox is not static: install busybox-static"
		return 1
	fi
}

# vm_kernel [LABEL]: make sure the kernel LABEL (scripts/kernels: 6.1,
# the default, 5.10, 6.12, sid) is fetched and unpacked in the cache, and
# set VM_KLABEL, VM_KVER (ABI), VM_KDIR (headers), VM_KMAKE (extra make
# arguments, an array), VM_KCHROOT (root to build in, empty for the host),
# VM_KERNEL (image to boot, empty when build-only) and VM_MODROOT (its
# /lib/modules/ABI).
# shellcheck disable=SC2034 # the VM_* variables are for the callers
vm_kernel() {
	local label=${1:-6.1} env
	env=$(MSR_SAFE_CACHE=$VM_CACHE "$VM_REPO/scripts/kernels" env "$label") ||
		{ vm_say "cannot fetch kernel $label"; return 1; }
	local KERNEL_LABEL KERNEL_ABI KERNEL_VERSION KERNEL_HEADERS
	local KERNEL_MAKE_ARGS KERNEL_CHROOT KERNEL_IMAGE KERNEL_MODROOT
	eval "$env"
	VM_KLABEL=$KERNEL_LABEL
	VM_KVER=$KERNEL_ABI
	VM_KVERSION=$KERNEL_VERSION
	VM_KDIR=$KERNEL_HEADERS
	read -r -a VM_KMAKE <<<"$KERNEL_MAKE_ARGS"
	VM_KCHROOT=$KERNEL_CHROOT
	VM_KERNEL=$KERNEL_IMAGE
	VM_MODROOT=$KERNEL_MODROOT
	[ -f "$VM_KCHROOT$VM_KDIR/Makefile" ] ||
		{ vm_say "$VM_KCHROOT$VM_KDIR has no Makefile"; return 1; }
}

# vm_build_module SRC DEST [kbuild variables...]: build msr-safe.ko from
# the sources in SRC into DEST (needs vm_kernel), with the kernel's own
# feature probes; any compiler warning fails.  In a build root
# (VM_KCHROOT) the build runs there, with that root's compiler.
vm_build_module() {
	local src=$1 dest=$2 dir inner rc=0
	shift 2
	[ -f "$src/Kbuild" ] || { vm_say "$src/Kbuild does not exist"; return 1; }
	mkdir -p "$dest"
	dir=$dest
	if [ -n "$VM_KCHROOT" ]; then
		dir=$(mktemp -d "$VM_KCHROOT/tmp/msr-safe-build.XXXXXX")
		inner=/tmp/${dir##*/}
	fi
	cp "$src"/*.c "$src"/*.h "$src"/*.sh "$src/Kbuild" "$dir"/
	if [ -n "$VM_KCHROOT" ]; then
		# objtool reads /proc: a private one, gone with the namespace.
		unshare --fork --pid --mount-proc="$VM_KCHROOT/proc" \
			chroot "$VM_KCHROOT" make -s -C "$VM_KDIR" M="$inner" \
			"${VM_KMAKE[@]}" "$@" modules >"$dest/build.log" 2>&1 || rc=$?
		cp "$dir"/msr-safe.ko "$dir"/msr_safe_probes.h "$dest"/ 2>/dev/null
		rm -rf "$dir"
	else
		make -s -C "$VM_KDIR" M="$dest" "${VM_KMAKE[@]}" "$@" modules \
			>"$dest/build.log" 2>&1 || rc=$?
	fi
	[ "$rc" -eq 0 ] || { cat "$dest/build.log" >&2; return 1; }
	[ -f "$dest/msr-safe.ko" ] || { vm_say "kbuild made no msr-safe.ko"; return 1; }
	if grep -E 'warning:|error:' "$dest/build.log" >&2; then return 1; fi
}

# vm_module_path NAME.ko: its path relative to VM_MODROOT (e.g. for msr.ko),
# compressed (NAME.ko.xz, 6.12) or not.
vm_module_path() {
	(cd "$VM_MODROOT" && find kernel \( -name "$1" -o -name "$1.xz" \
		-o -name "$1.zst" -o -name "$1.gz" \) | head -n1)
}

# vm_module_builtin NAME.ko: whether the kernel has it built in.
vm_module_builtin() {
	grep -q "/$1\$" "$VM_MODROOT/modules.builtin" 2>/dev/null
}

# vm_module_copy REL DIR: the module VM_MODROOT/REL into DIR, uncompressed
# (busybox insmod may not decompress).
vm_module_copy() {
	local rel=$1 dir=$2 name
	name=$(basename "$rel")
	case $name in
	*.ko.xz) xz -dc "$VM_MODROOT/$rel" >"$dir/${name%.xz}" ;;
	*.ko.zst) zstd -dcq "$VM_MODROOT/$rel" >"$dir/${name%.zst}" ;;
	*.ko.gz) gzip -dc "$VM_MODROOT/$rel" >"$dir/${name%.gz}" ;;
	*) cp "$VM_MODROOT/$rel" "$dir/$name" ;;
	esac
}

# vm_initramfs OUT GUEST_SCRIPT [VAR=VALUE...]: a busybox initramfs whose
# /init loads the 9p modules, mounts the host root at /host and runs
# "bash GUEST_SCRIPT" in chroot /host with the VAR=VALUE pairs in its
# environment.  The host paths must be the same inside the guest (they
# are: the whole root is shared).
vm_initramfs() {
	local out=$1 guest=$2 dir rel m
	shift 2
	dir=$(mktemp -d "${out%/*}/initramfs.XXXXXX")
	mkdir -p "$dir"/{bin,dev,proc,sys,host,mods}
	cp "$(command -v busybox)" "$dir/bin/busybox"
	# The 9p client, its transport and their dependencies, in load order.
	local -A seen=()
	local order=()
	_vm_add() {
		local line dep
		[ -n "${seen[$1]:-}" ] && return 0
		seen[$1]=1
		line=$(grep -m1 "^$1:" "$VM_MODROOT/modules.dep") ||
			{ vm_say "$1 not in modules.dep"; return 1; }
		for dep in ${line#*:}; do
			_vm_add "$dep" || return 1
		done
		order+=("$1")
	}
	for m in 9p.ko 9pnet_virtio.ko virtio_pci.ko; do
		vm_module_builtin "$m" && continue
		rel=$(vm_module_path "$m")
		[ -n "$rel" ] || { vm_say "$m not found in $VM_MODROOT"; return 1; }
		_vm_add "$rel" || return 1
	done
	for rel in "${order[@]}"; do
		vm_module_copy "$rel" "$dir/mods" || return 1
		rel=$(basename "$rel")
		echo "${rel%.ko*}.ko" >>"$dir/mods/order"
	done
	cp "$VM_LIB_DIR/init" "$dir/init"
	chmod 0755 "$dir/init"
	{
		printf 'guest=%q\n' "$guest"
		for m in "$@"; do
			printf 'export %q\n' "$m"
		done
	} >"$dir/env"
	(cd "$dir" && find . | cpio -o -H newc --quiet) >"$out"
	rm -rf "$dir"
}

# vm_boot DIR SMP MEM_MB TIMEOUT_S INITRD [kernel args...]: boot and wait
# for the guest to power off.  DIR gets console.txt (kernel log) and
# results.txt (the guest script's output).  Returns qemu's status (124 for
# a hang past the timeout).
vm_boot() {
	local dir=$1 smp=$2 mem=$3 limit=$4 initrd=$5 rc=0
	shift 5
	mkdir -p "$dir"
	timeout --foreground -k 5 "$limit" qemu-system-x86_64 \
		-machine pc -accel tcg -cpu "${VM_CPU:-max}" -smp "$smp" -m "$mem" \
		-display none -monitor none -no-reboot -nic none \
		-serial "file:$dir/console.log" -serial "file:$dir/results.log" \
		-kernel "$VM_KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 oops=panic loglevel=7 log_buf_len=8M $*" \
		-fsdev local,id=hostfs,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=hostfs,mount_tag=hostroot \
		</dev/null >"$dir/qemu.log" 2>&1 || rc=$?
	tr -d '\r' <"$dir/results.log" >"$dir/results.txt" 2>/dev/null
	tr -d '\r' <"$dir/console.log" >"$dir/console.txt" 2>/dev/null
	return "$rc"
}

# vm_scan_dmesg LOG: fails on any kernel warning, oops or leak report
# logged after the guest's "msr-safe-vm: begin" marker (boot-time noise of
# the emulated machine is not the module's).
vm_scan_dmesg() {
	local log=$1
	sed -n '/msr-safe-vm: begin/,$p' "$log" >"$log.after"
	[ -s "$log.after" ] || { vm_say "no begin marker in $log"; return 1; }
	if grep -nE 'WARNING|BUG|Oops|unreferenced object|general protection|[Ll]eak|Call Trace|RIP:|list_(add|del) corruption|refcount_t' \
		"$log.after" >&2; then
		return 1
	fi
	return 0
}
