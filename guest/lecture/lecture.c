/*
 * lecture.c -- the memory example of the virtualization lecture (shadow page tables),
 * acted out by a tiny guest OS, from the guest's point of view.
 *
 * The guest builds its page tables with the lecture's own numbers -- page directory at
 * GPA 0x1000, one page table at GPA 0x7000 -- and runs an application that loads from
 * GVA 0x2123 (not allocated yet: the guest allocates it lazily on the page fault) and from
 * GVA 0x5123 (mapped up front). It switches CR3 to a second page directory and back, and
 * updates its page table again. Every step prints one line on COM1, starting "step N:",
 * so that the hypervisor can later replay the same run and put its own view (shadow page
 * table built, deleted, rebuilt; writes to the guest's page table trapped) next to these.
 *
 * Guest-physical memory (GPA), all below 64 KiB except the kernel:
 *   0x1000  page directory of process 1 (CR3 = 0x1000)        PDE 0 -> 0x7000
 *   0x3000  page directory of process 2 (CR3 = 0x3000)        PDE 0 -> 0x7000 (shared table)
 *   0x7000  the page table for GVA 0 - 4 MiB
 *   0x8000  the frame behind GVA 0x5000, holding 0xda7a5123 at offset 0x123
 *   0x9000  first frame of the bump allocator (0x9000, 0xa000, 0xb000, ... up to 0xffff)
 *   1 MiB   the kernel (and, in their own pages, the application's code and stack)
 *
 * Guest-virtual memory (GVA), through the page table at 0x7000:
 *   0x1000, 0x3000, 0x7000   -> same GPA, supervisor   (the guest edits its own tables)
 *   0x8000 - 0xffff          -> same GPA, supervisor   (the kernel's view of its frames)
 *   1 MiB ...                -> same GPA, supervisor   (the kernel)
 *   the application's pages  -> same GPA, user         (its code page and stack page)
 *   0x5000                   -> GPA 0x8000, user       (mapped up front)
 *   0x2000, 0x6000           -> not present            (user memory allocated lazily)
 * Everything else is not present (GVA 0 included, so null pointers fault).
 *
 * Both "processes" share the one page table: the second page directory's PDE 0 points to
 * 0x7000 too. So the lecture's single guest page table is the only one the hypervisor has
 * to shadow and write-protect, and switching CR3 changes nothing the application sees --
 * which is exactly what makes it visible that the shadow is rebuilt, not the guest's view.
 *
 * No interrupts (IF stays 0), no timer: the run is the same every time.
 */

#include "../bare/bare.h"

/* ---- The lecture's numbers ---------------------------------------------------------- */

#define PD_PROCESS1	0x1000u		/* CR3 of process 1 */
#define PD_PROCESS2	0x3000u		/* CR3 of process 2 */
#define PT		0x7000u		/* the page table: GVA 0 - 4 MiB */
#define DATA_FRAME	0x8000u		/* the GPA behind GVA 0x5000 */
#define DATA_GVA	0x5000u
#define DATA_VALUE	0xda7a5123u	/* at GPA 0x8123 = GVA 0x5123 */
#define FRAMES_START	0x9000u		/* the bump allocator's first frame */
#define FRAMES_END	0x10000u
#define LAZY_START	0x2000u		/* user accesses to not-present pages here are */
#define LAZY_END	0x7000u		/* memory the guest OS allocates lazily */

#define PF_P	0x1u	/* page fault error code: the page was present (protection fault) */
#define PF_W	0x2u	/* ... the access was a write */
#define PF_U	0x4u	/* ... the access came from ring 3 */

/* From boot.S and lecture.ld */
extern void isr_page_fault(void), app_load(void);
extern u8 __kernel_start[], __kernel_end[], __app_start[], __app_end[], app_stack_top[];

/* ---- The guest OS's memory management --------------------------------------------- */

static volatile u32 *const pd1 = (volatile u32 *)PD_PROCESS1;
static volatile u32 *const pd2 = (volatile u32 *)PD_PROCESS2;
static volatile u32 *const pt = (volatile u32 *)PT;	/* GVA 0x7000 = GPA 0x7000 */

