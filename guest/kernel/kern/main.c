/*
 * main.c - boot, and the end of the run.
 */
#include "defs.h"
#include "proc.h"
#include "x86.h"
#include "irq.h"

static uint32_t frames_at_start;

static const char *irq_name(void)
{
	return irq_mode == IRQ_POPF ? "popf" : "cli";
}

/* The command line without the boot loader's kernel path. */
static const char *options(const char *cl)
{
	const char *p = cl, *eq = cl;

	while (*p == ' ')
		p++;
	for (eq = p; *eq && *eq != ' ' && *eq != '='; eq++)
		;
	if (*eq != '=') {		/* the first word is a path: skip it */
		p = eq;
		while (*p == ' ')
			p++;
	}
	return p;
}

/* Entered from boot.S: paging off, interrupts off, on the boot stack. */
void kmain(uint32_t magic, uint32_t mbi)
{
	uint32_t kb = 0;
	int i;

	uart_init();
	printk("\nshadowvisor teaching kernel (i386, multiboot, 4 KiB pages)\n");
	multiboot_parse(magic, mbi);
	for (i = 0; i < nram; i++)
		kb += (ram[i].end - ram[i].start) / 1024;
	printk("memory: lower %u KiB, upper %u KiB; %u KiB available in %d ranges, top 0x%08x\n",
	       mem_lower_kb, mem_upper_kb, kb, nram, ram_top);
	for (i = 0; i < nmodules; i++)
		printk("module: '%s' %u bytes\n", modules[i].name,
		       modules[i].end - modules[i].start);
	printk("cmdline: %s\n", options(boot_cmdline));
	cmdline_parse(boot_cmdline);
	irq_mode = bootopts.irq_mode;

	seg_init();
	idt_init();
	pic_init();
	pit_init(bootopts.hz);
	frame_init();
	kvm_init();
	frames_at_start = frames_free();
	printk("paging: on; %u KiB of RAM mapped 1:1 for the kernel; %u free frames (%u KiB)\n",
	       (ram_top - 4096) / 1024, frames_at_start, frames_at_start * 4);
	printk("irq: %s; timer %u Hz\n", irq_name(), bootopts.hz);

	proc_init();
	user_init();

	/* Boot ends here: the boot code becomes the idle process and
	 * interrupts go on for good. */
	irq_depth = 0;
	sti();
	idle_loop();
}

/* init exited: report and leave the machine. */
void finish(int status)
{
	int code = status == 0 ? EXIT_SUCCESS : EXIT_FAILED;
	uint32_t leaked = frames_at_start - frames_free();

	printk("time: ticks=%u hz=%u syscalls=%u switches=%u page_faults=%u cow_copies=%u\n",
	       ticks, bootopts.hz, stat_syscalls, stat_switches, stat_faults,
	       stat_cow_copies);
	if (leaked) {
		printk("kernel: %u frames were not freed\n", leaked);
		code = EXIT_FAILED;
	}
	printk("done: workload=%s irq=%s status=%d\n", bootopts.workload,
	       irq_name(), code);
	machine_exit(code);
}
