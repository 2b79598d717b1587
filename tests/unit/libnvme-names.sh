#!/bin/sh
# libnvme-names.sh: no name of ours is one of libnvme's.
#
# 1. Every header under src/ and tools/ compiles (-Werror) both before and
#    after <libnvme.h>. A macro of ours with the name of a libnvme
#    enumerator breaks the first order (the enumerator list sees a
#    number), one with the name of a libnvme macro warns in both, and a
#    declaration that differs from libnvme's fails in both: the include-
#    order trap nvmf_spec.h's NVME_AER_NOTICE_NS_CHANGED once set. The
#    first order includes the header twice: all of it is in its guard.
# 2. No global symbol of the built libraries and nvmfuse is also exported
#    by the libnvme the command links: ours would silently replace
#    libnvme's for every caller in the process, libnvme's own included.
#
# Run by `make check` with NVMF_SRCDIR, NVMF_BUILDDIR, NVMF_CC and
# NVMF_HDR_CFLAGS (the compiler and the flags the sources are built with,
# Makefile.am). Every failure is listed, then the test fails.
set -u
srcdir=${NVMF_SRCDIR:-$PWD}
builddir=${NVMF_BUILDDIR:-$PWD}
cc=${NVMF_CC:-cc}
cflags=${NVMF_HDR_CFLAGS:-"-I$builddir -I$srcdir -I$srcdir/src -include $builddir/config.h"}

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

hdrs=$(cd "$srcdir" && find src tools -name '*.h' | sort)
[ -n "$hdrs" ] || { echo "FAIL: no headers under $srcdir/src and $srcdir/tools"; exit 1; }
n=0
for h in $hdrs; do
	printf '#include "%s"\n#include "%s"\n#include <libnvme.h>\n' "$srcdir/$h" "$srcdir/$h" \
		>"$tmp/ours-first.c"
	printf '#include <libnvme.h>\n#include "%s"\n' "$srcdir/$h" >"$tmp/libnvme-first.c"
	for order in ours-first libnvme-first; do
		# shellcheck disable=SC2086 # the flags are a list
		if ! out=$(cd "$srcdir" && $cc $cflags -Werror -fsyntax-only "$tmp/$order.c" 2>&1); then
			echo "FAIL: $h, $order with <libnvme.h>:"
			echo "$out" | grep -m 5 -E 'error|warning'
			fail=1
		fi
	done
	n=$((n + 1))
done
echo "checked $n headers in both orders with <libnvme.h>"

bin=$builddir/nvmfuse
[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
lib=$(ldd "$bin" | awk '$1 ~ /^libnvme\.so/ { print $3 }')
[ -f "$lib" ] || { echo "FAIL: $bin does not link libnvme (ldd: '$lib')"; exit 1; }
nm -D --defined-only "$lib" | awk '{ sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/libnvme"
[ -s "$tmp/libnvme" ] || { echo "FAIL: no symbols read from $lib"; exit 1; }
objs="$bin"
for a in "$builddir"/.libs/libnvmfuse*.a; do
	[ -f "$a" ] && objs="$objs $a"
done
# shellcheck disable=SC2086
nm -g --defined-only $objs 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/ours"
[ -s "$tmp/ours" ] || { echo "FAIL: no symbols read from $objs"; exit 1; }
clash=$(comm -12 "$tmp/ours" "$tmp/libnvme")
if [ -n "$clash" ]; then
	echo "FAIL: defined here and exported by $lib: $(echo "$clash" | tr '\n' ' ')"
	fail=1
fi
echo "checked $(wc -l <"$tmp/ours") global symbols against $(wc -l <"$tmp/libnvme") of $lib"

[ "$fail" -eq 0 ] && echo "PASS: no libnvme name taken"
exit "$fail"
