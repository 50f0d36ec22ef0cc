/*
 * multiboot.c - read what the boot loader left for us.
 *
 * The multiboot information lives in memory the frame allocator is about to
 * hand out, so everything we need is copied into the kernel's own variables
 * first: the command line, the available RAM ranges (from the memory map,
 * or from mem_upper if there is none), and the modules.
 */
#include "defs.h"
#include "multiboot.h"

char boot_cmdline[512];
struct memrange ram[NMEMRANGES];
int nram;
uint32_t ram_top;
uint32_t mem_lower_kb, mem_upper_kb;
struct module modules[NMODULES];
int nmodules;

static void add_ram(uint64_t start, uint64_t len)
{
	uint64_t end = start + len;

	if (end > PHYS_MAX)
		end = PHYS_MAX;
	if (start >= end)
		return;
	if (nram == NMEMRANGES) {
		printk("boot: too many memory ranges, ignoring 0x%x+\n",
		       (uint32_t)start);
		return;
	}
	ram[nram].start = (uint32_t)start;
	ram[nram].end = (uint32_t)end;
	if (ram[nram].end > ram_top)
		ram_top = ram[nram].end;
	nram++;
}

void multiboot_parse(uint32_t magic, uint32_t mbi_pa)
{
	struct multiboot_info *mbi = (struct multiboot_info *)mbi_pa;

	if (magic != MB_BOOT_MAGIC)
		panic("not booted by a multiboot loader (EAX = 0x%x)", magic);

	if (mbi->flags & MBI_CMDLINE)
		strlcpy(boot_cmdline, (const char *)mbi->cmdline,
			sizeof(boot_cmdline));

	if (mbi->flags & MBI_MEM) {
		mem_lower_kb = mbi->mem_lower;
		mem_upper_kb = mbi->mem_upper;
	}

	if (mbi->flags & MBI_MMAP) {
		uint32_t p = mbi->mmap_addr;

		while (p < mbi->mmap_addr + mbi->mmap_length) {
			struct multiboot_mmap *e = (struct multiboot_mmap *)p;

			if (e->type == 1 && e->addr_hi == 0)
				add_ram(e->addr_lo,
					((uint64_t)e->len_hi << 32) | e->len_lo);
			p += e->size + 4;
		}
	} else if (mbi->flags & MBI_MEM) {
		add_ram(0, (uint64_t)mem_lower_kb * 1024);
		add_ram(0x100000, (uint64_t)mem_upper_kb * 1024);
	}
	if (nram == 0)
		panic("the boot loader reported no memory");

	if (mbi->flags & MBI_MODS) {
		struct multiboot_mod *m = (struct multiboot_mod *)mbi->mods_addr;
		uint32_t i;

		for (i = 0; i < mbi->mods_count; i++) {
			if (nmodules == NMODULES) {
				printk("boot: more than %d modules, ignoring the rest\n",
				       NMODULES);
				break;
			}
			modules[nmodules].start = m[i].mod_start;
			modules[nmodules].end = m[i].mod_end;
			strlcpy(modules[nmodules].name,
				m[i].string ? (const char *)m[i].string : "",
				sizeof(modules[nmodules].name));
			nmodules++;
		}
	}
}
