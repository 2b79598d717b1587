# mpath-lib.sh: the multipath guest tests' shared shell (nvmfuse-multipath,
# nvmfuse-mpath-rdma, nvmfuse-mpath-policy): the per-path counters of
# `nvmfuse list -o json`, and the failover script with its stall
# measurement, the same for nvmfuse and the kernel host. A test lists it
# in "# vm-files: tests/vm/mpath-lib.sh" and sources it after lib.sh:
#     . /vmtest/mpath-lib.sh
# run_script and flip unlink ports from subsystem $nqn (the test's).

# path_json SLOT: the paths entry of slot SLOT (one line).
path_json() {
	nvmfuse list -o json | sed 's/.*"paths":\[//; s/\]}.*//' | sed 's/},{/}\n{/g' |
		{ grep "\"slot\":$1," || true; }
}
path_u64() {	# path_u64 SLOT KEY
	path_json "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# The fio job and the fault script, the same for nvmfuse and the kernel host.
# flip PORT: unlink PORT from the subsystem for 15 s, then link it again.
flip() {
	vm_log "unlinking port $1 for 15 s"
	nvmet_unlink "$1" "$nqn"
	sleep 15
	nvmet_link "$1" "$nqn"
	vm_log "port $1 linked again"
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
# run_script DEV TAG [PORT PORT]: fio verify with the port flips meanwhile
# (the first port for 15 s, 4 s later the second; ports 1 and 2 unless
# given). RES_STALL:
# its longest time without a completion (longest_gap). RES_MAX, RES_N:
# the slowest of RES_N single 4 KiB reads by a dd loop beside (each read
# waits behind fio's 128 commands, and dd starts under emulation:
# informative only). Leaves /tmp/TAG.{fio,lat,done} and
# /tmp/TAG_iops.*.log.
run_script() {
	local dev=$1 tag=$2 pa=${3:-1} pb=${4:-2} fio_pid t0 t1
	fio --name=mpath --filename="$dev" --ioengine=libaio --direct=1 --numjobs=4 \
		--iodepth=32 --size=40m --offset_increment=48m --bsrange=4k-64k \
		--rw=randwrite --verify=crc32c --verify_fatal=1 --verify_backlog=512 \
		--do_verify=1 --time_based --runtime=44 --randseed=42 --group_reporting \
		$(fio_done_log "$tag") >"/tmp/$tag.fio" 2>&1 &
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
				echo "$(vm_now_ms) p0 $(path_u64 0 inflight)/$(path_u64 0 ios)" \
					"p1 $(path_u64 1 inflight)/$(path_u64 1 ios)"
				sleep 1
			done
		) >"/tmp/$tag.paths" 2>/dev/null &
	fi
	sleep 5
	flip "$pa"
	sleep 4
	flip "$pb"
	wait "$fio_pid" || { cat "/tmp/$tag.fio"; vm_fail "$tag: fio verify failed"; }
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
