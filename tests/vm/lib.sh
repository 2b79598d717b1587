# lib.sh: helpers for the guest tests (tests/vm/*.vm). vm-run puts it in the
# guest as /vmtest/lib.sh; a test starts with
#     . /vmtest/lib.sh
# and runs as root in /tmp of a fresh guest (tmpfs), which is powered off when
# the test ends: nothing needs cleaning up unless the test is about cleanup.
#
# Strict mode: any failing command fails the test (errexit, also inside
# $(...) and functions), and the failing command and line are printed.
# Helpers that print a value (nvmet_ns, khost_connect, ...) are meant for
# VAR=$(helper ...): a failure inside ends the test all the same.
#
# Conventions: messages go to stderr, values to stdout; sizes are MiB.

set -o errexit -o nounset -o pipefail -o errtrace
shopt -s inherit_errexit

# ---------------------------------------------------------------- basics --

# vm__on_err RC CMD LINE: the ERR trap. A skip (77) passes through quietly;
# nothing is printed after `set +e` (the test checks statuses itself).
vm__on_err() {
	[ "$1" != 77 ] || return 0
	case $- in *e*) ;; *) return 0 ;; esac
	echo "FAIL: command exited with status $1 (${BASH_SOURCE[1]:-?}:$3): $2" >&2
}
trap 'vm__on_err $? "$BASH_COMMAND" "$LINENO"' ERR

# vm__on_exit: when a test fails, show what the nvmfuse daemons logged. A
# sanitizer report in a daemon's log fails a test that passed otherwise: a
# daemon's stderr goes there, so with --enable-asan/--enable-ubsan builds
# every guest test also checks the daemons. Each daemon logs to its own
# RUNDIR/nvmeN.log; the run dirs are /run/nvmfuse and /run/nvmfuse-*.
vm__on_exit() {
	local rc=$? f san='ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:'
	for f in $(nvmfuse_log_files); do
		if [ "$rc" -eq 0 ] && grep -q "$san" "$f"; then
			echo "FAIL: sanitizer report in $f:" >&2
			grep -A 30 "$san" "$f" | head -n 80 >&2
			exit 1
		fi
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -s "$f" ]; then
			echo "---- $f (last 40 lines) ----"
			tail -n 40 "$f"
			echo "---- end of $f ----"
		fi
	done
}
trap vm__on_exit EXIT

# vm_log MSG...: print MSG with the guest's uptime, for readable logs.
vm_log() {
	local up _
	read -r up _ </proc/uptime
	printf '[%8s] %s\n' "$up" "$*" >&2
	# The last step, for guest-init's timeout report.
	printf '%s\n' "$*" >/tmp/.vm-step 2>/dev/null || true
}

# vm_fail MSG...: print "FAIL: MSG" and end the test with status 1. The
# daemons' last log lines go first, as NOTE lines: CI's summary shows only
# those and the FAIL lines, and a failure's cause is usually in them.
vm_fail() {
	vm_daemon_notes 6 >&2
	echo "FAIL: $*" >&2
	exit 1
}

# vm_daemon_notes N: the last N lines of all nvmfuse daemons' logs, merged
# in time order (each line starts with its ISO time), as "NOTE: daemon log:"
# lines cut to 240 characters. Nothing when no daemon has logged.
vm_daemon_notes() {
	local files
	files=$(nvmfuse_log_files 2>/dev/null) || return 0
	[ -n "$files" ] || return 0
	# shellcheck disable=SC2086 # one word per file
	cat -- $files 2>/dev/null | grep -a '^[0-9]' | sort -s -k1,1 | tail -n "$1" |
		cut -c1-240 | sed 's/^/NOTE: daemon log: /' || true
}

# vm_skip MSG...: print "SKIP: MSG" and end the test with status 77 (vm-run
# turns it into a skip; a skip without a reason is reported as a failure).
# Like vm_fail it prints on stderr, so it is seen even inside $(...).
vm_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# vm_expect_eq ACTUAL EXPECTED WHAT: fail unless ACTUAL equals EXPECTED.
vm_expect_eq() {
	[ "$1" = "$2" ] || vm_fail "$3: expected '$2', got '$1'"
	vm_log "ok: $3 = '$1'"
}

