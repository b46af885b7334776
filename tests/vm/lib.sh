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
#   MSR_SAFE_CACHE   where the kernel package is unpacked (default
#                    /var/cache/msr-safe); reused between runs
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
	for tool in qemu-system-x86_64 busybox cpio xz dpkg-deb apt-get gcc \
		make timeout flock; do
		command -v "$tool" >/dev/null ||
			{ vm_say "missing $tool: run scripts/deps"; return 1; }
	done
	# Not "busybox --list | grep -q": grep's early exit can SIGPIPE busybox,
	# and under pipefail that failed about one run in twelve.
	case " $(busybox --list | tr '\n' ' ') " in
	*" depmod "*) ;;
	*) vm_say "busybox has no depmod: install busybox-static"; return 1 ;;
	esac
	# A dynamic busybox names its ELF interpreter; the initramfs has no libc.
	if LC_ALL=C grep -qa '/ld-linux' "$(readlink -f "$(command -v busybox)")"; then
		vm_say "busybox is not static: install busybox-static"
		return 1
	fi
}

_vm_fetch_kernel() {
	local tmp off pkgver
	pkgver=$(dpkg-query -W -f='${Version}' "linux-headers-$VM_KVER")
	tmp=$(mktemp -d "$VM_CACHE/.fetch.XXXXXX")
	chmod 0755 "$tmp"
	vm_say "fetching linux-image-$VM_KVER=$pkgver into $VM_KCACHE"
	(cd "$tmp" && apt-get download -q "linux-image-$VM_KVER=$pkgver" >/dev/null 2>&1) ||
		(cd "$tmp" && apt-get download -q "linux-image-$VM_KVER-unsigned=$pkgver" >/dev/null 2>&1) ||
		{ rm -rf "$tmp"; vm_say "apt-get download linux-image-$VM_KVER=$pkgver failed"; return 1; }
	dpkg-deb -x "$tmp"/linux-image-*.deb "$tmp/root"
	rm -f "$tmp"/linux-image-*.deb
	cp "$tmp/root/boot/vmlinuz-$VM_KVER" "$tmp/vmlinuz"
	# qemu boots an uncompressed ELF vmlinux through PVH, skipping the XZ
	# decompression that costs several seconds under TCG.  (Via a file:
	# xz stops at the stream's end, which would SIGPIPE a pipeline.)
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$tmp/vmlinuz" | head -n1 | cut -d: -f1) || true
	if [ -n "$off" ] && tail -c +$((off + 1)) "$tmp/vmlinuz" >"$tmp/stream.xz" &&
		xz -dc --single-stream "$tmp/stream.xz" >"$tmp/vmlinux" 2>/dev/null &&
		[ "$(head -c4 "$tmp/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
		rm -f "$tmp/stream.xz"
	else
		rm -f "$tmp/stream.xz" "$tmp/vmlinux"
		vm_say "no XZ stream with an ELF inside $VM_KVER's bzImage: booting vmlinuz"
	fi
	busybox depmod -b "$tmp/root" "$VM_KVER"
	touch "$tmp/.complete"
	rm -rf "$VM_KCACHE"
	mv "$tmp" "$VM_KCACHE"
}

# Resolve the kernel the installed headers belong to and make sure its
# image is unpacked in the cache.  Sets VM_KVER (ABI), VM_KDIR (headers),
# VM_KERNEL (image to boot) and VM_MODROOT (its /lib/modules/ABI).
vm_kernel() {
	VM_KVER=$("$VM_REPO/scripts/kernel-abi") || return 1
	VM_KDIR=/usr/src/linux-headers-$VM_KVER
	[ -f "$VM_KDIR/Makefile" ] ||
		{ vm_say "$VM_KDIR missing: run scripts/deps"; return 1; }
	VM_KCACHE=$VM_CACHE/kernel-$VM_KVER
	mkdir -p "$VM_CACHE"
	(
		flock 9
		if [ ! -f "$VM_KCACHE/.complete" ] ||
			[ ! -f "$VM_KCACHE/root/lib/modules/$VM_KVER/modules.dep" ]; then
			_vm_fetch_kernel
		fi
	) 9>"$VM_CACHE/.lock" || return 1
	VM_KERNEL=$VM_KCACHE/vmlinuz
	[ -f "$VM_KCACHE/vmlinux" ] && VM_KERNEL=$VM_KCACHE/vmlinux
	VM_MODROOT=$VM_KCACHE/root/lib/modules/$VM_KVER
}

# vm_build_module SRC DEST [kbuild variables...]: build msr-safe.ko from
# the sources in SRC into DEST (needs vm_kernel); any compiler warning fails.
vm_build_module() {
	local src=$1 dest=$2
	shift 2
	[ -f "$src/Kbuild" ] || { vm_say "$src/Kbuild does not exist"; return 1; }
	mkdir -p "$dest"
	cp "$src"/*.c "$src"/*.h "$src/Kbuild" "$dest"/
	make -s -C "$VM_KDIR" M="$dest" "$@" modules >"$dest/build.log" 2>&1 ||
		{ cat "$dest/build.log" >&2; return 1; }
	[ -f "$dest/msr-safe.ko" ] || { vm_say "kbuild made no msr-safe.ko"; return 1; }
	if grep -E 'warning:|error:' "$dest/build.log" >&2; then return 1; fi
}

# vm_module_path NAME.ko: its path relative to VM_MODROOT (e.g. for msr.ko).
vm_module_path() {
	(cd "$VM_MODROOT" && find kernel -name "$1" | head -n1)
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
		rel=$(vm_module_path "$m")
		[ -n "$rel" ] || { vm_say "$m not found in $VM_MODROOT"; return 1; }
		_vm_add "$rel" || return 1
	done
	for rel in "${order[@]}"; do
		cp "$VM_MODROOT/$rel" "$dir/mods/"
		basename "$rel" >>"$dir/mods/order"
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
