#!/bin/bash
# Helpers the guest benches share (sourced after /vmtest/lib.sh; listed in
# a bench's "# vm-files:" line). They read the whole guest's CPU from
# /proc/stat and run fio and `nvmfuse perf` the same way in every bench,
# so that the benches' numbers compare.

hz=100	# /proc/stat and /proc/PID/stat count in USER_HZ, 100 on x86 Linux

busy_jiffies() {	# all CPUs: user+nice+system+irq+softirq+steal
	awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat
}

# fio_run DEV RW BS QD -> "iops clat_mean_us cpu_us_per_io ios lat_mean_us"
# ($secs s, libaio, direct). clat is fio's completion latency (from
# io_submit's return to the completion); lat adds the submission time.
# The kernel host sends the command inside io_submit, so its clat leaves
# much of its latency out: compare lat.
fio_run() {
	local b0 b1 line
	b0=$(busy_jiffies)
	line=$(fio --name=b --filename="$1" --ioengine=libaio --direct=1 --rw="$2" --bs="$3" \
		--iodepth="$4" --numjobs=1 --time_based --runtime="$secs" --size=512m \
		--randrepeat=0 --output-format=terse --terse-version=3 2>/dev/null)
	b1=$(busy_jiffies)
	# terse v3: read iops $8, runtime ms $9, clat mean $16, lat mean $40 (us);
	# write $49 $50 $57 $81.
	echo "$line" | awk -F';' -v j=$((b1 - b0)) -v hz="$hz" '{
		iops = $8 + $49; ios = $8 * $9 / 1000 + $49 * $50 / 1000;
		clat = $8 > 0 ? $16 : $57; lat = $8 > 0 ? $40 : $81;
		cpu = ios ? j * 1000000 / hz / ios : 0;
		printf "%.0f %.0f %.0f %.0f %.0f\n", iops, clat, cpu, ios, lat }'
}

# perf_run RW BS QD -> "iops mibs avg_us": `nvmfuse perf` (the engine
# alone, one I/O queue, no frontend) against $nqn at $TEST_ADDR:4420.
perf_run() {
	nvmfuse perf -t "$TEST_TR" -a "$TEST_ADDR" -s 4420 -n "$nqn" -i 1 -q "$3" -o "$2" -w "$1" \
		-T "$secs" 2>/dev/null |
		awk '$1 == "read" || $1 == "write" {printf "%.0f %.1f %.1f\n", $2, $3, $4; exit}'
}

# loop_once NODE[:id] SECONDS -> "ops secs busy_jiffies": one tests/ioctl-loop
# run of 4 KiB Reads ($lba-byte blocks) by NVME_IOCTL_IO64_CMD at QD 1;
# with :id it loops on NVME_IOCTL_ID, which no NVMe command serves
loop_once() {
	local b0 b1 out mode=read
	[ "${1%:id}" = "$1" ] || mode=id
	b0=$(busy_jiffies)
	out=$(ioctl-loop "${1%:id}" -t "$2" -l "$lba" -m "$mode") || vm_fail "ioctl-loop -m $mode on ${1%:id} failed"
	b1=$(busy_jiffies)
	echo "$out" | awk -v j=$((b1 - b0)) '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print v["ops"], v["secs"], j }'
}

# mean "A, B, ..." [DECIMALS]: the mean of a comma-separated list (0 decimals by default).
mean() { awk -v l="$1" -v d="${2:-0}" 'BEGIN{n = split(l, x, ", "); for (k = 1; k <= n; k++) t += x[k]; printf "%." d "f", n ? t / n : 0}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b ? a / b : 0}'; }
