#!/usr/bin/env bash
# run-qemu.sh - boot the teaching kernel under QEMU, serial on stdout.
#
#   ./run-qemu.sh [-k KERNEL] [-t SECONDS] [-m MIB] [-- QEMU-ARGS...] CMDLINE...
#
#   -k KERNEL   the kernel image (default build/kernel.elf)
#   -t SECONDS  give up after this long (default 600; exit status 124)
#   -m MIB      guest RAM (default 128)
#
# The exit status is the kernel's exit code (0 success, 1 a workload check
# failed, 2 kernel panic, 3 bad command line), 4 if QEMU stopped without the
# kernel writing one (a triple fault under -no-reboot), 124 on timeout.
set -u
cd "$(dirname "$0")"

kernel=build/kernel.elf
secs=600
mem=128
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	-k) kernel=$2; shift 2 ;;
	-t) secs=$2; shift 2 ;;
	-m) mem=$2; shift 2 ;;
	--) shift; while [ $# -gt 0 ] && [ "$1" != "--" ]; do extra+=("$1"); shift; done
	    [ $# -gt 0 ] && shift ;;
	*) break ;;
	esac
done

timeout "$secs" qemu-system-i386 -m "$mem" -display none -serial stdio -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$kernel" -append "$*" ${extra[@]+"${extra[@]}"} </dev/null
s=$?
if [ "$s" = 124 ]; then
	exit 124
elif [ $((s & 1)) = 1 ]; then
	exit $((s >> 1))
else
	exit 4
fi
