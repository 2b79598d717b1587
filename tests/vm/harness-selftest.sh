#!/bin/bash
# harness-selftest: prove that tests/vm/vm-run reports what happened in the
# guest: a test that exits 3 must FAIL (even if it prints a fake result
# marker), one that exits 0 must PASS, and a vm_skip (from inside a
# $(...), the awkward case for errexit) must come out as a skip (77).
# Runs on the host as an ordinary automake test; it reuses the cached kernel
# and base initramfs, so it costs three guest boots.
set -u

here=$(cd "$(dirname "$0")" && pwd)
vmrun=$here/vm-run
if ! command -v "${NVMF_VM_QEMU:-qemu-system-x86_64}" >/dev/null 2>&1; then
	echo "SKIP: qemu-system-x86_64 not installed (run tools/setup-deps)"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vm-selftest.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
# No build-tree binaries needed in these guests.
export NVMF_GUEST_BINS=

cat >"$tmp/exit3.vm" <<'VM'
# vm-timeout: 120
. /vmtest/lib.sh
set +e
vm_log "harness selftest: printing a fake marker, then exiting 3"
echo "NVMF-VM-RESULT rc=0 run=0000000000000000"
exit 3
VM
cat >"$tmp/exit0.vm" <<'VM'
# vm-timeout: 120
. /vmtest/lib.sh
vm_expect_eq "$(cat /proc/sys/kernel/hostname)" nvmf-vm "guest hostname"
[ -d /sys/kernel/config/nvmet ] || vm_fail "nvmet not loaded by guest-init"
vm_log "harness selftest: exiting 0"
exit 0
VM
cat >"$tmp/skip.vm" <<'VM'
# vm-timeout: 120
. /vmtest/lib.sh
need_thing() { vm_skip "harness selftest: skipping on purpose"; }
x=$(need_thing)
vm_fail "not reached: vm_skip inside \$(...) did not end the test ($x)"
VM

fail=0
# check NAME EXPECTED_STATUS PATTERN: run vm-run on NAME.vm, compare its exit
# status, and require PATTERN in its output.
check() {
	local rc
	echo "=== vm-run $1.vm (expect exit $2)"
	"$vmrun" "$tmp/$1.vm" >"$tmp/$1.log" 2>&1
	rc=$?
	sed 's/^/    | /' "$tmp/$1.log"
	if [ "$rc" != "$2" ]; then
		echo "FAIL: vm-run on $1.vm exited $rc, expected $2"
		fail=1
	elif ! grep -q -- "$3" "$tmp/$1.log"; then
		echo "FAIL: vm-run on $1.vm: no '$3' in its output"
		fail=1
	else
		echo "ok: $1.vm -> exit $rc"
	fi
}
check exit3 1 "FAIL: exit3 exited with status 3 in the guest"
check exit0 0 "PASS: exit0"
check skip 77 "SKIP: harness selftest: skipping on purpose"
exit $fail
