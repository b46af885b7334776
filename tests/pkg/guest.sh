#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs on the booted package-installed node (pkgtest.service, after
# multi-user.target) as root; prints TAP-style "ok N - ..." lines on
# ttyS1 for tests/pkg/run, then powers the node off.
set -u
n=0
ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}
bad() {
	n=$((n + 1))
	echo "not ok $n - $*"
}
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
say() { echo "# $*"; }

kver=$(uname -r)
say "kernel $kver, $(grep -m1 'model name' /proc/cpuinfo)"

# --- the module, built by DKMS for this kernel and loaded by the unit ---
check "msr-safe.service is active" systemctl -q is-active msr-safe.service
say "$(dkms status msr-safe 2>&1)"
check "dkms status: msr-safe installed for $kver" \
	sh -c "dkms status msr-safe | grep '$kver.*: installed' >/dev/null"
path=$(modinfo -n msr-safe 2>/dev/null)
say "modinfo -n msr-safe: $path"
case $path in
/lib/modules/"$kver"/updates/dkms/msr-safe.ko*) ok "the module file is DKMS's, for $kver" ;;
*) bad "the module file is DKMS's, for $kver ($path)" ;;
esac
check "msr_safe is loaded" grep -q '^msr_safe ' /proc/modules

# --- the baseline, installed before slurmd started ---
baseline=$(msr-allowlist select 2>&1 | head -n 1)
say "msr-allowlist select: $baseline"
check "the live allowlist is this CPU's baseline" msr-allowlist diff "$baseline" @live
ready=$(systemctl show -p ActiveEnterTimestampMonotonic --value msr-safe.service)
slurmd_start=$(systemctl show -p ExecMainStartTimestampMonotonic --value slurmd.service)
say "msr-safe active at ${ready}us, slurmd started at ${slurmd_start}us (monotonic)"
if [ "${ready:-0}" -gt 0 ] && [ "${slurmd_start:-0}" -gt "$ready" ]; then
	ok "msr-safe.service finished before slurmd started"
else
	bad "msr-safe.service finished before slurmd started"
fi

# --- udev rules and the msr group ---
gid=$(getent group msr | cut -d: -f3)
if [ -n "$gid" ] && [ "$gid" -lt 1000 ]; then
	ok "the package created the system group msr ($gid)"
else
	bad "the package created the system group msr (${gid:-none})"
fi
for node in /dev/cpu/0/msr_safe /dev/cpu/1/msr_safe /dev/cpu/msr_batch; do
	got=$(stat -c '%U:%G %a' "$node" 2>&1)
	check "$node is root:msr 660 ($got)" test "$got" = "root:msr 660"
done
got=$(stat -c '%U:%G %a' /dev/cpu/msr_allowlist 2>&1)
check "/dev/cpu/msr_allowlist is root:root 600 ($got)" test "$got" = "root:root 600"
got=$(stat -c '%U:%G %a' /dev/cpu/msr_safe_version 2>&1)
check "/dev/cpu/msr_safe_version is root:root 444 ($got)" test "$got" = "root:root 444"
# One sysfs class (udev SUBSYSTEM) per kind of node: what the rules match.
for dev in msr_safe/msr_safe0 msr_batch/msr_batch msr_allowlist/msr_allowlist \
	msr_safe_version/msr_safe_version; do
	check "sysfs class ${dev%/*} holds ${dev#*/}" test -e "/sys/class/$dev"
done
check "alice (group msr) reads the TSC through msr_safe" \
	runuser -u alice -- sh -c 'msrctl -c 0 read 0x10 >/dev/null'
if runuser -u alice -- sh -c 'echo > /dev/cpu/msr_allowlist' 2>/dev/null; then
	bad "alice cannot write the allowlist"
else
	ok "alice cannot write the allowlist"
fi

# --- the plugin package's tools, on the site file ---
out=$(msr-safe-config -n node1 /etc/slurm/msr-safe.conf 2>&1)
say "msr-safe-config: $(echo "$out" | tr '\n' '|')"
check "msr-safe-config accepts the site file and finds its files" \
	grep -q ': ok$' <<<"$out"
check "msr-safe-slurm ships msr-safe-config(8) and msr-safe-state(8)" \
	sh -c 'dpkg -L msr-safe-slurm | grep -q "/man8/msr-safe-config.8" &&
		dpkg -L msr-safe-slurm | grep -q "/man8/msr-safe-state.8"'

# --- a job with --msr-profile, and the restore ---
# Up to 3 minutes, whatever each sinfo call costs under emulation.
deadline=$((SECONDS + 180))
while [ "$SECONDS" -lt "$deadline" ]; do
	[ "$(timeout 20 sinfo -h -n node1 -o %T 2>/dev/null)" = idle ] && break
	sleep 2
done
state=$(sinfo -h -n node1 -o %T 2>&1)
check "node1 is idle in Slurm ($state)" test "$state" = idle
# TSC_AUX is outside the baseline: root reads it under baseline + demo,
# then puts the baseline back.
tsc_aux() {
	msr-allowlist install --auto --profile /etc/msr-safe/emulator/profiles/demo >/dev/null &&
		msrctl -c 0 read 0xC0000103 2>&1
	msr-allowlist install --auto >/dev/null
}
before=$(tsc_aux)
say "TSC_AUX before the job: $before"
out=$(runuser -u alice -- timeout 120 srun -p tune --msr-profile=demo \
	sh -c 'msrctl -c 0 write 0xC0000103 0x1234 && msrctl -c 0 read 0xC0000103' 2>&1)
rc=$?
say "job output: $(echo "$out" | tr '\n' '|')"
check "the job with --msr-profile=demo ran (exit $rc)" test "$rc" -eq 0
check "inside the job TSC_AUX was written" \
	grep -q 'cpu 0: 0x0000000000001234' <<<"$out"
for _ in $(seq 60); do
	grep -qE '"event": ?"epilog"' /var/lib/msr-safe/audit.log 2>/dev/null && break
	sleep 1
done
epilog=$(grep -E '"event": ?"epilog"' /var/lib/msr-safe/audit.log 2>/dev/null | tail -n 1)
say "audit: $epilog"
check "the epilog restored what the job changed (audit.log)" \
	grep -qE '"outcome": ?"restored".*"changed": ?[1-9].*"failures": ?0' <<<"$epilog"
check "the baseline is live again" msr-allowlist diff "$baseline" @live
after=$(tsc_aux)
say "TSC_AUX after the job: $after"
check "TSC_AUX is back to its value before the job" test "$after" = "$before"
state=$(timeout 20 sinfo -h -n node1 -o %T 2>&1)
check "node1 is idle again, not drained ($state)" test "$state" = idle
out=$(msr-safe-state -n node1 show /etc/slurm/msr-safe.conf 2>&1)
say "msr-safe-state show: $(echo "$out" | tr '\n' '|')"
if grep -qx 'snapshot: none' <<<"$out" && ! grep -q '^marker' <<<"$out"; then
	ok "msr-safe-state show: no snapshot kept, no failure marker"
else
	bad "msr-safe-state show: no snapshot kept, no failure marker"
fi
say "slurmctld: $(systemctl is-active slurmctld) slurmd: $(systemctl is-active slurmd)"
echo "msr-safe-pkg: end"
