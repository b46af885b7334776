#!/bin/bash
# Runs inside the LIKWID guest (booted by tests/vm/likwid through
# tests/vm/lib.sh with qemu -cpu Skylake-Server or EPYC), chrooted into the
# host's root: the host's Debian likwid, as an unprivileged user in the
# device group, through the real msr-safe module and the SHIPPED allowlists
# for the emulated model (baseline merged with one profile at a time).
#
# Environment (through the initramfs): MSR_LIKWID_KO (msr-safe.ko),
# MSR_LIKWID_LIST (the expected list name, e.g. al_06_55), MSR_VM_REPO,
# MSR_BUILD_DIR.
#
# Each tool runs under strace, which records every pread64/pwrite64 on the
# msr_safe nodes (the file offset is the MSR address), so a failure names
# the register.  Verdicts: "ok - NAME" / "not ok - NAME: DETAIL", then
# "# likwid: N passed, M failed".
set -u
ko=${MSR_LIKWID_KO:?} want=${MSR_LIKWID_LIST:?} repo=${MSR_VM_REPO:?} build=${MSR_BUILD_DIR:?}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
mountpoint -q /run || mount -t tmpfs -o mode=0755 tmpfs /run
T=/run/msr-likwid
mkdir -p "$T"
chmod 1777 "$T" # the unprivileged user writes its traces here
ALTOOL=$build/allowlists/msr-allowlist
AL=$repo/allowlists
SYS=/sys/kernel/msr_safe
GID=4242 # the device group udev's rules would name
USER_ID=4242

# shellcheck source=tests/vm/tap.sh
source "$repo/tests/vm/tap.sh"
finish() {
	echo "# likwid: $passed passed, $failed failed"
	exit $((failed > 0))
}
show() { sed 's/^/    /'; }
counter() { cat "$SYS/$1"; }

# strace lines look like: pwrite64(3, "...", 8, 1009) = -1 EACCES (...)
# msrs_of TRACE CALL RESULT: the distinct MSR addresses (hex) of CALL
# ending in RESULT ("ok" or "failed") on msr_safe descriptors.
msrs_of() {
	awk -v call="$2" -v want="$3" '
		$0 ~ "^[0-9]+ +" call "\\(" || $0 ~ "^" call "\\(" {
			line = $0
			sub(/^[0-9]+ +/, "", line)
			if (line !~ /msr_safe/) next
			failedcall = (line ~ /= -1 /)
			if ((want == "failed") != failedcall) next
			s = line
			sub(/\) += .*$/, "", s)
			n = split(s, f, ", ")
			printf "0x%X\n", f[n]
		}' "$1" | sort -u | tr '\n' ' '
}

for f in "$ALTOOL" "$ko"; do
	[ -e "$f" ] || {
		bad "setup" "missing $f"
		finish
	}
done
for c in likwid-perfctr likwid-powermeter likwid-features strace setpriv; do
	command -v "$c" >/dev/null || {
		bad "setup" "$c not installed on the host (scripts/deps)"
		finish
	}
done

echo "# guest: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo)"
if insmod "$ko" 2>"$T/insmod.err"; then ok "insmod msr-safe.ko"; else
	bad "insmod msr-safe.ko" "$(cat "$T/insmod.err")"
	finish
fi
# What the udev rules do for the users' group; the allowlist stays root's.
chgrp "$GID" /dev/cpu/*/msr_safe /dev/cpu/msr_batch
chmod 0660 /dev/cpu/*/msr_safe /dev/cpu/msr_batch

base=$("$ALTOOL" select --dir "$AL" 2>&1)
eq "msr-allowlist select picks $want for the emulated CPU" "$AL/$want" "$base"

# install_profile NAME: the shipped baseline merged with profile NAME
# (or the baseline alone for "baseline"), installed into the module.
install_profile() {
	local p=$1 overlay
	if [ "$p" = baseline ]; then
		cp "$base" "$T/list.$p"
	else
		# select prints the baseline's path, then the overlay's.
		overlay=$("$ALTOOL" select --dir "$AL" --profile "$p" 2>&1) || {
			bad "profile $p exists for $want" "$overlay"
			return 1
		}
		overlay=$(tail -n1 <<<"$overlay")
		"$ALTOOL" merge "$base" "$overlay" >"$T/list.$p" 2>"$T/merge.err" || {
			bad "merge $want + $p" "$(cat "$T/merge.err")"
			return 1
		}
	fi
	if "$ALTOOL" install "$T/list.$p" >"$T/install.out" 2>&1; then
		ok "install $want + $p"
	else
		bad "install $want + $p" "$(tr '\n' '|' <"$T/install.out")"
		return 1
	fi
}