# vm_run CMD...: log the command, then run it (its status is returned).
vm_run() {
	vm_log "+ $*"
	"$@"
}

# vm_now_ms: milliseconds since boot (busybox date has no %N): /proc/uptime,
# in 10 ms steps.
vm_now_ms() {
	local up _
	read -r up _ </proc/uptime
	echo $((${up/./} * 10))
}

# vm_wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; return 1
# if it never does within SECONDS. CMD's words are expanded once, by the
# caller's shell: `vm_wait_for 5 test "$(x)" = y` tests one old value again
# and again. Put such a check in a function (tests/vm/lint-waits.sh).
vm_wait_for() {
	local n=$(($1 * 10))
	shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# vm_modprobe MODULE...: load kernel modules, failing the test if one is
# missing.
vm_modprobe() {
	local m
	for m; do
		modprobe "$m" || vm_fail "modprobe $m failed"
	done
}

# vm_sha256 FILE [OFFSET_MB SIZE_MB]: print the SHA-256 of FILE, or of
# SIZE_MB MiB of it starting at OFFSET_MB MiB.
vm_sha256() {
	local sum
	if [ $# -ge 3 ]; then
		sum=$(dd if="$1" bs=1M skip="$2" count="$3" status=none | sha256sum)
	else
		sum=$(sha256sum <"$1")
	fi
	echo "${sum%% *}"
}

# vm_blk_roundtrip DEV SIZE_MB OFFSET_MB [BACKING_FILE]: write SIZE_MB MiB
# of random data at OFFSET_MB MiB of block device DEV with O_DIRECT, drop
# the page cache, read it back and fail unless the SHA-256 matches the
# source; with BACKING_FILE, also check the same region of the target's
# backing file.
vm_blk_roundtrip() {
	local dev=$1 size=$2 off=$3 backing=${4:-} src want got
	src=$(mktemp /tmp/roundtrip.XXXXXX)
	dd if=/dev/urandom of="$src" bs=1M count="$size" status=none
	want=$(vm_sha256 "$src")
	vm_log "writing $size MiB at $off MiB to $dev (O_DIRECT), sha256 $want"
	dd if="$src" of="$dev" bs=1M seek="$off" count="$size" oflag=direct \
		conv=notrunc,fsync status=none || vm_fail "write to $dev failed"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	got=$(vm_sha256 "$dev" "$off" "$size") || vm_fail "read from $dev failed"
	vm_expect_eq "$got" "$want" "sha256 of $size MiB read back from $dev"
	if [ -n "$backing" ]; then
		got=$(vm_sha256 "$backing" "$off" "$size")
		vm_expect_eq "$got" "$want" "sha256 of the same region in $backing"
	fi
	rm -f "$src"
}

# ---------------------------------------------- kernel target (nvmet) --

NVMET=/sys/kernel/config/nvmet

# nvmet__init: load nvmet, make sure configfs is mounted.
nvmet__init() {
	[ -d "$NVMET" ] && return 0
	vm_modprobe nvmet
	grep -q ' /sys/kernel/config ' /proc/mounts ||
		mount -t configfs configfs /sys/kernel/config
	[ -d "$NVMET" ] || vm_fail "no $NVMET after loading nvmet"
}

# nvmet__attr FILE VALUE: write a configfs attribute, failing loudly.
nvmet__attr() {
	printf '%s' "$2" >"$1" 2>/dev/null || vm_fail "cannot write '$2' to $1"
}

# nvmet_subsys NQN: create a subsystem that lets any host connect.
nvmet_subsys() {
	nvmet__init
	mkdir "$NVMET/subsystems/$1" || vm_fail "cannot create subsystem $1"
	nvmet__attr "$NVMET/subsystems/$1/attr_allow_any_host" 1
}

# nvmet_subsys_acl NQN: create a subsystem that only admits the hosts added
# with nvmet_allow_host.
nvmet_subsys_acl() {
	nvmet__init
	mkdir "$NVMET/subsystems/$1" || vm_fail "cannot create subsystem $1"
	nvmet__attr "$NVMET/subsystems/$1/attr_allow_any_host" 0
}

# nvmet_allow_host NQN HOSTNQN: admit HOSTNQN to subsystem NQN (creates the
# host entry, where DH-HMAC-CHAP keys can then be set).
nvmet_allow_host() {
	nvmet__init
	[ -d "$NVMET/hosts/$2" ] || mkdir "$NVMET/hosts/$2" ||
		vm_fail "cannot create host $2"
	ln -s "$NVMET/hosts/$2" "$NVMET/subsystems/$1/allowed_hosts/$2" ||
		vm_fail "cannot allow host $2 on $1"
}

# nvmet_ns NQN NSID SIZE_MB: add an enabled namespace backed by a sparse file
# on tmpfs under /tmp/nvmet; prints the backing file's path.
nvmet_ns() {
	local d=$NVMET/subsystems/$1/namespaces/$2 f
	f=/tmp/nvmet/$(printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_')-ns$2.img
	mkdir -p /tmp/nvmet
	truncate -s "$3M" "$f"
	mkdir "$d" || vm_fail "cannot create namespace $2 of $1"
	nvmet__attr "$d/device_path" "$f"
	nvmet__attr "$d/enable" 1
	echo "$f"
}

# nvmet_ns_remove NQN NSID: disable and delete a namespace (its backing file
# stays).
nvmet_ns_remove() {
	local d=$NVMET/subsystems/$1/namespaces/$2
	nvmet__attr "$d/enable" 0
	rmdir "$d" || vm_fail "cannot remove namespace $2 of $1"
}

# nvmet_port PORTID TRTYPE ADDR SVCID [ATTR=VALUE...]: create a port;
# each ATTR=VALUE is written to the port's configfs attribute ATTR (e.g.
# param_inline_data_size=16384, addr_tsas=tls1.3) before it is enabled,
# which happens when a subsystem is linked (nvmet_link).
nvmet_port() {
	local d=$NVMET/ports/$1 fam=ipv4 kv
	nvmet__init
	vm_modprobe "nvmet-$2"
	case $3 in *:*) fam=ipv6 ;; esac
	mkdir "$d" || vm_fail "cannot create port $1"
	nvmet__attr "$d/addr_trtype" "$2"
	nvmet__attr "$d/addr_adrfam" "$fam"
	nvmet__attr "$d/addr_traddr" "$3"
	nvmet__attr "$d/addr_trsvcid" "$4"
	shift 4
	for kv; do
		nvmet__attr "$d/${kv%%=*}" "${kv#*=}"
	done
}

# nvmet_port_tcp PORTID ADDR SVCID [ATTR=VALUE...]: an NVMe/TCP port.
nvmet_port_tcp() {
	nvmet_port "$1" tcp "${@:2}"
}

# nvmet_port_rdma PORTID ADDR SVCID [ATTR=VALUE...]: an NVMe/RDMA port; ADDR
# must belong to an RDMA device (rdma_setup: $RDMA_TARGET_ADDR).
nvmet_port_rdma() {
	nvmet_port "$1" rdma "${@:2}"
}

# nvmet_link PORTID NQN: expose subsystem NQN on a port (this enables the
# port: the listener, and the discovery controller on it, start here).
nvmet_link() {
	ln -s "$NVMET/subsystems/$2" "$NVMET/ports/$1/subsystems/$2" 2>/dev/null ||
		vm_fail "cannot link $2 to port $1 (listener failed? $(dmesg | grep nvmet | tail -n 1))"
}

# nvmet_unlink PORTID NQN: stop exposing NQN on the port.
nvmet_unlink() {
	rm "$NVMET/ports/$1/subsystems/$2" || vm_fail "cannot unlink $2 from port $1"
}

# nvmet_port_remove PORTID: unlink every subsystem and referral, remove it.
nvmet_port_remove() {
	local d=$NVMET/ports/$1 l
	for l in "$d"/subsystems/*; do
		[ -L "$l" ] && rm "$l"
	done
	for l in "$d"/referrals/*; do
		[ -d "$l" ] && rmdir "$l"
	done
	rmdir "$d" || vm_fail "cannot remove port $1"
}

# nvmet_subsys_remove NQN: unlink from every port, drop hosts and
# namespaces, delete the subsystem.
nvmet_subsys_remove() {
	local d=$NVMET/subsystems/$1 l
	for l in "$NVMET"/ports/*/subsystems/"$1"; do
		[ -L "$l" ] && rm "$l"
	done
	for l in "$d"/allowed_hosts/*; do
		[ -L "$l" ] && rm "$l"
	done
	for l in "$d"/namespaces/*; do
		[ -d "$l" ] && nvmet_ns_remove "$1" "${l##*/}"
	done
	rmdir "$d" || vm_fail "cannot remove subsystem $1"
}

# ------------------------------------------------------ soft-RoCE (RDMA) --

RDMA_TARGET_ADDR=10.99.0.1

# test_transport: the fabric a test runs over, its parameter
# NVMF_TEST_TRANSPORT (tcp, the default, or rdma; a wrapper test sets it and
# sources the script, see nvmfuse-cuse-rdma.vm). Sets TEST_TR (for -t) and
# TEST_ADDR (for -a): 127.0.0.1 over TCP, the soft-RoCE address over RDMA
# (rdma_setup runs then).
test_transport() {
	TEST_TR=${NVMF_TEST_TRANSPORT:-tcp}
	case $TEST_TR in
	tcp) TEST_ADDR=127.0.0.1 ;;
	rdma)
		rdma_setup
		TEST_ADDR=$RDMA_TARGET_ADDR
		;;
	*) vm_fail "NVMF_TEST_TRANSPORT='$TEST_TR': expected tcp or rdma" ;;
	esac
	vm_log "transport under test: $TEST_TR at $TEST_ADDR"
}

