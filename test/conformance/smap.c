/*
 * smap.c -- SMEP and SMAP (SDM vol. 3, 4.6.1), in 32-bit and in PAE paging: a supervisor fetch
 * from a user page faults with CR4.SMEP (#PF with I/D); supervisor reads and writes of user pages
 * fault with CR4.SMAP unless EFLAGS.AC=1, which STAC sets and CLAC clears (#UD at ring 3);
 * implicit supervisor accesses (the descriptor read of a segment load, from an LDT on a user
 * page) fault under SMAP whatever the ring — from ring 3 the error code says supervisor (U/S=0).
 * Under a hypervisor the guest's kernel runs deprivileged (at ring 1 under trap), still a
 * supervisor: each violation must come back to the guest as the same #PF, never be swallowed.
 *
 * Checked only with "sdm" on the command line (shadowvisor's runs pass it; QEMU's do not), because
 * QEMU's TCG follows an older SDM there: an implicit supervisor access at CPL 0-2 with EFLAGS.AC=1
 * (TCG lets it through; the SDM faults it).
 * @qemu -cpu max
 * @run --cpu max --append sdm
 */
#include "lib/conformance.h"

#define PAGE		0x1000u
#define CR0_WP		0x00010000u
#define CR4_PAE		0x00000020u
#define CR4_SMEP	0x00100000u
#define CR4_SMAP	0x00200000u
#define EFLAGS_AC	0x00040000u

#define USER_DATA	0x00300000u	/* a user page of data */
#define USER_CODE	0x00301000u	/* a user page of code */
#define LDT_PAGE	0x00302000u	/* a user page holding an LDT */
#define LDT_SEL		0x30u		/* GDT entry 6 */

static u32 page_dir[1024] __attribute__((aligned(4096)));
static u32 page_table[1024] __attribute__((aligned(4096)));
static u64 pdpt[4] __attribute__((aligned(32)));
static u64 pae_dir[512] __attribute__((aligned(4096)));
static u64 pae_tables[2][512] __attribute__((aligned(4096)));
static u8 user_stack[4096] __attribute__((aligned(4096)));
static u64 gdt2[8] __attribute__((aligned(8)));
static struct fault f;
static int sdm;	/* "sdm" on the command line: also check where QEMU's TCG differs from the SDM */

void do_read(void *arg);
void do_write(void *arg);
void do_call(void *arg);
void do_load_es(void *arg);
extern u8 read_at[], write_at[], load_es_at[];
/* Ring-3 snippets, copied to USER_CODE: read (%ebx); load ES with the LDT selector; STAC. */
extern u8 user_snippets[], user_snippets_end[], user_read[], user_load_es[], user_stac[];
__asm__(
	".text\n"
	"do_read: mov 4(%esp), %eax\n read_at: mov (%eax), %eax\n ret\n"
	"do_write: mov 4(%esp), %eax\n write_at: movl $0x12345678, (%eax)\n ret\n"
	"do_call: mov 4(%esp), %eax\n call *%eax\n ret\n"
	"do_load_es: push %es\n mov $0x0c, %ax\n load_es_at: mov %ax, %es\n pop %es\n ret\n"
	"user_snippets: ret\n"
	"user_read: mov (%ebx), %eax\n int $0x80\n"
	"user_load_es: mov $0x0f, %ax\n mov %ax, %es\n int $0x80\n"
	"user_stac: stac\n int $0x80\n"
	"user_snippets_end:\n");

/* Where a snippet lives once copied to USER_CODE. */
static u32 at_user(const u8 *snippet) { return USER_CODE + (u32)(snippet - user_snippets); }

static void run_user(void *eip)
{
	ring3_call((u32)eip, (u32)user_stack + sizeof(user_stack), USER_DATA);
}

static void stac(void) { __asm__ volatile("stac" ::: "memory"); }
static void clac(void) { __asm__ volatile("clac" ::: "memory"); }

