/*
 * defs.h - the kernel's functions, by file.
 */
#ifndef KERN_DEFS_H
#define KERN_DEFS_H

#include <stdint.h>
#include <stddef.h>
#include "mmu.h"
#include "param.h"

struct proc;
struct trapframe;
struct context;
struct vma;

#define NORETURN __attribute__((noreturn))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))

/* console.c: COM1 output, printk, panic, and leaving QEMU. */
enum {
	EXIT_SUCCESS = 0,	/* the workload ran and its checks passed */
	EXIT_FAILED = 1,	/* a workload check failed */
	EXIT_PANIC = 2,		/* kernel panic */
	EXIT_BADCMD = 3		/* bad command line */
};
void uart_init(void);
void console_write(const char *s, size_t n);
void printk(const char *fmt, ...) PRINTF(1, 2);
void panic(const char *fmt, ...) PRINTF(1, 2) NORETURN;
void machine_exit(int code) NORETURN;

/* string.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
size_t strlcpy(char *d, const char *s, size_t size);

/* multiboot.c: what the boot loader told us, copied out of its memory. */
struct memrange {
	uint32_t start, end;		/* [start, end), physical */
};
struct module {
	char name[PROGNAME * 2];	/* its command line */
	uint32_t start, end;		/* physical [start, end) */
};
#define NMEMRANGES 16
extern char boot_cmdline[512];
extern struct memrange ram[NMEMRANGES];	/* available RAM below PHYS_MAX */
extern int nram;
extern uint32_t ram_top;		/* end of the highest available range */
extern uint32_t mem_lower_kb, mem_upper_kb;
extern struct module modules[];
extern int nmodules;
void multiboot_parse(uint32_t magic, uint32_t mbi_pa);

/* cmdline.c */
struct bootopts {
	const char *workload;
	int irq_mode;			/* IRQ_CLI or IRQ_POPF */
	uint32_t hz;
	int nargs;			/* the workload's key=value arguments */
	char *args[MAXARGS];
};
extern struct bootopts bootopts;
void cmdline_parse(char *cmdline);

/* kalloc.c: physical page frames with reference counts. */
void frame_init(void);
void *kalloc(void);			/* a zeroed frame, or 0 */
void kfree(void *pa);			/* drop a reference; free at zero */
void frame_incref(uint32_t pa);
uint32_t frame_refs(uint32_t pa);
uint32_t frames_free(void);
extern uint32_t frames_total;

/* vm.c: segments, page tables, memory regions. */
void seg_init(void);
void tss_set_esp0(uint32_t esp0);
void kvm_init(void);
extern pde_t *kpgdir;
pde_t *pgdir_new(void);
void pgdir_free(pde_t *pgdir);
pte_t *walk(pde_t *pgdir, uint32_t va, int alloc);
int map_page(pde_t *pgdir, uint32_t va, uint32_t pa, uint32_t perm);
void unmap_range(pde_t *pgdir, uint32_t start, uint32_t end, int flush);
int uvm_fork(pde_t *parent, pde_t *child);
uint32_t pte_perm(int prot);
struct vma *vma_find(struct proc *p, uint32_t va);
int vma_add(struct proc *p, uint32_t start, uint32_t end, int prot, int kind);
int vma_range_is(struct proc *p, uint32_t start, uint32_t end, int kind);
uint32_t vma_gap(struct proc *p, uint32_t len, uint32_t lo, uint32_t hi);
int vma_protect(struct proc *p, uint32_t start, uint32_t end, int prot);
int vma_remove(struct proc *p, uint32_t start, uint32_t end);
int vm_sbrk(struct proc *p, int32_t incr, uint32_t *old);

/* fault.c: page faults, and the kernel's access to user memory. */
void page_fault(struct trapframe *tf);
int resolve_fault(struct proc *p, uint32_t va, int write);
int copyin(struct proc *p, void *dst, uint32_t uva, uint32_t n);
int copyout(struct proc *p, uint32_t uva, const void *src, uint32_t n);
int copyinstr(struct proc *p, char *dst, uint32_t uva, uint32_t max);
extern uint32_t stat_faults, stat_cow_copies;

/* trap.c: IDT, PIC, PIT, trap dispatch. */
void idt_init(void);
void pic_init(void);
void pit_init(uint32_t hz);
void trap(struct trapframe *tf);
extern volatile uint32_t ticks;

/* trapasm.S */
void trapret(void);
void swtch(struct context **old, struct context *new);

/* proc.c */
void proc_init(void);
void user_init(void);
void idle_loop(void) NORETURN;
void schedule(void);
void yield(void);
int fork(void);
void exit(int status) NORETURN;
int wait(uint32_t status_uva);
int sleep(uint32_t nticks);
void timer_tick(void);
void kill_curproc(int status) NORETURN;
extern volatile int need_resched;
extern uint32_t stat_switches;

/* exec.c */
int exec(struct proc *p, const char *name, char *const argv[], int argc);
int module_exists(const char *name);

/* progs.S / exec.c: the programs linked into the kernel image. */
struct program {
	const char *name;
	const uint8_t *start, *end;
};
extern const struct program programs[];

/* syscall.c */
void syscall(struct trapframe *tf);
extern uint32_t stat_syscalls;

#endif