# test_port PORTID SVCID [ATTR=VALUE...]: an nvmet port on the transport
# under test (test_transport first).
test_port() {
	nvmet_port "$1" "$TEST_TR" "$TEST_ADDR" "${@:2}"
}

# test_digests FLAG...: the digest flags over TCP; nothing over RDMA, which
# has no digests (nvme-rdma refuses the options).
test_digests() {
	[ "$TEST_TR" != tcp ] || echo "$*"
}

# ---------------------------------------------------------------- TLS --
TLSHD=/opt/tlshd

# tlshd_start: the kernel's TLS handshake daemon for nvmet's (and the kernel
# host's) TLS queues: Debian 13's tlshd with its own libraries under
# /opt/tlshd (vm-image, tests/vm/fetch-tlshd), started through their loader,
# with the .nvme keyring, and the kTLS and AES-GCM modules. Its log is
# /tmp/tlshd.log. Fails when the image has no tlshd.
tlshd_start() {
	local lib=$TLSHD/usr/lib/x86_64-linux-gnu m
	[ -x "$TLSHD/usr/sbin/tlshd" ] ||
		vm_fail "no tlshd in the guest image: tests/vm/fetch-tlshd failed when vm-image ran (run tools/setup-deps)"
	vm_modprobe tls nvme-tcp nvmet-tcp
	for m in gcm ghash-generic aesni-intel ccm; do
		modprobe "$m" 2>/dev/null || vm_log "tlshd_start: no module $m"
	done
	printf '[debug]\nloglevel=0\ntls=0\nnl=0\n[authenticate]\nkeyrings=.nvme\n[authenticate.client]\n[authenticate.server]\n' \
		>/etc/tlshd.conf
	"$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$TLSHD/usr/sbin/tlshd" \
		-c /etc/tlshd.conf -s >/tmp/tlshd.log 2>&1 &
	TLSHD_PID=$!
	sleep 0.5
	kill -0 "$TLSHD_PID" 2>/dev/null || vm_fail "tlshd did not start: $(cat /tmp/tlshd.log)"
}