static u32 step;			/* the lecture step we are in, for the printed lines */
static u32 next_frame = FRAMES_START;	/* the bump allocator */
static u32 page_faults;
static int failed;

/* Fill a whole frame with one byte. The frame is reached at GVA = GPA: before paging
 * directly, afterwards through the kernel's identity mapping of 0x8000 - 0xffff. */
static void fill_frame(u32 frame, u8 byte)
{
	volatile u8 *p = (volatile u8 *)frame;
	for (u32 i = 0; i < 4096; i++)
		p[i] = byte;
}

static u32 alloc_frame(void)
{
	if (next_frame >= FRAMES_END) {
		print("step %u: out of frames\n", step);
		exit_qemu(1);
	}
	u32 frame = next_frame;
	next_frame += 0x1000;
	return frame;
}

/* What the CPU and isr_page_fault pushed. */
struct trap_frame {
	u32 es, ds;
	u32 edi, esi, ebp, esp, ebx, edx, ecx, eax;	/* pusha */
	u32 err, eip, cs, eflags, user_esp, user_ss;	/* the CPU */
};

/*
 * The guest's page fault handler. The application touched memory the guest OS promised
 * but "did not allocate (lazy)": allocate a frame now, fill it with a recognisable value
 * (the byte 0x11 * frame number: GPA 0x9000 holds 0x99 bytes, 0xa000 0xaa, ...), enter it
 * in the page table at 0x7000, invlpg, and return: the CPU retries the load.
 */
void page_fault(struct trap_frame *f)
{
	u32 gva = read_cr2();
	u32 page = gva & ~0xfffu;

	page_faults++;
	if ((f->err & (PF_P | PF_U)) != PF_U || gva < LAZY_START || gva >= LAZY_END) {
		print("step %u: page fault the guest cannot handle: CR2=0x%x err=0x%x EIP=0x%x\n",
		      step, gva, f->err, f->eip);
		exit_qemu(1);
	}
	u32 frame = alloc_frame();
	print("step %u: %s 0x%x -> page fault (CR2=0x%x, err=0x%x) -> guest allocates GPA 0x%x for GVA 0x%x\n",
	      step, f->err & PF_W ? "ST" : "LD", gva, gva, f->err, frame, page);

	u8 fill = (u8)((frame >> 12) * 0x11);
	fill_frame(frame, fill);
	pt[page >> 12] = frame | PTE_P | PTE_RW | PTE_US;	/* the guest updates its page table */
	invlpg(page);
	print("step %u: guest fills GPA 0x%x with 0x%02x bytes, writes PTE 0x%x[%u] = 0x%08x, invlpg 0x%x, iret\n",
	      step, frame, fill, PT, page >> 12, pt[page >> 12], page);
}

void __attribute__((noreturn)) unexpected(u32 vector, u32 *stack)
{
	int has_err = exception_has_error_code(vector);
	print("step %u: unexpected exception %u at EIP=0x%x\n", step, vector, stack[has_err]);
	exit_qemu(1);
}

/* ---- The application (ring 3) ------------------------------------------------------ */

static u32 loads[8];	/* every value the application loaded, in order */
static u32 nloads;

/* Run the application once: LD [gva] at ring 3. Checks the value against what it must be. */
static u32 app_ld(u32 gva, u32 expected)
{
	u32 faults = page_faults;

	print("step %u: app (ring 3, CR3=0x%x): LD 0x%x\n", step, read_cr3(), gva);
	u32 v = ring3_call((u32)app_load, (u32)app_stack_top, gva);
	print("step %u: LD 0x%x -> 0x%08x (%s)\n", step, gva, v,
	      page_faults == faults ? "present, no page fault" : "retried after the page fault");
	if (v != expected) {
		print("step %u: WRONG: expected 0x%08x\n", step, expected);
		failed = 1;
	}
	loads[nloads++] = v;
	return v;
}

/* ---- The lecture, step by step ----------------------------------------------------- */