static void check(const char *what, u32 vector, u32 error, u32 eip)
{
	print("  %s\n", what);
	report_eq(f.vector, vector, "  vector");
	report_eq(f.error, error, "  error code");
	if (eip)
		report_eq(f.eip, eip, "  EIP pushed");
}

static int user_page(u32 page)
{
	u32 a = page * PAGE;
	return a == USER_DATA || a == USER_CODE || a == LDT_PAGE || a == (u32)user_stack;
}

/* 0-4 MiB identity-mapped, supervisor pages but for the user ones; 32-bit or PAE paging. */
static void paging_on(int pae)
{
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~(CR4_PAE | CR4_SMEP | CR4_SMAP));
	if (pae) {
		for (u32 i = 0; i < 1024; i++)
			pae_tables[i / 512][i % 512] = i * PAGE | PTE_P | PTE_RW | (user_page(i) ? PTE_US : 0);
		pae_dir[0] = (u32)pae_tables[0] | PTE_P | PTE_RW | PTE_US;
		pae_dir[1] = (u32)pae_tables[1] | PTE_P | PTE_RW | PTE_US;
		pdpt[0] = (u32)pae_dir | PTE_P;
		write_cr3((u32)pdpt);
		write_cr4(read_cr4() | CR4_PAE);
	} else {
		for (u32 i = 0; i < 1024; i++)
			page_table[i] = i * PAGE | PTE_P | PTE_RW | (user_page(i) ? PTE_US : 0);
		page_dir[0] = (u32)page_table | PTE_P | PTE_RW | PTE_US;
		write_cr3((u32)page_dir);
	}
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

static void checks(int pae)
{
	print("%s paging\n", pae ? "PAE" : "32-bit");
	paging_on(pae);
	clac();
	report(!catch_fault(do_call, (void *)USER_CODE, &f), "without SMEP the kernel may run code on a user page");
	report(!catch_fault(do_read, (void *)USER_DATA, &f), "without SMAP it may read a user page");

	write_cr4(read_cr4() | CR4_SMEP);
	catch_fault(do_call, (void *)USER_CODE, &f);
	check("SMEP: a supervisor fetch from a user page: #PF(P|I/D) at the target", 14, 0x11, USER_CODE);
	report_eq(read_cr2(), USER_CODE, "  CR2");
	report(!catch_fault(do_read, (void *)USER_DATA, &f), "  reads are not SMEP's business");
	catch_fault(run_user, (void *)at_user(user_read), &f);
	report_eq(f.vector, NO_FAULT, "  ring 3 still runs its own code");

	write_cr4(read_cr4() | CR4_SMAP);
	catch_fault(do_read, (void *)USER_DATA, &f);
	check("SMAP, AC=0: a supervisor read of a user page: #PF(P)", 14, 0x1, (u32)read_at);
	report_eq(read_cr2(), USER_DATA, "  CR2");
	catch_fault(do_write, (void *)(USER_DATA + 4), &f);
	check("SMAP, AC=0: a supervisor write: #PF(P|W)", 14, 0x3, (u32)write_at);
	stac();
	report(read_eflags() & EFLAGS_AC, "STAC sets EFLAGS.AC");
	report(!catch_fault(do_read, (void *)USER_DATA, &f), "SMAP, AC=1: the read goes through");
	report(!catch_fault(do_write, (void *)(USER_DATA + 4), &f) && *(volatile u32 *)(USER_DATA + 4) == 0x12345678,
	       "SMAP, AC=1: the write goes through");
	clac();
	report(!(read_eflags() & EFLAGS_AC), "CLAC clears it");
	catch_fault(do_read, (void *)USER_DATA, &f);
	check("  and the read faults again", 14, 0x1, (u32)read_at);
	catch_fault(run_user, (void *)at_user(user_read), &f);
	report_eq(f.vector, NO_FAULT, "SMAP does not apply to ring 3's own reads");

	catch_fault(do_load_es, 0, &f);
	check("implicit, ring 0, AC=0: a segment load from an LDT on a user page: #PF(P)", 14, 0x1, (u32)load_es_at);
	report_eq(read_cr2(), LDT_PAGE + 8, "  CR2 is the descriptor's address");
	catch_fault(run_user, (void *)at_user(user_load_es), &f);
	check("implicit, ring 3: the same load from ring 3 faults as a supervisor access: #PF(P), U/S=0", 14, 0x1,
	      at_user(user_load_es) + 4);
	if (sdm) {
		stac();
		catch_fault(do_load_es, 0, &f);
		clac();
		check("implicit, ring 0, AC=1: EFLAGS.AC does not lift SMAP for implicit accesses: #PF(P)", 14, 0x1, (u32)load_es_at);
	}
	write_cr4(read_cr4() & ~CR4_SMAP);
	report(!catch_fault(do_load_es, 0, &f), "without SMAP the load goes through");
	catch_fault(run_user, (void *)at_user(user_load_es), &f);
	report_eq(f.vector, NO_FAULT, "  from ring 3 too");

	catch_fault(run_user, (void *)at_user(user_stac), &f);
	check("STAC at ring 3: #UD", 6, NO_ERROR, at_user(user_stac));
	write_cr4(read_cr4() & ~CR4_SMEP);
}

