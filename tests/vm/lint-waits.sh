#!/bin/bash
# lint-waits: a guest test's `vm_wait_for SECONDS CMD...` runs CMD again
# and again, but a $(...) or `...` in CMD's words outside single quotes is
# expanded once, by the shell, before vm_wait_for starts: such a wait
# never sees the condition change (it waits out its time and fails, or
# passes on the first value). Wrap the check in a function, or give it to
# `sh -c '...'`. This host test finds such waits in tests/vm/*.vm (the
# words before a `||` on the vm_wait_for line; $((...)) arithmetic is
# left alone). It caught the persistent-discovery step of
# nvmfuse-dhchap.vm that "failed" twice while the daemon had done its work.
set -u

here=$(cd "$(dirname "$0")" && pwd)
bad=0
for f in "$here"/*.vm; do
	awk -v F="${f#"$here"/}" '
	/vm_wait_for[ \t]+[0-9]/ {
		s = $0
		sub(/^.*vm_wait_for[ \t]+/, "", s)
		i = index(s, "||")
		if (i)
			s = substr(s, 1, i - 1)
		gsub(/\047[^\047]*\047/, "", s)	# single-quoted words are not expanded
		gsub(/\$\(\(/, "", s)		# arithmetic, computed once on purpose
		if (s ~ /\$\(|`/) {
			printf "%s:%d: vm_wait_for with a $(...) computed once: %s\n", F, NR, $0
			bad = 1
		}
	}
	END { exit bad }' "$f" || bad=1
done
[ "$bad" = 0 ] && echo "ok: every vm_wait_for re-evaluates its condition"
exit $bad
