#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs inside the full-stack guest, chrooted into the host's root (booted by
# tests/vm/stack and scripts/demo through tests/vm/lib.sh): one Slurm node
# "n1" on the REAL msr-safe module.
#
# Environment (through the initramfs): MSR_STACK_MODE (demo | test),
# MSR_STACK_KO (the msr-safe.ko to load), MSR_VM_REPO, MSR_BUILD_DIR.
#
# Boots like a compute node: loads the module, installs the emulator's
# baseline (what msr-safe.service does), brings up lo and takes the
# slurm.conf NodeName as hostname.  Then starts munged, slurmctld and
# slurmd (the host's binaries) with every writable path under
# /run/msr-stack (tmpfs), the freshly built SPANK plugin from the build tree
# and the shipped emulator allowlists, and runs the scenarios, narrating
# each step.  Output is plain text: "== step" headings, indented command
# output, and one verdict per check, "ok - NAME" or "not ok - NAME: DETAIL";
# the host counts the verdicts.  MODE=test adds a restore failure injected
# in the module (needs a module built with MSR_SAFE_FAULT_INJECT=1).
set -u
mode=${MSR_STACK_MODE:?} ko=${MSR_STACK_KO:?} repo=${MSR_VM_REPO:?} build=${MSR_BUILD_DIR:?}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
# /init mounts a tmpfs on /run; every writable path of the node lives there.
mountpoint -q /run || mount -t tmpfs -o mode=0755 tmpfs /run

# Reuse the private-cluster helpers of tests/slurm (ports, munged,
# slurm.conf, waiting for node states); their paths all live under $T.
# shellcheck source=tests/slurm/lib.sh
source "$repo/tests/slurm/lib.sh"
T=/run/msr-stack
mkdir -p "$T"
MSR_BUILD_DIR=$build
PLUGIN_SO=$build/spank/.libs/msr_safe.so
MSRCTL=$build/msrsave/msrctl
MSRSAVE=$build/msrsave/msrsave
ALTOOL=$build/allowlists/msr-allowlist
BASELINE=$repo/allowlists/emulator/baseline
DEMO_OVERLAY=$repo/allowlists/emulator/profiles/demo
STATE=$T/state
DEV=/dev/cpu
# The registers the demo profile makes writable (TCG stores them).
DEMO_MSRS="0x402 0x403 0xc0000103"

# shellcheck source=tests/vm/tap.sh
source "$repo/tests/vm/tap.sh"
step() {
	echo "# t=${SECONDS}s"
	printf '\n== %s\n' "$*"
}
show() { sed 's/^/    /'; } # indent command output under its step
# lib.sh's die prints a summary line of its own; here a fatal error is a
# failed check and the end of the run.
die() {
	bad "fatal" "$*"
	finish
}
finish() {
	echo "# stack: $passed passed, $failed failed"
	cleanup >/dev/null 2>&1
	echo "    stopped; the guest powers off"
	exit $((failed > 0))
}