# run_tool NAME PROFILE COMMAND...: run COMMAND as the unprivileged user
# under strace with PROFILE installed; check its exit status (0, or
# $want_rc), no ERROR line, no
# write refused (strace and the module's counters agree), and say which
# registers it wrote and which reads were refused.
run_tool() {
	local name=$1 prof=$2 rc=0 nd0 nr0 nd1 nr1 wfail rfail nrfail
	shift 2
	install_profile "$prof" || return
	nd0=$(counter denied_not_allowlisted)
	nr0=$(counter denied_read_only)
	(cd "$T" && setpriv --reuid=$USER_ID --regid=$GID --groups=$GID \
		--inh-caps=-all --bounding-set=-all \
		env HOME="$T" strace -f -qq --seccomp-bpf -e trace=openat,pread64,pwrite64 -y \
		-o "$T/$name.trace" "$@") >"$T/$name.out" 2>&1 || rc=$?
	nd1=$(counter denied_not_allowlisted)
	nr1=$(counter denied_read_only)
	echo "== $name ($prof): $*"
	show <"$T/$name.out"
	wfail=$(msrs_of "$T/$name.trace" pwrite64 failed)
	rfail=$(msrs_of "$T/$name.trace" pread64 failed)
	echo "# $name wrote: $(msrs_of "$T/$name.trace" pwrite64 ok)"
	echo "# $name read: $(msrs_of "$T/$name.trace" pread64 ok)"
	echo "# $name refused reads: ${rfail:-none}"
	eq "$name exits ${want_rc:-0}" "${want_rc:-0}" "$rc"
	if grep -q 'ERROR' "$T/$name.out"; then
		bad "$name prints no ERROR line" "$(grep -m3 ERROR "$T/$name.out" | tr '\n' '|')"
	else
		ok "$name prints no ERROR line"
	fi
	if grep -q 'msr_safe' "$T/$name.trace"; then
		ok "$name opened /dev/cpu/N/msr_safe"
	else
		bad "$name opened /dev/cpu/N/msr_safe" "no access in the trace"
	fi
	eq "$name: no write refused (strace)" "" "$wfail"
	eq "$name: module's denied_read_only unchanged" "$nr0" "$nr1"
	# Every not-allowlisted denial the module counted is a read strace
	# saw refused: so none of them was a write.
	nrfail=$(grep -cE '^([0-9]+ +)?pread64\(.*msr_safe.*= -1 EACCES' "$T/$name.trace")
	eq "$name: module's denied_not_allowlisted grew only by refused reads" \
		"$nrfail" "$((nd1 - nd0))"
}

vendor=$(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -n1)
run_tool perfctr-CLOCK perf likwid-perfctr -V 3 -M 0 -C 0 -g CLOCK -- /bin/true
run_tool perfctr-FLOPS_DP perf likwid-perfctr -M 0 -C 0 -g FLOPS_DP -- /bin/true
if [ "$vendor" = GenuineIntel ]; then
	run_tool powermeter power likwid-powermeter -V 3 -M 0 -s 1s
else
	# AMD's power limits are not MSRs: the read-only baseline serves it.
	run_tool powermeter baseline likwid-powermeter -V 3 -M 0 -s 1s
fi
if [ "$vendor" = GenuineIntel ]; then
	# likwid-features 5.2.2 has no -M: it always asks the access daemon.
	# This wrapper does what -M 0 does in likwid-perfctr (load the
	# configuration, which picks the daemon, then setAccessClientMode(0))
	# and runs the unchanged script with the same arguments.
	cat >"$T/features-direct.lua" <<'LUA'
package.path = '/usr/share/lua/?.lua;' .. package.path
local likwid = require("likwid")
likwid.getConfiguration()
likwid.setAccessClientMode(0)
dofile("/usr/bin/likwid-features")
LUA
	features=(lua5.3 "$T/features-direct.lua")
	# 5.2.2's -l ends in os.exit(1) after printing the table.
	want_rc=1 run_tool features-list prefetch "${features[@]}" -c 0 -l
	if grep -q '^HW_PREFETCHER *on' "$T/features-list.out"; then
		ok "features-list printed the prefetcher states"
	else
		bad "features-list printed the prefetcher states" "$(head -c 300 "$T/features-list.out" | tr '\n' '|')"
	fi
	run_tool features-disable prefetch "${features[@]}" -c 0 -d HW_PREFETCHER,CL_PREFETCHER
	run_tool features-enable prefetch "${features[@]}" -c 0 -e HW_PREFETCHER,CL_PREFETCHER
fi

# The module's last allowlist stays loaded; restore the plain baseline.
"$ALTOOL" install "$base" >/dev/null 2>&1
finish
