#!/bin/bash
# lint-log-greps: `nvmfuse_log | grep -q PATTERN` in a guest test is a
# check that can go either way by chance: grep -q exits at its first match,
# the cat inside nvmfuse_log then dies of SIGPIPE while it still writes,
# and under the guest's pipefail the pipeline fails although the pattern is
# there. A `... && vm_fail` check then never fails (the key-in-the-log check
# of nvmfuse-tls.vm), a `... || vm_fail` one fails at random (the same
# test's debug-log check failed CI once the daemon logged a few more
# lines). Use nvmfuse_log_has, which greps the log files themselves. This
# host test finds such pipes in tests/vm/*.vm and tests/vm/*.sh.
set -u

here=$(cd "$(dirname "$0")" && pwd)
bad=0
for f in "$here"/*.vm "$here"/*.sh; do
	awk -v F="${f#"$here"/}" '
	!/^[ \t]*#/ && /nvmfuse_log[ \t]*\|[ \t]*grep[ \t]+-[a-zA-Z]*[ql]/ {
		printf "%s:%d: nvmfuse_log piped into grep -q (SIGPIPE under pipefail): %s\n", F, NR, $0
		bad = 1
	}
	END { exit bad }' "$f" || bad=1
done
[ "$bad" = 0 ] && echo "ok: no nvmfuse_log piped into grep -q"
exit $bad
