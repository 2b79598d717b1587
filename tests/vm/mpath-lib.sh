# mpath-lib.sh: the multipath guest tests' shared shell (nvmfuse-multipath,
# nvmfuse-mpath-rdma, nvmfuse-mpath-policy, nvmfuse-mpath-ana): the
# per-path counters of `nvmfuse list -o json`, and the failover script
# with its stall measurement, the same for nvmfuse and the kernel host,
# and the ANA fault script (ana_faults) with its own stall measure. A test lists it
# in "# vm-files: tests/vm/mpath-lib.sh" and sources it after lib.sh:
#     . /vmtest/mpath-lib.sh
# run_script and flip unlink ports from subsystem $nqn (the test's).

# path_json SLOT [JSON]: the paths entry of slot SLOT (one line), from
# JSON (one `nvmfuse list -o json` output) or from a new list.
path_json() {
	if [ $# -ge 2 ]; then printf '%s\n' "$2"; else nvmfuse list -o json; fi |
		sed 's/.*"paths":\[//; s/\]}.*//' | sed 's/},{/}\n{/g' |
		{ grep "\"slot\":$1," || true; }
}
path_u64() {	# path_u64 SLOT KEY [JSON]
	path_json "$1" "${@:3}" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# The fio job and the fault scripts, the same for nvmfuse and the kernel host.
# flip PORT: unlink PORT from the subsystem for 15 s, then link it again.
flip() {
	vm_log "unlinking port $1 for 15 s"
	nvmet_unlink "$1" "$nqn"
	sleep 15
	nvmet_link "$1" "$nqn"
	vm_log "port $1 linked again"
}
# unlink_two [PORT PORT]: the fault script of nvmfuse-multipath and
# nvmfuse-mpath-rdma: 5 s into the run the first port (1 unless given) is
# unlinked for 15 s, 4 s after it is back the second one (2).
unlink_two() {
	sleep 5
	flip "${1:-1}"
	sleep 4
	flip "${2:-2}"
}
# fio's options for an IOPS log with one entry per completed I/O, timed
# by CLOCK_BOOTTIME (clock id 7: the clock of /proc/uptime and vm_log).
# Not averages (log_avg_msec): fio leaves the reads of verify_backlog out
# of its averaged IOPS log (they are not counted in this_io_blocks), so
# while all four jobs read back their 512 writes, about 3 s, that log
# showed no I/O at all with completions going on (the daemon's trace
# showed them): the "stalls" of 2.2 to 8.1 s measured so far were these
# read-back phases. The per-completion log has the reads (third field 0).
fio_done_log() {	# fio_done_log TAG
	echo "--write_iops_log=/tmp/$1 --log_alternate_epoch=1 --log_alternate_epoch_clock_id=7"
}
# longest_gap TAG: GAP, the longest time (ms) in which fio completed
# nothing (every job and direction merged), and GAP_AT, the uptime (ms)
# it began at, from the logs fio_done_log TAG asked for; /tmp/TAG.done
# has the completion times in order.
longest_gap() {
	local tag=$1 g
	cat /tmp/"$tag"_iops.*.log | awk -F', *' '$2 > 0 { print $1 }' | sort -n >"/tmp/$tag.done"
	[ "$(wc -l <"/tmp/$tag.done")" -gt 200 ] ||
		vm_fail "$tag: only $(wc -l <"/tmp/$tag.done") completions in fio's log: a gap would prove nothing"
	awk -F', *' '$3 == 0 { f = 1; exit } END { exit !f }' /tmp/"$tag"_iops.*.log ||
		vm_fail "$tag: fio's log has no read-back: a gap could be a verify phase"
	g=$(awk 'NR > 1 && $1 - p > g { g = $1 - p; at = p } { p = $1 }
		 END { print g + 0, at + 0 }' "/tmp/$tag.done")
	GAP=${g% *} GAP_AT=${g#* }
	vm_log "$tag: longest time without a completion: $GAP ms, from uptime" \
		"$((GAP_AT / 1000)).$(printf %03d $((GAP_AT % 1000))) s"
}
# run_script DEV TAG [FAULTS [ARG...]]: fio verify on DEV for
# MPATH_RUNTIME seconds (44 unless set) while the fault script runs: the
# function FAULTS (unlink_two unless given) with ARG..., started with
# fio; it sees run_script's $tag and $dev. RES_STALL:
# its longest time without a completion (longest_gap). RES_MAX, RES_N:
# the slowest of RES_N single 4 KiB reads by a dd loop beside (each read
# waits behind fio's 128 commands, and dd starts under emulation:
# informative only). Leaves /tmp/TAG.{fio,lat,done} and
# /tmp/TAG_iops.*.log. fio runs with SIGPIPE ignored: the kernel host's
# nvme-tcp may send a command from the submitting task, and on a connection
# the unlinked port has closed that send raised SIGPIPE in a fio job, which
# killed it ("fio: pid=N, got signal=13"; CI, session 10) although no I/O
# had failed; ignored, the send just fails and the host recovers.
run_script() {
	local dev=$1 tag=$2 faults=${3:-unlink_two} fio_pid t0 t1 j
	shift $(($# < 3 ? $# : 3))
	(
		trap '' PIPE
		exec fio --name=mpath --filename="$dev" --ioengine=libaio --direct=1 --numjobs=4 \
			--iodepth=32 --size=40m --offset_increment=48m --bsrange=4k-64k \
			--rw=randwrite --verify=crc32c --verify_fatal=1 --verify_backlog=512 \
			--do_verify=1 --time_based --runtime="${MPATH_RUNTIME:-44}" --randseed=42 \
			--group_reporting \
			$(fio_done_log "$tag")
	) >"/tmp/$tag.fio" 2>&1 &
	fio_pid=$!
	vm_log "$tag: fio started"
	(
		while kill -0 "$fio_pid" 2>/dev/null; do
			t0=$(vm_now_ms)
			dd if="$dev" of=/dev/null bs=4k count=1 skip=$((200 * 256 + RANDOM % 256)) \
				iflag=direct 2>/dev/null || echo "read error" >>"/tmp/$tag.readerr"
			t1=$(vm_now_ms)
			echo "$t0 $((t1 - t0))"
			sleep 0.1
		done
	) >"/tmp/$tag.lat" &
	if [ "$tag" = nvmfuse ]; then
		(	# per-path commands in flight and sent, every second: where a stall sits
			while kill -0 "$fio_pid" 2>/dev/null; do
				t0=$(vm_now_ms)
				j=$(nvmfuse list -o json) || j=
				echo "$t0 p0 $(path_u64 0 inflight "$j")/$(path_u64 0 ios "$j")" \
					"p1 $(path_u64 1 inflight "$j")/$(path_u64 1 ios "$j")"
				sleep 1
			done
		) >"/tmp/$tag.paths" 2>/dev/null &
	fi
	"$faults" "$@"
	wait "$fio_pid" || { cat "/tmp/$tag.fio"; vm_fail "$tag: fio verify failed"; }
	# The slowest single I/O (a command held for a path's return would show here).
	vm_log "$tag: fio's completion latency: $(grep -m 2 -E '^ +clat \(' "/tmp/$tag.fio" | tr -s ' ' | tr '\n' ';')"
	wait
	[ ! -s "/tmp/$tag.paths" ] || { tr '\n' ';' <"/tmp/$tag.paths" | fold -w 160; echo; } >&2
	[ ! -s "/tmp/$tag.readerr" ] || vm_fail "$tag: the read loop saw $(wc -l <"/tmp/$tag.readerr") read error(s)"
	RES_MAX=$(sort -n -k2 "/tmp/$tag.lat" | tail -n 1 | cut -d' ' -f2)
	RES_N=$(wc -l <"/tmp/$tag.lat")
	longest_gap "$tag"
	RES_STALL=$GAP
	# Completions per second of uptime: where a gap was, beside the flips' times.
	awk '{ s[int($1 / 1000)]++ } END { for (t in s) print t, s[t] }' "/tmp/$tag.done" |
		sort -n | tr '\n' ' ' | fold -w 150 >&2
	echo >&2
	grep -q 'err= 0' "/tmp/$tag.fio" || { cat "/tmp/$tag.fio"; vm_fail "$tag: fio errors"; }
}
fio_summary() {	# write and read lines of a fio output
	grep -E '^ *(write|read):' "$1" | sed 's/^ */  /'
}

# ------------------------------------------------------------------ ANA --
# nvmfuse-mpath-ana(-rdma): one namespace in ANA group $ANA_GRP, whose
# state nvmet keeps per port (ports/N/ana_groups/G/ana_state): optimized
# on one port, inaccessible on the other, swapped every 10 s.
ANA_GRP=2
# ana_setup NQN PORT PORT: the group on both ports (nvmet makes a new
# group inaccessible), namespace 1 (256 MiB) in it, the first port
# optimized, both ports linked.
ana_setup() {
	local ns=$NVMET/subsystems/$1/namespaces/1 p
	for p in "$2" "$3"; do
		mkdir "$NVMET/ports/$p/ana_groups/$ANA_GRP" ||
			vm_fail "nvmet has no ANA groups (ports/$p/ana_groups)"
	done
	ana_set "$2" optimized
	ana_set "$3" inaccessible
	mkdir -p /tmp/nvmet "$ns"
	truncate -s 256M /tmp/nvmet/mpath-ana.img
	nvmet__attr "$ns/device_path" /tmp/nvmet/mpath-ana.img
	nvmet__attr "$ns/ana_grpid" "$ANA_GRP"
	nvmet__attr "$ns/enable" 1
	nvmet_link "$2" "$1"
	nvmet_link "$3" "$1"
}
ana_set() {	# PORT STATE
	nvmet__attr "$NVMET/ports/$1/ana_groups/$ANA_GRP/ana_state" "$2"
}
# ana_swap OPT INACC: OPT's group optimized, then 0.5 s later INACC's
# inaccessible, as a planned transition goes (make before break): I/O in
# flight on INACC then meets Inaccessible with the other path known
# optimized, and fails over (counted). Both at once would leave the host
# no usable path until OPT's ANA notice is read: a wait, no failover.
ana_swap() {
	vm_log "ANA: port $1 optimized, port $2 inaccessible"
	ana_set "$1" optimized
	sleep 0.5
	ana_set "$2" inaccessible
}
# ana__at MS: sleep until MS ms after $t0 (ana_faults' start).
ana__at() {
	local left=$((t0 + $1 - $(vm_now_ms)))
	[ "$left" -le 0 ] || sleep "$((left / 1000)).$(printf %03d $((left % 1000)))"
}
# ana__watch PORT FROM TO END: with nvmfuse, the commands sent to PORT's
# path (slot ANA_SLOT[PORT]) between FROM and TO ms, while its group is
# inaccessible there until END (the next swap), into /tmp/$tag.inacc
# ("PORT FROM TO BEFORE AFTER", and "late" when the second list returned
# after END: it may count the next phase's commands, the test skips it).
# In the background: a list takes 0.5 to 1.5 s under fio's load here, more
# than 2.5 s at times beside run_script's monitor, and 6 s once while path
# 0 reconnected over RDMA; the swaps keep their times, and the samples (2.5
# and 5.5 s into a phase) leave 4.5 s for the second list.
ana__watch() {
	local s=${ANA_SLOT[$1]:-} a b late=
	[ "$tag" = nvmfuse ] && [ -n "$s" ] || return 0
	(
		ana__at "$2"
		a=$(path_u64 "$s" ios)
		ana__at "$3"
		b=$(path_u64 "$s" ios)
		[ $(($(vm_now_ms) - t0)) -le "$4" ] || late=late
		echo "$1 $2 $3 $a $b $late" >>"/tmp/$tag.inacc"
	) &
}
# ana_faults PA PB: the ANA fault script (run_script's FAULTS), from PA
# optimized and PB inaccessible. Times from its start (fio's), in s:
#    3  PA unlinked: no usable path (PB inaccessible) until 10
#   10  swap: PB optimized (the held I/O goes on through PB's ANA notice)
#   18  PA linked again (15 s gone): it reconnects, inaccessible
#   20  swap: PA optimized, PB inaccessible; 30, 40, 50 the same, both
#       ports linked (ANA failovers); fio ends at 60 (MPATH_RUNTIME)
# /tmp/$tag.nopath: the time (uptime ms) no port offered a usable path,
# "BEGIN END"; /tmp/$tag.inacc: see ana__watch (nvmfuse: the slot of
# each port in ANA_SLOT, an array the test sets; run_script's wait waits
# for those samples too).
ana_faults() {
	local pa=$1 pb=$2 t0 b
	t0=$(vm_now_ms)
	: >"/tmp/$tag.inacc"
	ana__at 3000
	vm_log "unlinking port $pa for 15 s"
	nvmet_unlink "$pa" "$nqn"
	b=$(vm_now_ms)
	ana__at 10000
	ana_set "$pb" optimized		# no ana_swap: PA is gone, nothing to break
	echo "$b $(vm_now_ms)" >"/tmp/$tag.nopath"
	vm_log "ANA: port $pb optimized (port $pa still unlinked)"
	ana_set "$pa" inaccessible
	ana__at 18000
	nvmet_link "$pa" "$nqn"
	vm_log "port $pa linked again"
	ana__at 20000
	ana_swap "$pa" "$pb"
	ana__watch "$pb" 22500 25500 30000
	ana__at 30000
	ana_swap "$pb" "$pa"
	ana__watch "$pa" 32500 35500 40000
	ana__at 40000
	ana_swap "$pa" "$pb"
	ana__watch "$pb" 42500 45500 50000
	ana__at 50000
	ana_swap "$pb" "$pa"
	ana__watch "$pa" 52500 55500 60000
}
# gap_outside TAG: XGAP, the longest time (ms) without a completion
# outside the no-path times of /tmp/TAG.nopath (a gap's part inside them
# left out), and XGAP_AT, the uptime (ms) that gap began at; from
# /tmp/TAG.done (longest_gap). What no host can avoid is not counted:
# what is left is the host's own delay (noticing the path that came
# back, reconnecting, failing over).
gap_outside() {
	local g
	g=$(awk 'FILENAME == ARGV[1] { b[n] = $1; e[n++] = $2; next }
		 FNR > 1 {
			g = $1 - p
			for (i = 0; i < n; i++) {
				lo = p > b[i] ? p : b[i]; hi = $1 < e[i] ? $1 : e[i]
				if (hi > lo) g -= hi - lo
			}
			if (g > m) { m = g; at = p }
		 }
		 { p = $1 }
		 END { print m + 0, at + 0 }' "/tmp/$1.nopath" "/tmp/$1.done")
	XGAP=${g% *} XGAP_AT=${g#* }
	vm_log "$1: no usable path (target side) $(tr '\n' ' ' <"/tmp/$1.nopath")ms;" \
		"longest time without a completion outside it: $XGAP ms, from uptime" \
		"$((XGAP_AT / 1000)).$(printf %03d $((XGAP_AT % 1000))) s"
}
