/*
 * exitcode.c - freestanding program that prints one line and exits with
 * status 42 (returned from main; _start passes it to exit_group).  Used to
 * test that a guest's exit status propagates to the host.
 */
#include "lib/sys.h"

int main(void)
{
	print_str("exitcode: exiting with status 42\n");
	return 42;
}
