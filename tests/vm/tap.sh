# SPDX-License-Identifier: GPL-2.0-only
# Verdict helpers for the shell guests (stack-guest.sh, likwid-guest.sh):
# "ok - NAME" / "not ok - NAME: DETAIL", counted in $passed and $failed,
# which tests/vm/lib.sh reads back from the guest's output.
passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}
bad() {
	failed=$((failed + 1))
	echo "not ok - $1${2:+: $2}"
}
eq() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "expected '$2', got '$3'"; fi
}
has() { # NAME TEXT NEEDLE
	if grep -qF -- "$3" <<<"$2"; then ok "$1"; else bad "$1" "no '$3' in: $(head -c 400 <<<"$2" | tr '\n' '|')"; fi
}