static int contains(const char *s, const char *word)
{
	for (; *s; s++) {
		const char *a = s, *b = word;
		while (*b && *a == *b)
			a++, b++;
		if (!*b)
			return 1;
	}
	return 0;
}

void conformance_main(u32 magic, struct multiboot_info *info)
{
	(void)magic;
	sdm = (info->flags & MB_CMDLINE) && contains((const char *)info->cmdline, "sdm");
	u32 r[4];
	cpuid(0, r);
	u32 ebx7 = 0;
	if (r[0] >= 7) {
		cpuid(7, r);
		ebx7 = r[1];
	}
	report(ebx7 & (1u << 7), "CPUID.(07H,0):EBX reports SMEP");
	report(ebx7 & (1u << 20), "CPUID.(07H,0):EBX reports SMAP");
	if ((ebx7 & ((1u << 7) | (1u << 20))) != ((1u << 7) | (1u << 20)))
		return;

	idt_set(0x80, isr_ring3_exit, 3);
	/*
	 * A GDT with an LDT descriptor (entry 6): guest/bare's flat segments, then LLDT. (Not a copy
	 * made with SGDT: under trap-and-emulate SGDT shows the shadow GDT, a known leak. Entry 5,
	 * the TSS, stays empty: TR keeps the TSS it loaded, and nothing here reloads it.)
	 */
	struct __attribute__((packed)) { u16 limit; u32 base; } gdtr;
	gdt2[1] = 0x00cf9a000000ffffull;
	gdt2[2] = 0x00cf92000000ffffull;
	gdt2[3] = 0x00cffa000000ffffull;
	gdt2[4] = 0x00cff2000000ffffull;
	gdt2[6] = (u64)0x000082000000000full | (u64)(LDT_PAGE & 0xffffff) << 16 | (u64)(LDT_PAGE >> 24) << 56;
	gdtr.base = (u32)gdt2;
	gdtr.limit = sizeof(gdt2) - 1;
	__asm__ volatile("lgdt %0" : : "m"(gdtr));
	/* LDT entry 1: flat data, DPL 3 (selector 0x0c at ring 0, 0x0f at ring 3). */
	((volatile u64 *)LDT_PAGE)[1] = 0x00cff2000000ffffull;
	__asm__ volatile("lldt %w0" : : "r"(LDT_SEL));
	for (const u8 *p = user_snippets; p < user_snippets_end; p++)
		((volatile u8 *)USER_CODE)[p - user_snippets] = *p;

	checks(0);
	checks(1);
	write_cr0(read_cr0() & ~CR0_PG);
}