# values MSR: "cpu N: 0x..." lines for every CPU, as msrctl prints them.
values() { "$MSRCTL" read "$1" 2>&1; }
# all_values: every demo MSR on every CPU, one "MSR cpu N: 0x..." line each.
all_values() {
	local m
	for m in $DEMO_MSRS; do values "$m" | sed "s/^/$m /"; done
}
last_job() {
	scontrol -o show job 2>/dev/null | sed -n 's/^JobId=\([0-9]*\) .*/\1/p' | sort -n | tail -1
}
node_reason() { sinfo -h -N -n n1 -o %E 2>/dev/null | head -1; }
# The archive of job ID (newest if several).
# (Names start with a UTC stamp, so the last in glob order is the newest.)
archive_of() {
	local f last=''
	for f in "$STATE"/archive/*-job"$1"-*.json; do
		[ -f "$f" ] && last=$f
	done
	echo "$last"
}
audit_of() { grep -F "\"job\": \"$1\"" "$STATE/audit.log" 2>/dev/null || grep -F "\"job\":\"$1\"" "$STATE/audit.log"; }
# Jobs are bounded: a hang fails the scenario, not the whole boot.
run_srun() { timeout 180 srun "$@"; }

for f in "$PLUGIN_SO" "$MSRCTL" "$MSRSAVE" "$ALTOOL" "$BASELINE" "$DEMO_OVERLAY"; do
	[ -e "$f" ] || die "missing $f"
done

# ---- the node boots: module, baseline, network, name ---------------------
if ! insmod "$ko" 2>"$T/insmod.err"; then
	bad "insmod $ko" "$(cat "$T/insmod.err")"
	finish
fi
ip link set lo up || bad "ip link set lo up"
# glibc's AI_ADDRCONFIG (Slurm's getaddrinfo) answers nothing while the
# only IPv4 address is 127.0.0.1: one more address on lo, inside the guest.
ip addr add 10.213.0.1/32 dev lo || bad "ip addr add 10.213.0.1/32 dev lo"
hostname n1
# slurmd 22.05 refuses to start without a cgroup file system; the same
# layout as the host's (v1 controllers on a tmpfs), guest-only.
if ! mountpoint -q /sys/fs/cgroup; then
	mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
	for c in cpuset memory devices freezer pids; do
		mkdir -p "/sys/fs/cgroup/$c"
		mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" || bad "mount cgroup $c"
	done
	mkdir -p /sys/fs/cgroup/systemd
	mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd ||
		bad "mount cgroup name=systemd"
fi
cpus=$(cd $DEV && for d in [0-9]*; do [ -d "$d" ] && echo "$d"; done | sort -n | tr '\n' ' ')
ncpus=$(wc -w <<<"$cpus")
step "Boot: Debian's kernel $(uname -r), $ncpus CPUs, msr-safe $(cat $DEV/msr_safe_version 2>/dev/null)"
echo "    The node's boot installs the baseline allowlist (what msr-safe.service does):"
echo "    every MSR the emulator implements may be read, none may be written."
if "$ALTOOL" install "$BASELINE" >"$T/install.out" 2>&1; then
	ok "baseline allowlist installed with msr-allowlist install"
else
	bad "baseline allowlist installed with msr-allowlist install" "$(cat "$T/install.out")"
fi
live=$(cat $DEV/msr_allowlist)
echo "    \$ cat /dev/cpu/msr_allowlist   (address, write mask; three per line here)"
head -1 <<<"$live" | show
tail -n +2 <<<"$live" | paste -d'\t' - - - | show
expected_baseline=$(grep -v '^#' "$BASELINE" | grep . | awk '{print toupper(substr($1,3)) " " toupper(substr($2,3))}')
eq "live allowlist is the emulator baseline (every mask 0)" \
	"$expected_baseline" "$(grep -v '^#' <<<"$live" | awk '{print toupper(substr($1,3)) " " toupper(substr($2,3))}')"

step "The registers the 'demo' profile will make writable, before any job"
# Distinct values per CPU (what earlier work might have left), so that a
# restore writing one CPU's value everywhere, or zeros, cannot pass.
echo "    root seeds distinct per-CPU values (baseline + demo briefly, then the baseline again):"
seeded=1
# (Written to the device directly, as the plugin does: msr-allowlist
# install lints emulator-only writable registers away.)
"$ALTOOL" merge "$BASELINE" "$DEMO_OVERLAY" >"$T/seed.al" &&
	cat "$T/seed.al" >$DEV/msr_allowlist || seeded=0
for c in $cpus; do
	"$MSRCTL" -c "$c" write 0x402 "$(printf 0x%X $((0x1000 + c)))" >/dev/null || seeded=0
	"$MSRCTL" -c "$c" write 0x403 "$(printf 0x%X $((0xA5A5000000000000 + c)))" >/dev/null || seeded=0
done
"$ALTOOL" install "$BASELINE" >"$T/seed.out" 2>&1 || { seeded=0; show <"$T/seed.out"; }
eq "per-CPU values seeded, baseline back" 1 "$seeded"
all_values >"$T/orig.txt"
show <"$T/orig.txt"
eq "every demo MSR readable on every CPU ($ncpus x 3 values)" "$((ncpus * 3))" \
	"$(grep -c ': 0x' "$T/orig.txt")"

# ---- Slurm: munged, slurmctld, slurmd, all under /run -------------------
step "Starting munged, slurmctld and slurmd (node n1) on the real /dev/cpu"
mkdir -p "$T/log" "$T/ctld" "$T/job"
chmod 0755 "$T/job"
pick_ports
SLURM_NODE_CPUS=$ncpus
SLURM_PARTITIONS="PartitionName=debug Nodes=n1 Default=YES MaxTime=INFINITE State=UP
PartitionName=tune Nodes=n1 MaxTime=INFINITE State=UP"
EXTRA_SLURM_CONF="PrologEpilogTimeout=120"
write_slurm_conf
cat >"$T/msr-safe.conf" <<EOF
# msr-safe site configuration of the emulated node (format: slurm-conf/msr-safe.conf.example)
DeviceDir=$DEV
StateDir=$STATE
Baseline=$BASELINE
KeepArchives=50
LockTimeout=60
Profile=demo Overlays=$DEMO_OVERLAY Description="emulator demo: MC0_ADDR, MC0_MISC, TSC_AUX low 32 bits writable"
Partition=debug Profiles=default Default=default
Partition=tune Profiles=default,demo Default=default
EOF
echo "required $PLUGIN_SO config=$T/msr-safe.conf" >"$T/plugstack.conf"
chmod 0644 "$T/msr-safe.conf" "$T/plugstack.conf" "$T/slurm.conf"
export SLURM_CONF=$T/slurm.conf
echo "    plugstack.conf: required msr_safe.so config=$T/msr-safe.conf"
grep -E '^(Profile|Partition)=' "$T/msr-safe.conf" | sed 's/ Overlays=[^ ]*//' | show
t0=$SECONDS
start_munge
slurmctld -D -f "$T/slurm.conf" >>"$T/log/slurmctld.out" 2>&1 &
PIDS+=($!)
wait_for 120 scontrol ping || die "slurmctld did not answer: $(tail -5 "$T/log/slurmctld.log" 2>&1)"
start_slurmd n1 ""
# Until idle, or until slurmd gives up (its log says why).
deadline=$((SECONDS + 180))
# shellcheck disable=SC2154 # set by start_slurmd through eval
while [ $SECONDS -lt $deadline ] && ! node_is n1 idle && kill -0 "$SLURMD_PID_n1" 2>/dev/null; do
	sleep 0.5
done
if node_is n1 idle; then
	ok "node n1 idle with the plugin loaded ($((SECONDS - t0)) s from munged to idle)"
else
	bad "node n1 idle" "$(sinfo -N 2>&1; tail -5 "$T/log/slurmd-n1.log" 2>&1)"
	finish
fi
sinfo -o '%P %a %D %T %N' | show

# ---- a job with the demo profile changes MSRs on every CPU ---------------
step "srun -p tune --msr-profile=demo: the job changes MSRs on every CPU with msrctl"
cat >"$T/job/change.sh" <<EOF
#!/bin/bash
set -u
echo "inside job \$SLURM_JOB_ID on \$(hostname): the live allowlist (baseline + demo)"
grep -E '^0x' $DEV/msr_allowlist | grep -v ' 0x0000000000000000' | sed 's/^/  /'
echo "\$ msrctl write 0x402 0x00000000DEADBEEF"
$MSRCTL write 0x402 0x00000000DEADBEEF
echo "\$ msrctl write 0x403 0x1234567890ABCDEF"
$MSRCTL write 0x403 0x1234567890ABCDEF
echo "\$ msrctl write 0xc0000103 0xFFFFFFFFFFFFFFFF   (only the low 32 bits are writable)"
$MSRCTL write 0xc0000103 0xFFFFFFFFFFFFFFFF
echo "\$ msrctl write 0x1a0 0x1   (MISC_ENABLE: read-only even in this profile)"
$MSRCTL write 0x1a0 0x1 && echo "UNEXPECTED: write to 0x1a0 succeeded"
echo "values inside the job:"
for m in $DEMO_MSRS; do $MSRCTL read \$m | sed "s/^/  \$m /"; done
EOF
chmod 0755 "$T/job/change.sh"
out=$(cd "$T/job" && run_srun -p tune --msr-profile=demo -N1 -n1 "$T/job/change.sh" 2>&1)
rc=$?
show <<<"$out"
job=$(last_job)
eq "profile job exited 0" 0 "$rc"
for c in $cpus; do
	has "job wrote MC0_ADDR on cpu $c" "$out" "0x402 cpu $c: 0x00000000DEADBEEF"
	has "job wrote MC0_MISC on cpu $c" "$out" "0x403 cpu $c: 0x1234567890ABCDEF"
	has "job's TSC_AUX write kept to the mask on cpu $c" "$out" "0xc0000103 cpu $c: 0x00000000FFFFFFFF"
done
has "0x1a0 write refused inside the job" "$out" "msrctl: 0x1A0 on cpu"
if grep -q UNEXPECTED <<<"$out"; then bad "0x1a0 not writable" "$out"; fi

step "After job $job: the epilog restored every value and put the baseline back"
wait_node_settled n1 120 >/dev/null 2>&1
all_values >"$T/after.txt"
show <"$T/after.txt"
if cmp -s "$T/orig.txt" "$T/after.txt"; then
	ok "every demo MSR on every CPU is bit-exactly its value before the job"
else
	bad "values after the job equal the originals" "$(diff "$T/orig.txt" "$T/after.txt" | tr '\n' '|')"
fi
eq "allowlist back to the baseline" "$expected_baseline" \
	"$(grep -v '^#' $DEV/msr_allowlist | awk '{print toupper(substr($1,3)) " " toupper(substr($2,3))}')"
eq "node n1 idle after the job" idle "$(node_state n1)"
echo "    the audit log (StateDir/audit.log) for job $job:"
audit=$(audit_of "$job")
show <<<"$audit"
epilog=$(grep '"event": *"epilog"' <<<"$audit" | tail -1)
eq "audit: epilog outcome for job $job" restored "$(jq -r .outcome <<<"$epilog" 2>&1)"
eq "audit: profile demo" demo "$(jq -r .profile <<<"$epilog" 2>&1)"
eq "audit: no restore failures" 0 "$(jq -r '.failures' <<<"$epilog" 2>&1)"

# ---- a profile the partition does not permit ----------------------------
# No -p: with the partition on its command line srun itself refuses (no
# job); here the prolog must, in the default partition debug.
step "srun --msr-profile=demo (default partition debug, which does not permit demo)"
out=$(cd "$T/job" && run_srun --msr-profile=demo -N1 -n1 "$MSRCTL" read 0x402 2>&1)
rc=$?
show <<<"$out"
if [ "$rc" -ne 0 ]; then ok "refused job's step failed (exit $rc)"; else bad "refused job's step failed" "exit 0"; fi
has "the user sees why" "$out" "msr-safe: profile 'demo' is not permitted in partition 'debug'; permitted: default"
rjob=$(last_job)
rprolog=$(audit_of "$rjob" | grep '"event": *"prolog"' | tail -1)
echo "    the audit log for job $rjob:"
show <<<"$rprolog"
eq "audit: job $rjob's request refused, partition default installed" "demo refused default" \
	"$(jq -r '"\(.requested) \(.outcome) \(.profile)"' <<<"$rprolog" 2>&1)"
wait_node_settled n1 120 >/dev/null 2>&1
eq "node n1 stays up (idle, not drained)" idle "$(node_state n1)"
eq "no restore failure marker" "" "$(ls "$STATE"/FAILED-* 2>/dev/null)"

# ---- the operator's view -------------------------------------------------
archive=$(archive_of "$job")
step "The operator's view: msrsave show ${archive#"$STATE"/}"
if [ -f "$archive" ]; then
	"$MSRSAVE" show "$archive" 2>&1 | show
	result=$(jq -r .outcome.result "$archive" 2>&1)
	eq "archive result" restored "$result"
	# What the job changed: every demo MSR on every CPU, saved = the value
	# before the job, found = what the job left (TSC_AUX: low 32 bits).
	expected=$(while read -r m _ c v; do
		case $m in
		0x402) f=0x00000000deadbeef ;;
		0x403) f=0x1234567890abcdef ;;
		*) f=$(printf '0x%016x' $(((v & ~0xffffffff) | 0xffffffff))) ;;
		esac
		printf '%d 0x%08x %s %s\n' "${c%:}" "$m" "$(tr 'A-F' 'a-f' <<<"$v")" "$f"
	done <"$T/orig.txt" | sort)
	eq "archive: every cpu/msr the job changed, saved and found values" "$expected" \
		"$(jq -r '.outcome.changed[] | "\(.cpu) \(.msr) \(.saved) \(.found)"' "$archive" 2>&1 | sort)"
	eq "archive: no restore failures" 0 "$(jq '.outcome.failures | length' "$archive" 2>&1)"