# tls_psk_insert IDENTITY FILE: put a TLS PSK (FILE's bytes) into the .nvme
# keyring as a "psk" key described by IDENTITY, replacing one of the same
# identity (what nvme-cli's --insert does, and what tlshd and the kernel
# host look up).
tls_psk_insert() {
	keyctl padd psk "$1" %:.nvme <"$2" >/dev/null || vm_fail "keyctl padd psk '$1' failed"
}

# rdma_setup: soft-RoCE inside the guest: a veth pair (veth0 10.99.0.1/24,
# veth1 10.99.0.2/24; nothing leaves the guest) and one rxe device, rxe0 on
# veth0. Exports RDMA_TARGET_ADDR=10.99.0.1 for nvmet_port_rdma and for the
# hosts' connect. Loads rdma_rxe, ib_uverbs and rdma_ucm (user verbs and
# rdma_cm for nvmfuse), nvmet-rdma and nvme-rdma. Safe to call twice.
#
# One device is all it takes: both ends are local, so rdma_cm resolves
# 10.99.0.1 to rxe0 for the initiator too and rxe loops the traffic back
# inside the device (the kernel host and librdmacm both work that way).
# Measured: a second device (rxe1 on veth1) does NOT give a two-ended link;
# an initiator bound to 10.99.0.2 fails (route to a local address), and the
# looped traffic never passes veth0's qdisc, so tc netem cannot touch it.
rdma_setup() {
	export RDMA_TARGET_ADDR
	[ ! -e /sys/class/infiniband/rxe0 ] || return 0
	# rdma_rxe asks the crypto API for crc32 (testbed gotcha 1).
	vm_modprobe crc32_generic crc32c_generic veth rdma_rxe ib_uverbs rdma_ucm \
		nvmet-rdma nvme-rdma
	/usr/sbin/ip link add veth0 type veth peer name veth1
	/usr/sbin/ip addr add "$RDMA_TARGET_ADDR/24" dev veth0
	/usr/sbin/ip addr add 10.99.0.2/24 dev veth1
	/usr/sbin/ip link set veth0 up
	/usr/sbin/ip link set veth1 up
	rdma link add rxe0 type rxe netdev veth0 || vm_fail "rdma link add rxe0 failed"
	vm_wait_for 10 rdma__active rxe0 || vm_fail "rxe0 port not ACTIVE: $(rdma link show)"
	vm_log "soft-RoCE up: $(rdma link show)"
}

