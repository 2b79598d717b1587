#!/bin/sh
# systemd-unit.sh: `systemd-analyze verify` of the autoconnect unit as the
# build writes it (contrib/nvmfuse-autoconnect.service), with its commands
# pointed at this build's nvmfuse so that systemd checks they execute. Any
# message from systemd (an unknown key, a bad value, a missing command or
# unit) fails the test; so does a unit without its config.json and
# discovery.conf conditions. Skips (77), saying why, without systemd-analyze.
set -u
builddir=${NVMF_BUILDDIR:-$PWD}
unit=$builddir/contrib/nvmfuse-autoconnect.service

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze not installed (Debian package systemd): unit not verified"
	exit 77
fi
[ -f "$unit" ] || { echo "FAIL: $unit not built"; exit 1; }
[ -x "$builddir/nvmfuse" ] || { echo "FAIL: $builddir/nvmfuse not built"; exit 1; }
for f in config.json discovery.conf; do
	grep -q "^ConditionPathExists=|/.*/nvme/$f\$" "$unit" ||
		{ echo "FAIL: $unit lacks ConditionPathExists=|SYSCONFDIR/nvme/$f"; exit 1; }
done
grep -q '@[a-z]*@' "$unit" && { echo "FAIL: $unit has unsubstituted @...@"; exit 1; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# The installed path becomes this build's binary, and "-" goes (systemd
# skips the executable check for a command whose failure is ignored).
sed -e "s|^\(Exec[A-Za-z]*=\)-\{0,1\}/[^ ]*/nvmfuse |\1$builddir/nvmfuse |" "$unit" \
	>"$tmp/nvmfuse-autoconnect.service"
grep -c "^Exec[A-Za-z]*=$builddir/nvmfuse " "$tmp/nvmfuse-autoconnect.service" | grep -qx 2 ||
	{ echo "FAIL: ExecStart/ExecStop do not run nvmfuse"; cat "$unit"; exit 1; }
out=$(systemd-analyze verify --man=no "$tmp/nvmfuse-autoconnect.service" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify (exit $rc):"
	echo "$out"
	exit 1
fi
echo "PASS: systemd-analyze verify $unit"