else
	bad "job $job archived" "no $STATE/archive/*-job$job-*.json in: $(ls "$STATE/archive" 2>&1)"
fi

# ---- test only: a restore that fails in the real module ------------------
if [ "$mode" = test ]; then
	step "A restore that fails in the module (inject_eio_msr=0x402, writes only)"
	P=/sys/module/msr_safe/parameters
	if [ -w "$P/inject_eio_msr" ]; then
		ok "module has fault injection"
		cat >"$T/job/inject.sh" <<EOF
#!/bin/bash
$MSRCTL write 0x402 0x0000000000C0FFEE
echo 1 >$P/inject_eio_writes_only
echo 0x402 >$P/inject_eio_msr
echo "injected: EIO on every write of 0x402 from now on"
EOF
		chmod 0755 "$T/job/inject.sh"
		out=$(cd "$T/job" && run_srun -p tune --msr-profile=demo -N1 -n1 "$T/job/inject.sh" 2>&1)
		show <<<"$out"
		fjob=$(last_job)
		wait_node_settled n1 120 >/dev/null 2>&1
		eq "node drained after the failed restore" drained "$(node_state n1)"
		has "drain reason" "$(node_reason)" "Epilog error"
		sinfo -R | show
		if [ -f "$STATE/snapshot.json" ]; then ok "snapshot kept"; else bad "snapshot kept" "no $STATE/snapshot.json"; fi
		marker=$STATE/FAILED-job$fjob
		if [ -f "$marker" ]; then
			ok "failure marker FAILED-job$fjob left"
			show <"$marker"
			has "marker names MSR 0x402" "$(tr 'a-f' 'A-F' <"$marker")" "402"
		else
			bad "failure marker FAILED-job$fjob left" "$(ls "$STATE")"
		fi
		v=$(values 0x402 | head -1)
		has "0x402 still holds the job's value (restore failed)" "$v" "0x0000000000C0FFEE"
		# Operator fixes the cause and resumes: the next prolog restores
		# the kept snapshot before anything else.
		echo 0 >"$P/inject_eio_msr"
		echo 0 >"$P/inject_eio_writes_only"
		scontrol update nodename=n1 state=resume
		wait_for 60 node_is n1 idle
		out=$(cd "$T/job" && run_srun -p debug -N1 -n1 true 2>&1)
		eq "next job after resume runs (exit 0)" "0" "$?"
		wait_node_settled n1 120 >/dev/null 2>&1
		all_values >"$T/recovered.txt"
		if cmp -s "$T/orig.txt" "$T/recovered.txt"; then
			ok "next prolog restored the kept snapshot bit-exactly"
		else
			bad "next prolog restored the kept snapshot" "$(diff "$T/orig.txt" "$T/recovered.txt" | tr '\n' '|')"
		fi
		eq "node idle after recovery" idle "$(node_state n1)"
		has "audit: recovery event" "$(cat "$STATE/audit.log")" '"recovery"'
	else
		bad "module has fault injection" "no writable $P/inject_eio_msr"
	fi
fi

step "A StateDir on a network filesystem (this guest's / is the host's 9p share)"
# Issue 11 item 7, on a real network mount: 9p2000.L reports the host's
# f_type, so only the mount table tells; refused unless the path has %n.
out=$("$build/spank/msr-safe-config" "$T/msr-safe.conf" state_dir=/var/tmp/msr-safe-shared 2>&1)
eq "msr-safe-config refuses StateDir on 9p (exit 1)" "1" "$?"
has "refusal names the filesystem" "$out" "network filesystem (9p)"
"$build/spank/msr-safe-config" "$T/msr-safe.conf" state_dir=/var/tmp/%n/msr-safe >/dev/null 2>&1
eq "msr-safe-config accepts a per-node (%n) StateDir on 9p" "0" "$?"
"$build/spank/msr-safe-config" "$T/msr-safe.conf" >/dev/null 2>&1
eq "msr-safe-config accepts the node's tmpfs StateDir" "0" "$?"

step "Stopping slurmd, slurmctld and munged"
finish