# rdma__active DEV: true when the device's port 1 is ACTIVE.
rdma__active() {
	grep -q ACTIVE "/sys/class/infiniband/$1/ports/1/state"
}

# ------------------------------------- kernel host (reference initiator) --

# khost__ids: make sure /etc/nvme/hostnqn and /etc/nvme/hostid exist, a
# matching pair (nvmet refuses a known hostid with another hostnqn).
# guest-init creates them at boot; this recreates them if a test removed
# them, once (they stay for the rest of the boot).
khost__ids() {
	local uuid
	[ -s /etc/nvme/hostnqn ] && [ -s /etc/nvme/hostid ] && return 0
	mkdir -p /etc/nvme
	read -r uuid </proc/sys/kernel/random/uuid
	echo "nqn.2014-08.org.nvmexpress:uuid:$uuid" >/etc/nvme/hostnqn
	echo "$uuid" >/etc/nvme/hostid
}

# khost_hostnqn: print this guest's host NQN (from /etc/nvme/hostnqn).
khost_hostnqn() {
	khost__ids
	cat /etc/nvme/hostnqn
}

# khost_hostid: print this guest's host ID, the UUID in its host NQN.
khost_hostid() {
	khost__ids
	cat /etc/nvme/hostid
}

# khost__ctrls NQN: print the controller names (nvme0 ...) connected to NQN.
khost__ctrls() {
	local c
	for c in /sys/class/nvme/nvme*; do
		[ -e "$c/subsysnqn" ] || continue
		[ "$(cat "$c/subsysnqn")" = "$1" ] && echo "${c##*/}"
	done
	return 0
}