void kmain(u32 magic)
{
	serial_init();
	print("lecture: the shadow page table example, seen from the guest\n");

	/* 1. Boot with paging off. */
	step = 1;
	print("step 1: boot: paging off (CR0.PG=%u), multiboot magic 0x%x %s\n",
	      read_cr0() >> 31, magic, magic == 0x2badb002 ? "ok" : "WRONG");
	if (magic != 0x2badb002 || (read_cr0() & CR0_PG))
		exit_qemu(1);
	cpu_tables_init();
	idt_set(14, isr_page_fault, 0);		/* #PF */
	idt_set(0x80, isr_ring3_exit, 3);	/* the application's "I am done" */
	print("step 1: GDT with ring 0 and ring 3 segments, TSS (esp0), IDT (14: page fault, 0x80: app done)\n");

	/* 2. Build the page directory at 0x1000 and the page table at 0x7000. */
	step = 2;
	fill_frame(PD_PROCESS1, 0);
	fill_frame(PD_PROCESS2, 0);
	fill_frame(PT, 0);
	pd1[0] = PT | PTE_P | PTE_RW | PTE_US;	/* user bit here; the PTEs decide per page */
	print("step 2: page directory at GPA 0x%x: PDE 0 = 0x%08x (page table at GPA 0x%x, GVA 0-4 MiB)\n",
	      PD_PROCESS1, pd1[0], PT);

	/* The guest's own page tables, so that it can edit them with paging on. */
	pt[PD_PROCESS1 >> 12] = PD_PROCESS1 | PTE_P | PTE_RW;
	pt[PD_PROCESS2 >> 12] = PD_PROCESS2 | PTE_P | PTE_RW;
	pt[PT >> 12] = PT | PTE_P | PTE_RW;
	print("step 2: PT 0x%x: GVA 0x%x, 0x%x, 0x%x -> same GPA (supervisor: the guest's page tables)\n",
	      PT, PD_PROCESS1, PD_PROCESS2, PT);

	/* The frames the kernel hands out (and the one behind 0x5000). */
	for (u32 a = DATA_FRAME; a < FRAMES_END; a += 0x1000)
		pt[a >> 12] = a | PTE_P | PTE_RW;
	print("step 2: PT 0x%x: GVA 0x%x-0x%x -> same GPA (supervisor: the guest's frames, allocator starts at 0x%x)\n",
	      PT, DATA_FRAME, FRAMES_END - 1, FRAMES_START);

	/* The kernel at 1 MiB; the application's pages in it are user-accessible. */
	for (u32 a = (u32)__kernel_start; a < (u32)__kernel_end; a += 0x1000)
		pt[a >> 12] = a | PTE_P | PTE_RW;
	for (u32 a = (u32)__app_start; a < (u32)__app_end; a += 0x1000)
		pt[a >> 12] |= PTE_US;
	print("step 2: PT 0x%x: GVA 0x%x-0x%x -> same GPA (supervisor: the kernel; user: the app at 0x%x-0x%x)\n",
	      PT, (u32)__kernel_start, (u32)__kernel_end - 1, (u32)__app_start, (u32)__app_end - 1);

	/* GVA 0x5000 -> GPA 0x8000, with a known value at offset 0x123. */
	fill_frame(DATA_FRAME, 0);
	*(volatile u32 *)(DATA_FRAME + 0x123) = DATA_VALUE;
	pt[DATA_GVA >> 12] = DATA_FRAME | PTE_P | PTE_RW | PTE_US;
	print("step 2: PT 0x%x: GVA 0x%x -> GPA 0x%x (user), PTE 0x%x[%u] = 0x%08x; GPA 0x%x holds 0x%08x\n",
	      PT, DATA_GVA, DATA_FRAME, PT, DATA_GVA >> 12, pt[DATA_GVA >> 12], DATA_FRAME + 0x123, DATA_VALUE);

	/* GVA 0x2000 stays unmapped: "the guest OS did not allocate (lazy)". */
	print("step 2: PT 0x%x: GVA 0x2000 not mapped, PTE 0x%x[2] = 0x%08x (the guest OS did not allocate: lazy)\n",
	      PT, PT, pt[2]);

	/* A second process: its own page directory, sharing the page table (and so the kernel). */
	pd2[0] = PT | PTE_P | PTE_RW | PTE_US;
	print("step 2: page directory of process 2 at GPA 0x%x: PDE 0 = 0x%08x (the same page table)\n",
	      PD_PROCESS2, pd2[0]);

	/* 3. Load CR3 <- 0x1000 and turn paging on. */
	step = 3;
	write_cr3(PD_PROCESS1);
	write_cr0(read_cr0() | CR0_PG);
	print("step 3: CR3 <- 0x%x, CR0.PG <- 1: paging on (CR3=0x%x, CR0.PG=%u)\n",
	      PD_PROCESS1, read_cr3(), read_cr0() >> 31);

	/* 4. The application: LD 0x2123 -- the page is not allocated yet, so it faults, the
	 *    guest OS allocates it and updates its page table, and the load is retried.
	 *    Then LD 0x5123, which the guest mapped up front. */
	step = 4;
	app_ld(0x2123, 0x99999999);
	app_ld(0x5123, DATA_VALUE);

	/* 5. Another process runs: CR3 <- 0x3000. (Lecture: the VMM deletes a shadow page
	 *    table -- and rebuilds it when CR3 is updated back to 0x1000.) */
	step = 5;
	write_cr3(PD_PROCESS2);
	print("step 5: CR3 <- 0x%x: process 2 runs\n", PD_PROCESS2);
	app_ld(0x5123, DATA_VALUE);
	write_cr3(PD_PROCESS1);
	print("step 5: CR3 <- 0x%x: back to process 1\n", PD_PROCESS1);

	/* 6. The application loads from 0x5123 again. (Lecture: the hypervisor may have moved
	 *    that page to disk meanwhile; the guest does not know and just loads.) */
	step = 6;
	app_ld(0x5123, DATA_VALUE);

	/* 7. The guest updates its page table at 0x7000 again. (Lecture: "when the guest OS
	 *    tries to update the page table -> page fault" -- in the hypervisor.) First a new
	 *    lazy allocation for GVA 0x6000, then the guest takes GVA 0x2000 away again
	 *    (reclaims the page), and the next load from it faults and gets a fresh frame. */
	step = 7;
	app_ld(0x6123, 0xaaaaaaaa);
	pt[2] = 0;
	invlpg(0x2000);
	print("step 7: guest unmaps GVA 0x2000 (reclaims the page): writes PTE 0x%x[2] = 0x%08x, invlpg 0x2000\n",
	      PT, pt[2]);
	app_ld(0x2123, 0xbbbbbbbb);

	/* 8. Summary: all loaded values and a checksum (FNV-1a over their bytes). */
	step = 8;
	u32 sum = 2166136261u;
	print("step 8: loaded:");
	for (u32 i = 0; i < nloads; i++) {
		print(" 0x%08x", loads[i]);
		for (u32 b = 0; b < 4; b++)
			sum = (sum ^ ((loads[i] >> (8 * b)) & 0xff)) * 16777619u;
	}
	print("\n");
	print("step 8: page faults: %u, frames allocated: 0x%x-0x%x\n",
	      page_faults, FRAMES_START, next_frame - 1);
	/* The entries as the hardware left them: accessed (0x20) and dirty (0x40) bits included. */
	print("step 8: PDE 0x%x[0] = 0x%08x, PDE 0x%x[0] = 0x%08x\n",
	      PD_PROCESS1, pd1[0], PD_PROCESS2, pd2[0]);
	print("step 8: PT 0x%x[0-5]:", PT);
	for (u32 i = 0; i < 6; i++)
		print(" 0x%08x", pt[i]);
	print("\nstep 8: PT 0x%x[6-11]:", PT);
	for (u32 i = 6; i < 12; i++)
		print(" 0x%08x", pt[i]);
	print("\n");
	if (page_faults != 3)
		failed = 1;
	print("step 8: checksum 0x%08x, %s\n", sum, failed ? "FAILED" : "all values as expected");
	exit_qemu(failed ? 1 : 0);
}
