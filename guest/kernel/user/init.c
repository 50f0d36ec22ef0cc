/*
 * init.c - the first user process.
 *
 *   init WORKLOAD [key=value ...]
 *
 * The kernel starts it with the workload named on the command line and its
 * knobs.  init forks, the child execs the workload, and init waits -- for it
 * and for any orphan that ends up as init's child -- then exits with 0 if
 * the workload exited with 0, else 1.  When init exits, the kernel prints the
 * summary and stops the machine.
 */
#include "ulib.h"

int main(int argc, char **argv)
{
	int pid, r, status = 1, st;
	unsigned t0, t1, hz = uptime(UPTIME_HZ);

	if (argc < 2) {
		printf("init: no workload\n");
		return 1;
	}
	printf("init: running");
	for (r = 1; r < argc; r++)
		printf(" %s", argv[r]);
	printf("\n");

	t0 = uptime(UPTIME_TICKS);
	pid = fork();
	if (pid < 0) {
		printf("init: fork failed (%d)\n", pid);
		return 1;
	}
	if (pid == 0) {
		r = exec(argv[1], argv + 1);
		printf("init: exec %s failed (%d)\n", argv[1], r);
		exit(127);
	}
	while ((r = wait(&st)) >= 0)
		if (r == pid)
			status = st;
	t1 = uptime(UPTIME_TICKS);
	printf("init: %s exited with status %d\n", argv[1], status);
	printf("time: %s ran %u ticks (%u ms) under init\n", argv[1], t1 - t0,
	       (t1 - t0) * 1000 / hz);
	return status == 0 ? 0 : 1;
}
