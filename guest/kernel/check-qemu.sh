#!/usr/bin/env bash
# check-qemu.sh - every workload x irq mode under QEMU against the Linux build.
#
#   ./check-qemu.sh [--no-build] [-j JOBS]
#
# For each workload at two small sizes: run the Linux build natively (the
# expected output), then boot the kernel under QEMU with irq=cli and with
# irq=popf, and check
#   - the kernel's exit code is 0 and its `done:` line says status=0,
#   - the checksum lines equal the Linux build's,
#   - everything the workload printed (minus `time:` lines and the kernel's
#     own `kernel:` lines) equals what the Linux build printed,
#   - irq=cli and irq=popf printed the same (minus the lines naming the mode).
# Prints a table; exits 1 on any mismatch.
set -u
cd "$(dirname "$0")"

build=1
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) build=0; shift ;;
	-j) jobs=$2; shift 2 ;;
	*) echo "usage: $0 [--no-build] [-j JOBS]" >&2; exit 2 ;;
	esac
done

if [ "$build" = 1 ]; then
	make -s all linux || exit 1
fi

# workload|arguments -- two sizes each.
cases=(
	"cpu|n=1" "cpu|n=3"
	"forkwait|n=20" "forkwait|n=150"
	"syscall|n=100" "syscall|n=5000"
	"pagefault|n=16 rounds=2" "pagefault|n=300 rounds=3"
	"ctxsw|n=10 procs=2" "ctxsw|n=200 procs=6"
	"ptemod|n=10 pages=4" "ptemod|n=100 pages=32"
	"popf|n=10 work=16" "popf|n=200 work=300"
	"mix|n=1" "mix|n=2"
	"selftest|"
)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Run one case into $out/<i>.{linux,cli,popf} (+ .rc files).
run_case() {
	local i=$1 w=$2 args=$3 m
	# shellcheck disable=SC2086
	./build/linux/"$w" $args >"$out/$i.linux" 2>&1
	echo $? >"$out/$i.linux.rc"
	for m in cli popf; do
		# shellcheck disable=SC2086
		./run-qemu.sh -t 300 workload="$w" irq=$m $args >"$out/$i.$m" 2>&1
		echo $? >"$out/$i.$m.rc"
	done
}

i=0
for c in "${cases[@]}"; do
	run_case "$i" "${c%%|*}" "${c#*|}" &
	i=$((i + 1))
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
done
wait

checksums() { grep -a '^checksum ' "$1"; }
last_checksum() { checksums "$1" | tail -1 | awk '{print $3}'; }
# What the workload printed under the kernel: between init's first and
# last line, without time: and kernel: lines.
workload_lines() {
	sed -n '/^init: running/,/^init: .* exited with status/p' "$1" |
		grep -av '^init: \|^time: \|^kernel: '
}
# Everything but the lines that name the mode or the time.
mode_free() { grep -av '^time: \|^cmdline: \|^irq: \|^done: ' "$1"; }

fail=0
printf '%-10s %-18s %-12s %-12s %-12s %s\n' workload arguments linux qemu/cli qemu/popf result
i=0
for c in "${cases[@]}"; do
	w=${c%%|*}
	args=${c#*|}
	problems=()
	[ "$(cat "$out/$i.linux.rc")" = 0 ] || problems+=("linux exit $(cat "$out/$i.linux.rc")")
	for m in cli popf; do
		rc=$(cat "$out/$i.$m.rc")
		[ "$rc" = 0 ] || problems+=("$m: exit code $rc")
		grep -aq "^done: workload=$w irq=$m status=0\$" "$out/$i.$m" ||
			problems+=("$m: no done line with status=0")
		[ "$(checksums "$out/$i.$m")" = "$(checksums "$out/$i.linux")" ] ||
			problems+=("$m: checksums differ")
		diff -q <(workload_lines "$out/$i.$m") <(grep -av '^time: ' "$out/$i.linux") >/dev/null ||
			problems+=("$m: output differs from linux")
	done
	diff -q <(mode_free "$out/$i.cli") <(mode_free "$out/$i.popf") >/dev/null ||
		problems+=("cli and popf output differ")
	if [ ${#problems[@]} = 0 ]; then
		result=ok
	else
		result="FAIL: $(IFS=';'; echo "${problems[*]}")"
		fail=1
	fi
	printf '%-10s %-18s %-12s %-12s %-12s %s\n' "$w" "${args:--}" \
		"$(last_checksum "$out/$i.linux")" "$(last_checksum "$out/$i.cli")" \
		"$(last_checksum "$out/$i.popf")" "$result"
	if [ "$result" != ok ]; then
		for m in linux cli popf; do
			echo "--- $m output of $w $args:"
			tail -n 25 "$out/$i.$m" | sed 's/^/    /'
		done
	fi
	i=$((i + 1))
done

if [ "$fail" = 0 ]; then
	echo "check-qemu: all ${#cases[@]} cases x 2 irq modes match the Linux build"
else
	echo "check-qemu: MISMATCH"
fi
exit "$fail"
