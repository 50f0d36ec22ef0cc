/*
 * cmdline.c - the kernel command line.
 *
 *   [kernel-path] key=value ...
 *
 * The boot loader may put the kernel's own path first (QEMU and GRUB do):
 * a first word without '=' is skipped.  Keys:
 *   workload=NAME   cpu forkwait syscall pagefault ctxsw ptemod popf mix
 *                   selftest (default mix), or the name of a multiboot
 *                   module (exec.c), which gets the other key=value
 *                   words as its arguments, unchecked
 *   irq=cli|popf    the interrupt-masking discipline (default cli)
 *   hz=N            timer frequency, 19..10000 (default 100)
 *   KNOB=N          a size knob of the workload (common/workloads.h)
 * Anything else: a message and exit code 3.
 */
#include "defs.h"
#include "irq.h"
#include "../common/workloads.h"

struct bootopts bootopts = { "mix", IRQ_CLI, DEFAULT_HZ, 0, { 0 } };
static char words[sizeof(boot_cmdline)];

static void usage(void)
{
	const struct knob *k;
	int i;

	printk("usage: workload=NAME irq=cli|popf hz=N [KNOB=N ...]\n");
	printk("workloads and knobs (default, range):\n");
	for (i = 0; workload_names[i]; i++) {
		printk("  %s", workload_names[i]);
		for (k = knobs; k->workload; k++)
			if (strcmp(k->workload, workload_names[i]) == 0)
				printk("  %s=%u (%u..%u)", k->key, k->def,
				       k->min, k->max);
		printk("\n");
	}
}

static void bad(const char *what, const char *word)
{
	printk("cmdline: %s: '%s'\n", what, word);
	usage();
	machine_exit(EXIT_BADCMD);
}

/* A decimal number in [min, max], or -1. */
static int64_t number(const char *s, uint32_t min, uint32_t max)
{
	uint64_t v = 0;
	int n = 0;

	for (; *s; s++, n++) {
		if (*s < '0' || *s > '9' || n >= 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (n == 0 || v < min || v > max)
		return -1;
	return (int64_t)v;
}

void cmdline_parse(char *cl)
{
	char *p = words, *word, *eq;
	int first = 1, i, j;

	strlcpy(words, cl, sizeof(words));
	while (*p) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		word = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = '\0';

		eq = word;
		while (*eq && *eq != '=')
			eq++;
		if (!*eq) {
			if (first) {	/* the boot loader's kernel path */
				first = 0;
				continue;
			}
			bad("not key=value", word);
		}
		first = 0;
		*eq = '\0';
		if (strcmp(word, "workload") == 0) {
			bootopts.workload = eq + 1;
		} else if (strcmp(word, "irq") == 0) {
			if (strcmp(eq + 1, "cli") == 0)
				bootopts.irq_mode = IRQ_CLI;
			else if (strcmp(eq + 1, "popf") == 0)
				bootopts.irq_mode = IRQ_POPF;
			else {
				*eq = '=';
				bad("irq must be cli or popf", word);
			}
		} else if (strcmp(word, "hz") == 0) {
			int64_t v = number(eq + 1, 19, 10000);

			*eq = '=';
			if (v < 0)
				bad("hz must be a number from 19 to 10000", word);
			bootopts.hz = (uint32_t)v;
		} else {
			*eq = '=';
			if (bootopts.nargs == MAXARGS - 2)
				bad("too many arguments", word);
			bootopts.args[bootopts.nargs++] = word;
		}
	}

	/* A built-in workload, or else a multiboot module: a program of the
	 * user's, which gets the other arguments as they are. */
	for (i = 0; workload_names[i]; i++)
		if (strcmp(workload_names[i], bootopts.workload) == 0)
			break;
	if (!workload_names[i]) {
		if (!module_exists(bootopts.workload))
			bad("unknown workload (and no such module)",
			    bootopts.workload);
		return;
	}

	/* The knobs, now that the workload is known. */
	for (i = 0; i < bootopts.nargs; i++) {
		const struct knob *k;
		char *w = bootopts.args[i];
		size_t klen;

		eq = w;
		while (*eq != '=')
			eq++;
		klen = (size_t)(eq - w);
		for (k = knobs; k->workload; k++)
			if (strcmp(k->workload, bootopts.workload) == 0 &&
			    strlen(k->key) == klen && strncmp(k->key, w, klen) == 0)
				break;
		if (!k->workload)
			bad("unknown key for this workload", w);
		if (number(eq + 1, k->min, k->max) < 0)
			bad("value out of range", w);
		for (j = 0; j < i; j++)
			if (strncmp(bootopts.args[j], w, klen + 1) == 0)
				bad("key given twice", w);
	}
}
