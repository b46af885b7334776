#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs inside the benchmark guest (chroot into the host's root over 9p,
# started by tests/vm/init): loads the production msr-safe.ko and the
# kernel's stock msr.ko, then runs msrbench.  Its "R ..." lines are the
# figures; "# ..." lines are notes.  Environment (set by bench/run):
#   BENCH_KO, BENCH_STOCK_KO, BENCH_BIN, BENCH_ARGS
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
echo "# guest: $(nproc) CPUs online, kernel $(uname -r)"
insmod "$BENCH_KO" || { echo "# error: insmod $BENCH_KO failed"; exit 1; }
insmod "$BENCH_STOCK_KO" || { echo "# error: insmod $BENCH_STOCK_KO failed"; exit 1; }
scratch=/run/msrbench
mkdir -p "$scratch"
# shellcheck disable=SC2086
"$BENCH_BIN" --scratch "$scratch" --stock $BENCH_ARGS
rc=$?
echo "# msrbench exited $rc"
exit $rc