# khost_connect TRANSPORT ADDR SVCID NQN [nvme-cli args...]: connect the
# kernel host to NQN with nvme-cli (with --hostnqn and --hostid); prints the
# new controller's device, e.g. /dev/nvme0.
khost_connect() {
	local t=$1 a=$2 s=$3 n=$4 before c out
	shift 4
	vm_modprobe "nvme-$t"
	before=" $(khost__ctrls "$n" | tr '\n' ' ')"
	vm_log "+ nvme connect -t $t -a $a -s $s -n $n $*"
	out=$(nvme connect -t "$t" -a "$a" -s "$s" -n "$n" \
		--hostnqn="$(khost_hostnqn)" --hostid="$(khost_hostid)" "$@" 2>&1) ||
		vm_fail "nvme connect -t $t -a $a -s $s -n $n failed: $out"
	[ -z "$out" ] || echo "$out" >&2
	for c in $(khost__ctrls "$n"); do
		case $before in *" $c "*) continue ;; esac
		[ -c "/dev/$c" ] || vm_wait_for 10 test -c "/dev/$c" ||
			vm_fail "no /dev/$c after connecting"
		echo "/dev/$c"
		return 0
	done
	vm_fail "nvme connect to $n succeeded but no new controller is in /sys/class/nvme"
}

# khost_disconnect NQN: disconnect every kernel-host controller of NQN and
# wait (10 s) until they are gone.
khost_disconnect() {
	local out
	vm_log "+ nvme disconnect -n $1"
	out=$(nvme disconnect -n "$1" 2>&1) || vm_fail "nvme disconnect -n $1 failed: $out"
	echo "$out" >&2
	vm_wait_for 10 khost__none "$1" ||
		vm_fail "controllers of $1 still present after disconnect: $(khost__ctrls "$1")"
}
khost__none() { [ -z "$(khost__ctrls "$1")" ]; }

# khost__ns_find NQN NSID: print the namespace block device, if present.
# With native multipath (Debian's default) the disk hangs off the
# nvme-subsystem device; without it, off the controller.
khost__ns_find() {
	local p b
	for p in /sys/class/nvme-subsystem/nvme-subsys* /sys/class/nvme/nvme*; do
		[ -e "$p/subsysnqn" ] || continue
		[ "$(cat "$p/subsysnqn")" = "$1" ] || continue
		for b in "$p"/nvme*n*; do
			[ -e "$b/nsid" ] || continue
			case ${b##*/} in *c*n*) continue ;; esac # a multipath leg
			[ "$(cat "$b/nsid")" = "$2" ] || continue
			[ -b "/dev/${b##*/}" ] || continue
			echo "/dev/${b##*/}"
			return 0
		done
	done
	return 1
}

# khost_ns_dev NQN NSID: print the block device of namespace NSID of NQN
# (e.g. /dev/nvme0n1), waiting up to 10 s for it to appear.
khost_ns_dev() {
	local n=100 dev
	until dev=$(khost__ns_find "$1" "$2"); do
		n=$((n - 1))
		[ "$n" -gt 0 ] || vm_fail "no block device for namespace $2 of $1 after 10 s"
		sleep 0.1
	done
	echo "$dev"
}

# ------------------------------------------------------------ nvmfuse --
# Helpers for tests of nvmfuse itself (the binary is /usr/local/bin/nvmfuse).

# nvmfuse_expect_fail KEYWORD CMD...: CMD must fail (non-zero, not killed by
# the 60 s guard), within the guard, printing exactly one line that contains
# KEYWORD (case-insensitive). Prints that line.
nvmfuse_expect_fail() {
	local kw=$1 out rc t0 t1
	shift
	t0=$(date +%s)
	rc=0
	out=$(timeout 60 "$@" 2>&1) || rc=$?
	t1=$(date +%s)
	vm_log "+ $* -> rc $rc in $((t1 - t0)) s: $out"
	[ "$rc" -ne 0 ] || vm_fail "'$*' succeeded; expected an error about '$kw'"
	[ "$rc" -ne 124 ] || vm_fail "'$*' hung (killed after 60 s)"
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] ||
		vm_fail "'$*' printed more than one line: $out"
	grep -qi -- "$kw" <<<"$out" || vm_fail "'$*' error does not mention '$kw': $out"
	printf '%s\n' "$out"
}

