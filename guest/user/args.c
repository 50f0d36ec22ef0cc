/*
 * args.c - prints argc, every argv string, the number of environment
 * strings and getauxval(AT_PAGESZ), then exits with status argc.  Used to
 * test the initial process stack (argv, envp, auxv) the emulator builds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>

int main(int argc, char **argv, char **envp)
{
	int envc = 0;
	while (envp[envc] != NULL)
		envc++;

	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=\"%s\"\n", i, argv[i]);
	if (argv[argc] != NULL)
		printf("argv[argc] is not NULL!\n");
	printf("envc=%d\n", envc);
	printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
	fflush(stdout);
	exit(argc);
}
