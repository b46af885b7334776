# SPDX-License-Identifier: GPL-2.0-only
# Shared by tests/slurm/run and tests/slurm/bench: a private Slurm cluster
# (munged, slurmctld, slurmds; optionally three nodes in network
# namespaces) with file-backed msr-safe device trees.  Source it; it only
# defines functions and variables.  Everything lives under $T (mktemp) and
# every daemon is stopped by PID from cleanup().
# shellcheck shell=bash

SLURM_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SLURM_TEST_DIR/../.." && pwd)
MSR_BUILD_DIR=${MSR_BUILD_DIR:-$REPO/build}
PLUGIN_SO=$MSR_BUILD_DIR/spank/.libs/msr_safe.so
MSRSAVE_BIN=$MSR_BUILD_DIR/msrsave/msrsave

T=
PIDS=()
NETNS=()
BRIDGE=
NNODES3=0

die() {
	echo "FATAL: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

# The test cluster's ports, fixed so a firewall rule or a collision can be
# reasoned about: MSR_SLURM_PORT_BASE (default 26810, below Linux's
# ephemeral range) is slurmctld's; slurmd listens on base+1 (bench runs
# four slurmds on base+1..base+4); srun uses base+20..base+119.  Nodes in
# network namespaces reuse the slurmd port there.
SLURM_PORT_BASE=${MSR_SLURM_PORT_BASE:-26810}

# port_holder PORT: who listens on PORT (TCP or UDP), or nothing.
port_holder() {
	ss -Hlntup "sport = :$1" 2>/dev/null | head -1 |
		sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p; t; s/.*/another process/p'
}

# pick_ports: set the port variables; die naming any port already in use.
pick_ports() {
	local base=$SLURM_PORT_BASE p who
	[[ $base =~ ^[0-9]+$ ]] && [ "$base" -ge 1024 ] && [ "$base" -le 65000 ] ||
		die "MSR_SLURM_PORT_BASE='$base' is not a port number in 1024..65000"
	for p in $(seq "$base" $((base + 4))) $(seq $((base + 20)) $((base + 119))); do
		who=$(port_holder "$p")
		[ -z "$who" ] ||
			die "port $p (test Slurm ports $base-$((base + 119))) is in use by $who: stop it, or set MSR_SLURM_PORT_BASE"
	done
	CTLD_PORT=$base
	SLURMD_PORT=$((base + 1))
	SRUN_PORTS="$((base + 20))-$((base + 119))"
}

# check_hostname: slurm.conf names this host (SlurmctldHost); a name that
# does not resolve makes slurmctld stall about 10 s per lookup, and slurmd
# 24.11 then keeps retrying a failed prolog-complete RPC, draining nodes.
check_hostname() {
	local name
	name=$(hostname -s)
	getent hosts "$name" >/dev/null ||
		die "host name '$name' does not resolve (getent hosts $name): add it to /etc/hosts, e.g. '127.0.1.1 $name'"
}

# A file-backed tree keeps MSR A's 8 bytes at offset A x 8 (libmsrsave's
# layout: adjacent MSRs never share bytes).
# msrval FILE MSR: the 8-byte little-endian value of MSR, as 0x%016x.
msrval() {
	local v
	v=$(od -An -tx8 -j "$(($2 * 8))" -N8 "$1" | tr -d ' \n')
	printf '0x%016x\n' "0x${v:-0}"
}

# msrset FILE MSR VALUE: write VALUE little endian as MSR's value.
msrset() {
	local v=$(($3)) bytes="" i
	for i in 0 1 2 3 4 5 6 7; do
		bytes+=$(printf '\\x%02x' $(((v >> (8 * i)) & 0xff)))
	done
	# shellcheck disable=SC2059
	printf "$bytes" | dd of="$1" bs=1 seek="$(($2 * 8))" conv=notrunc status=none
}

# canonical_list FILE: an allowlist as the device prints it back.
canonical_list() {
	local addr mask
	echo "# MSR # Write Mask # Comment"
	sed 's/#.*//' "$1" | while read -r addr mask; do
		[ -n "$addr" ] && printf '0x%08X 0x%016X\n' "$((addr))" "$((mask))"
	done
}

# make_devtree DIR NCPUS: a file-backed tree with distinct start values.
make_devtree() {
	local dir=$1 n=$2 c
	rm -rf "$dir"
	mkdir -p "$dir"
	for c in $(seq 0 $((n - 1))); do
		mkdir -p "$dir/$c"
		truncate -s 65536 "$dir/$c/msr_safe"
		msrset "$dir/$c/msr_safe" 0x199 $((0x1100 + c))
		msrset "$dir/$c/msr_safe" 0x402 $((0x4020 + c))
		msrset "$dir/$c/msr_safe" 0x410 $((0x4100 + c))
		msrset "$dir/$c/msr_safe" 0x610 $((0x6100 + c))
		msrset "$dir/$c/msr_safe" 0x10 $((0x123456 + c))
		chmod 0666 "$dir/$c/msr_safe"
	done
	# As the device shows it: header and canonical lines.
	canonical_list "$T/al/baseline" >"$dir/msr_allowlist"
	chmod 0755 "$dir" "$dir"/*
}

write_allowlists() {
	mkdir -p "$T/al"
	cat >"$T/al/baseline" <<-'EOF'
		# test baseline: TSC read-only, PERF_CTL low bits writable
		0x00000010 0x0000000000000000
		0x00000199 0x000000000000ffff
	EOF
	cat >"$T/al/perf" <<-'EOF'
		0x00000402 0xffffffffffffffff
		0x00000410 0x000000000000ffff
	EOF
	cat >"$T/al/power" <<-'EOF'
		0x00000610 0x0000000000ffffff
	EOF
	# Benchmarks: that many more writable MSRs in the baseline.
	local i
	for ((i = 0; i < ${EXTRA_WRITABLE_MSRS:-0}; i++)); do
		printf '0x%08X 0x%016X\n' $((0x1000 + 8 * i)) $((0xffff)) >>"$T/al/baseline"
	done
}

# write_msr_conf FILE: the site configuration used by the tests.
write_msr_conf() {
	cat >"$1" <<-EOF
		# msr-safe test configuration (tests/slurm)
		DeviceDir=$T/dev/default
		StateDir=$T/state/default
		Baseline=$T/al/baseline
		KeepArchives=8
		LockTimeout=30
		# test knob: a fake boot id the tests can change
		BootIdFile=$T/boot_id
		Profile=perf Overlays=$T/al/perf Description="performance tuning: MC0 address and misc registers"
		Profile=power Overlays=$T/al/power Description="power capping: package power limit"
		Profile=broken Overlays=$T/al/missing Description="an overlay file that does not exist"
		Partition=debug Profiles=default,perf Default=default
		Partition=batch Profiles=default,perf,power Default=perf
		Partition=other Profiles=default,broken Default=default
		Partition=DEFAULT Profiles=default,perf Default=default
	EOF
}

# write_slurm_conf: nodes n1 (host netns) and, with NNODES3=1, m1..m3.
# Slurm's default scheduler, sched/backfill (sites run it, and only it
# schedules heterogeneous jobs), with a 1 s pass so tests do not wait.
# SLURM_NODE_CPUS (default 2) and SLURM_PARTITIONS (PartitionName= lines
# replacing debug/batch/other) let tests/vm/stack-guest.sh reuse it.
write_slurm_conf() {
	local ctl_addr=127.0.0.1
	[ "$NNODES3" = 1 ] && ctl_addr=$BR_ADDR
	cat >"$T/slurm.conf" <<-EOF
		ClusterName=msrtest
		SlurmctldHost=$(hostname -s)($ctl_addr)
		SlurmctldPort=$CTLD_PORT
		SlurmdPort=$SLURMD_PORT
		SrunPortRange=$SRUN_PORTS
		AuthType=auth/munge
		CredType=cred/munge
		AuthInfo=socket=$T/munge/munge.sock
		SlurmUser=root
		SlurmdUser=root
		StateSaveLocation=$T/ctld
		SlurmdSpoolDir=$T/spool/%n
		SlurmctldPidFile=$T/ctld.pid
		SlurmdPidFile=$T/slurmd-%n.pid
		SlurmctldLogFile=$T/log/slurmctld.log
		SlurmdLogFile=$T/log/slurmd-%n.log
		SlurmdDebug=info
		SlurmctldDebug=info
		ProctrackType=proctrack/linuxproc
		TaskPlugin=task/none
		SelectType=select/cons_tres
		SelectTypeParameters=CR_CPU
		SchedulerType=sched/backfill
		SchedulerParameters=bf_interval=1
		PrologFlags=Alloc,Contain
		SlurmdParameters=config_overrides
		MailProg=/bin/true
		ReturnToService=2
		JobCompType=jobcomp/none
		AccountingStorageType=accounting_storage/none
		MpiDefault=none
		SlurmdTimeout=30
		MessageTimeout=10
		KillWait=2
		InactiveLimit=0
		PlugStackConfig=$T/plugstack.conf
		${EXTRA_SLURM_CONF:-}
		NodeName=n1 NodeAddr=127.0.0.1 CPUs=${SLURM_NODE_CPUS:-2} RealMemory=500 State=UNKNOWN
	EOF
	if [ "$NNODES3" = 1 ]; then
		echo "NodeName=m[1-3] NodeAddr=$NODE_ADDRS CPUs=2 RealMemory=500 State=UNKNOWN" >>"$T/slurm.conf"
	fi
	if [ -n "${SLURM_PARTITIONS:-}" ]; then
		printf '%s\n' "$SLURM_PARTITIONS" >>"$T/slurm.conf"
	else
		cat >>"$T/slurm.conf" <<-EOF
			PartitionName=debug Nodes=n1 Default=YES MaxTime=INFINITE State=UP
			PartitionName=batch Nodes=n1 MaxTime=INFINITE State=UP
			PartitionName=other Nodes=n1 MaxTime=INFINITE State=UP
		EOF
	fi
	if [ "$NNODES3" = 1 ]; then
		echo "PartitionName=multi Nodes=m[1-3] MaxTime=INFINITE State=UP" >>"$T/slurm.conf"
	fi
}

# Per-node plugstack arguments override the shared config's paths.
write_plugstack() {
	local so=$1
	if [ -z "$so" ]; then
		: >"$T/plugstack.conf"
		return
	fi
	echo "required $so config=$T/msr-safe.conf device_dir=$T/dev/%n state_dir=$T/state/%n" >"$T/plugstack.conf"
}

start_munge() {
	mkdir -p "$T/munge"
	chmod 0755 "$T/munge"
	dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
	chmod 0400 "$T/munge/munge.key"
	munged -F --force --key-file="$T/munge/munge.key" \
		--socket="$T/munge/munge.sock" --pid-file="$T/munge/munged.pid" \
		--log-file="$T/log/munged.log" --seed-file="$T/munge/seed" \
		>>"$T/log/munged.out" 2>&1 &
	PIDS+=($!)
	wait_for 10 test -S "$T/munge/munge.sock" || die "munged did not start"
}

# wait_for SECONDS CMD...: poll every 0.1 s.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $deadline ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

setup_netns() {
	local i ns
	BRIDGE=msb$$
	local octet net
	# A /24 no other interface (e.g. a concurrent run) uses.
	for _ in $(seq 1 50); do
		octet=$((RANDOM % 200 + 20))
		ip -4 -o addr show | grep -q " 10\.213\.$octet\." || break
	done
	BR_ADDR=10.213.$octet.1
	net=${BR_ADDR%.1}
	ip link add "$BRIDGE" type bridge || die "cannot create bridge"
	ip addr add "$BR_ADDR/24" dev "$BRIDGE"
	ip link set "$BRIDGE" up
	NODE_ADDRS=""
	for i in 1 2 3; do
		ns=msn$$m$i
		ip netns add "$ns" || die "cannot create netns $ns"
		NETNS+=("$ns")
		ip link add "msv$$m$i" type veth peer name eth0 netns "$ns"
		ip link set "msv$$m$i" master "$BRIDGE" up
		ip -n "$ns" addr add "$net.$((10 + i))/24" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" link set lo up
		NODE_ADDRS+="${NODE_ADDRS:+,}$net.$((10 + i))"
	done
}

start_slurmd() {
	local node=$1 ns=$2
	mkdir -p "$T/spool/$node"
	if [ -z "$ns" ]; then
		slurmd -D -N "$node" -f "$T/slurm.conf" >>"$T/log/slurmd-$node.out" 2>&1 &
	else
		nsenter --net="/run/netns/$ns" unshare --uts \
			sh -c "hostname $node; exec slurmd -D -N $node -f $T/slurm.conf" \
			>>"$T/log/slurmd-$node.out" 2>&1 &
	fi
	PIDS+=($!)
	eval "SLURMD_PID_$node=$!"
}

stop_slurmd() {
	local node=$1 pid
	eval "pid=\$SLURMD_PID_$node"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait_for 10 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

node_is() {
	[ "$(node_state "$1")" = "$2" ]
}

node_state() {
	sinfo -h -N -n "$1" -o %T 2>/dev/null | head -1
}

# wait_node_settled NODE: not completing, not allocated (idle/drained/down).
wait_node_settled() {
	local node=$1 deadline=$((SECONDS + ${2:-30})) s
	while [ $SECONDS -lt $deadline ]; do
		s=$(node_state "$node")
		case $s in
		idle | drained | down* | "drained*" | idle~) return 0 ;;
		esac
		sleep 0.1
	done
	echo "node $node did not settle (state $s)" >&2
	return 1
}

# start_cluster PLUGIN_SO_OR_EMPTY [three]
start_cluster() {
	local so=$1 node
	NNODES3=0
	[ "${2:-}" = three ] && NNODES3=1
	mkdir -p "$T/log" "$T/ctld" "$T/state" "$T/dev" "$T/out"
	chmod 0755 "$T" "$T/out" "$T/dev"
	chmod 1777 "$T/out"
	check_hostname
	pick_ports
	[ "$NNODES3" = 1 ] && setup_netns
	write_allowlists
	write_msr_conf "$T/msr-safe.conf"
	chmod 0644 "$T/msr-safe.conf"
	write_plugstack "$so"
	write_slurm_conf
	uuidgen 2>/dev/null >"$T/boot_id" || cat /proc/sys/kernel/random/uuid >"$T/boot_id"
	make_devtree "$T/dev/n1" 2
	if [ "$NNODES3" = 1 ]; then
		for node in m1 m2 m3; do make_devtree "$T/dev/$node" 2; done
	fi
	export SLURM_CONF=$T/slurm.conf
	start_munge
	slurmctld -D -f "$T/slurm.conf" >>"$T/log/slurmctld.out" 2>&1 &
	PIDS+=($!)
	CTLD_PID=$!
	wait_for 15 scontrol ping || die "slurmctld did not answer (see $T/log)"
	start_slurmd n1 ""
	if [ "$NNODES3" = 1 ]; then
		start_slurmd m1 "${NETNS[0]}"
		start_slurmd m2 "${NETNS[1]}"
		start_slurmd m3 "${NETNS[2]}"
	fi
	wait_for 30 node_is n1 idle ||
		die "n1 not idle: $(sinfo -N 2>&1) (see $T/log)"
	if [ "$NNODES3" = 1 ]; then
		for node in m1 m2 m3; do
			wait_for 30 node_is $node idle ||
				die "$node not idle: $(sinfo -N 2>&1) (see $T/log)"
		done
	fi
}

cleanup() {
	local pid i
	# Daemons in reverse order of starting: slurmds, slurmctld, munged.
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PIDS[$i]}
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	PIDS=()
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	NETNS=()
	if [ -n "$BRIDGE" ]; then
		ip link del "$BRIDGE" 2>/dev/null
		BRIDGE=
	fi
	if [ -n "$T" ] && [ -d "$T" ]; then
		chattr -R -i "$T/dev" 2>/dev/null
		if [ -n "${KEEP_TMP:-}" ]; then
			echo "kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
}