# json_get JSON KEY: the first value of "KEY" in one-line JSON (strings
# unquoted). Enough for nvmfuse's and nvme-cli's flat fields.
json_get() {
	printf '%s\n' "$1" | tr ',{}[' '\n\n\n\n' | sed -n "s/^ *\"$2\" *: *\"\{0,1\}\([^\"]*\)\"\{0,1\} *\$/\1/p" | head -n 1
}

# nvmfuse_stat KEY: the first controller's counter KEY from the `stats`
# object of `nvmfuse list -o json` (reconnects, retries, digest_errors...).
nvmfuse_stat() {
	nvmfuse list -o json | sed -n "s/.*\"stats\":{[^}]*\"$1\":\([0-9]*\).*/\1/p"
}

# nvmfuse_ctrl_count: number of controllers `nvmfuse list` reports.
nvmfuse_ctrl_count() {
	nvmfuse list -o json | { grep -o '"name":' || true; } | wc -l
}

# nvmfuse_log_files: the daemons' log files, one per daemon (RUNDIR/nvmeN.log
# in /run/nvmfuse and in any /run/nvmfuse-* run dir), one path a line.
nvmfuse_log_files() {
	local f
	for f in /run/nvmfuse/nvme*.log /run/nvmfuse-*/nvme*.log; do
		[ ! -f "$f" ] || echo "$f"
	done
}

# nvmfuse_log: every daemon's log, concatenated (to read whole: piping it
# into `grep -q` can end it with SIGPIPE; use nvmfuse_log_has for that).
nvmfuse_log() {
	local f
	for f in $(nvmfuse_log_files); do
		cat -- "$f"
	done
}

# proxy_counter PID FILE KEY: ask the nvmf-proxy PID (its output in FILE)
# for its counters (SIGUSR1) and print KEY's value from the line it then
# adds; waits up to 5 s for that line (a fixed sleep read a stale one, or
# none, on a slow machine) and fails the test without it.
proxy_counter() {
	local pid=$1 file=$2 key=$3 had
	had=$(grep -c '^nvmf-proxy: ' "$file" 2>/dev/null || true)
	kill -USR1 "$pid" || vm_fail "nvmf-proxy ($pid) is gone"
	vm_wait_for 5 sh -c "[ \$(grep -c '^nvmf-proxy: ' '$file') -gt ${had:-0} ]" ||
		vm_fail "nvmf-proxy printed no counters 5 s after SIGUSR1"
	sed -n "s/.* $key=\([0-9]*\).*/\1/p" "$file" | tail -n 1
}

# nvmfuse_log_has PATTERN: does a daemon's log have a line matching PATTERN
# (grep basic regex)?
nvmfuse_log_has() {
	local files
	files=$(nvmfuse_log_files)
	[ -n "$files" ] && grep -q -- "$1" $files
}

# nvmfuse_sanitized PID: is process PID an --enable-asan/--enable-ubsan
# build (it maps the sanitizer runtime)? Checks whose numbers such a build
# changes by design (resident memory: ASan's shadow and the quarantine of
# freed blocks) judge it differently, and say so.
nvmfuse_sanitized() {
	grep -q 'libasan\|libubsan' "/proc/$1/maps" 2>/dev/null
}

# nvmfuse_pids: PIDs of running nvmfuse processes (busybox has no pgrep).
nvmfuse_pids() {
	local f
	for f in /proc/[0-9]*/comm; do
		[ "$(cat "$f" 2>/dev/null)" = nvmfuse ] || continue
		f=${f#/proc/}
		echo "${f%/comm}"
	done
}
