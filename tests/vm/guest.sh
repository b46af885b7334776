#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs inside the test guest, chrooted into the host's root (read-only 9p):
# the suite as root, then as an unprivileged user in the device group, the
# same way udev's rules would let a trusted user in, then (last, since it
# cannot be undone) under kernel lockdown.
# Environment (from tests/vm/run through the initramfs): MSR_VM_WORK,
# MSR_BUILD_DIR, MSR_VM_REPO, MSR_VM_MISSING.
set -u
work=$MSR_VM_WORK build=$MSR_BUILD_DIR repo=$MSR_VM_REPO
missing_cmds=${MSR_VM_MISSING:-}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export TMPDIR=/run/msr-vm
mkdir -p "$TMPDIR"
chmod 1777 "$TMPDIR"

echo "# guest: $(nproc) CPUs online, kernel $(uname -r)"
for c in $missing_cmds; do
	echo "# missing in the build tree: $build/$c"
done

quick=
grep -q 'msr_vm_quick=1' /proc/cmdline && quick=--quick
"$work/suite" --root $quick --ko "$work/module/msr-safe.ko" --repo "$repo" \
	--build "$build" --scratch "$TMPDIR" --merged "$work/merged"
echo "# root suite exited $?"

# The root run leaves the module loaded with the test allowlist and the
# device nodes owned root:MSR_GID as the udev rules would set them.
setpriv --reuid=65534 --regid=65534 --groups=4242 \
	"$work/suite" --unpriv --gid 4242 --repo "$repo" --build "$build" \
	--scratch "$TMPDIR"
echo "# unprivileged suite exited $?"

# Last: raise kernel lockdown (it cannot be lowered again in this boot) and
# check that every MSR write is refused while reads go on.
"$work/suite" --lockdown --repo "$repo" --build "$build" --scratch "$TMPDIR"
echo "# lockdown suite exited $?"
