# SPDX-License-Identifier: GPL-2.0-only
# The clean Debian 12 node root of tests/pkg/run, sourced by it: a
# debootstrapped bookworm with systemd, udev, Slurm, munge, dkms and the
# headers of the kernel the guest boots (plus that kernel's modules, copied
# from tests/vm/lib.sh's unpacked image, so no initramfs tool runs).  None
# of msr-safe is in it.  Built once per kernel ABI under $VM_CACHE
# (flock-protected) and copied for every run.
# shellcheck shell=bash

PKG_MIRROR=${PKG_MIRROR:-http://deb.debian.org/debian}

# pkg_base_root: sets PKG_BASE to the cached root for $VM_KVER (needs
# vm_kernel), debootstrapping it first if it is missing.
pkg_base_root() {
	PKG_BASE=$VM_CACHE/pkgroot-$VM_KVER
	(
		flock 9
		[ -f "$PKG_BASE/.complete" ] && exit 0
		_pkg_make_root
	) 9>"$VM_CACHE/pkgroot.lock"
}

_pkg_chroot() {
	local root=$1
	shift
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --bind /dev "$root/dev"
	mount --bind /dev/pts "$root/dev/pts"
	local rc=0
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 chroot "$root" "$@" || rc=$?
	umount "$root/dev/pts" "$root/dev" "$root/sys" "$root/proc"
	return "$rc"
}

_pkg_make_root() {
	local tmp pkgver
	pkgver=$(dpkg-query -W -f='${Version}' "linux-headers-$VM_KVER") || return 1
	tmp=$(mktemp -d "$VM_CACHE/.pkgroot.XXXXXX")
	chmod 0755 "$tmp"
	vm_say "debootstrapping a Debian 12 node root into $PKG_BASE (once per kernel)"
	debootstrap --variant=minbase \
		--include=systemd,systemd-sysv,udev,kmod,procps,adduser,ca-certificates \
		bookworm "$tmp" "$PKG_MIRROR" >"$tmp.log" 2>&1 ||
		{ tail -n 20 "$tmp.log" >&2; rm -rf "$tmp"; return 1; }
	# The same suites as the host, so the headers of the host's kernel ABI
	# (often from a point release or security) can be found.
	cp /etc/apt/sources.list.d/*.sources "$tmp/etc/apt/sources.list.d/" 2>/dev/null || true
	[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$tmp/etc/apt/"
	rm -f "$tmp"/etc/apt/sources.list.d/*.disabled*
	printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/locale/*\n' \
		>"$tmp/etc/dpkg/dpkg.cfg.d/01-pkgtest-nodoc"
	_pkg_chroot "$tmp" sh -c "apt-get -qq update && apt-get -y -qq --no-install-recommends install \
		slurmd slurmctld slurm-client munge dkms make gcc libc6-dev \
		linux-headers-$VM_KVER=$pkgver libjson-c5" >>"$tmp.log" 2>&1 ||
		{ tail -n 20 "$tmp.log" >&2; rm -rf "$tmp"; return 1; }
	_pkg_chroot "$tmp" apt-get clean
	# The guest kernel's modules (virtio, 9p, ...), as its package has them.
	mkdir -p "$tmp/lib/modules/$VM_KVER"
	cp -a "$VM_MODROOT/." "$tmp/lib/modules/$VM_KVER/"
	rm -f "$tmp.log"
	touch "$tmp/.complete"
	rm -rf "$PKG_BASE"
	mv "$tmp" "$PKG_BASE"
}
