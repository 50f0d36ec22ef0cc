/*
 * exec.c - load an ELF program into a fresh address space.
 *
 * Programs come from two places:
 *   - multiboot modules (QEMU: -initrd "file args,..."), found by their
 *     command line: the whole string, its first word, or the last path
 *     component of the first word;
 *   - the user programs linked into the kernel image (progs.S), by name.
 * Modules are searched first, so a module can stand in for a built-in
 * program.  A program must be a static i386 ELF executable (ET_EXEC) whose
 * PT_LOAD segments lie in [USER_BASE, HEAP_MAX) -- see user/user.ld.
 *
 * The initial stack is the one the System V i386 ABI (and Linux) gives:
 *
 *   USTACK_TOP -> +--------------------------+
 *                 | argument strings         |
 *                 +--------------------------+
 *                 | 0, 0      (auxv: AT_NULL)|
 *                 | 0         (envp: empty)  |
 *                 | 0         (argv[argc])   |
 *                 | argv[argc-1] ... argv[0] |
 *         esp  -> | argc                     |  16-byte aligned
 *                 +--------------------------+
 */
#include "defs.h"
#include "proc.h"
#include "elf.h"
#include "x86.h"
#include "../common/abi.h"

/* Does module command line cl name the program name? */
static int module_matches(const char *cl, const char *name)
{
	size_t first = 0, base = 0, n = strlen(name);

	if (strcmp(cl, name) == 0)
		return 1;
	while (cl[first] && cl[first] != ' ') {
		if (cl[first] == '/')
			base = first + 1;
		first++;
	}
	return (first == n && strncmp(cl, name, n) == 0) ||
	       (first - base == n && strncmp(cl + base, name, n) == 0);
}

int module_exists(const char *name)
{
	int i;

	for (i = 0; i < nmodules; i++)
		if (module_matches(modules[i].name, name))
			return 1;
	return 0;
}

static const uint8_t *find_program(const char *name, uint32_t *size)
{
	int i;

	for (i = 0; i < nmodules; i++) {
		if (module_matches(modules[i].name, name)) {
			*size = modules[i].end - modules[i].start;
			return (const uint8_t *)modules[i].start;
		}
	}
	for (i = 0; programs[i].name; i++) {
		if (strcmp(programs[i].name, name) == 0) {
			*size = (uint32_t)(programs[i].end - programs[i].start);
			return programs[i].start;
		}
	}
	return 0;
}

/* Copy n bytes to user address va of pgdir, whatever the page protection
 * (the pages are mapped already).  Through the identity map of RAM. */
static void load_bytes(pde_t *pgdir, uint32_t va, const uint8_t *src,
		       uint32_t n)
{
	while (n > 0) {
		uint32_t chunk = PGSIZE - (va & (PGSIZE - 1));
		pte_t *pte = walk(pgdir, va, 0);

		if (chunk > n)
			chunk = n;
		memcpy((void *)(PTE_ADDR(*pte) | (va & (PGSIZE - 1))), src, chunk);
		va += chunk;
		src += chunk;
		n -= chunk;
	}
}

/* Map and fill one PT_LOAD segment into np. */
static int load_segment(struct proc *np, const uint8_t *img, uint32_t size,
			const struct proghdr *ph)
{
	uint32_t start, end, va;
	int prot = PROT_READ | ((ph->flags & PF_W) ? PROT_WRITE : 0);

	if (ph->filesz > ph->memsz || ph->offset > size ||
	    ph->filesz > size - ph->offset ||
	    ph->vaddr < USER_BASE || ph->memsz > HEAP_MAX - ph->vaddr)
		return -ENOEXEC;
	start = PGROUNDDOWN(ph->vaddr);
	end = PGROUNDUP(ph->vaddr + ph->memsz);
	if (vma_gap(np, end - start, start, end) != start)
		return -ENOEXEC;		/* overlaps another segment */
	if (vma_add(np, start, end, prot, VMA_PROG) < 0)
		return -ENOEXEC;
	for (va = start; va < end; va += PGSIZE) {
		void *frame = kalloc();

		if (!frame)
			return -ENOMEM;
		if (map_page(np->pgdir, va, (uint32_t)frame, pte_perm(prot)) < 0) {
			kfree(frame);
			return -ENOMEM;
		}
	}
	load_bytes(np->pgdir, ph->vaddr, img + ph->offset, ph->filesz);
	if (end > np->heap_start)
		np->heap_start = end;
	return 0;
}

/* Build the initial stack; returns the stack pointer, or 0 on failure. */
static uint32_t setup_stack(struct proc *np, char *const argv[], int argc)
{
	uint32_t sp = USTACK_TOP, uargv[MAXARGS];
	uint32_t words[1 + MAXARGS + 4];
	int i, n = 0;

	if (vma_add(np, USTACK_TOP - USTACK_MAX, USTACK_TOP,
		    PROT_READ | PROT_WRITE, VMA_STACK) < 0)
		return 0;
	for (i = argc - 1; i >= 0; i--) {
		uint32_t len = strlen(argv[i]) + 1;

		sp -= len;
		if (copyout(np, sp, argv[i], len) < 0)
			return 0;
		uargv[i] = sp;
	}
	words[n++] = (uint32_t)argc;
	for (i = 0; i < argc; i++)
		words[n++] = uargv[i];
	words[n++] = 0;		/* argv[argc] */
	words[n++] = 0;		/* envp */
	words[n++] = 0;		/* auxv: AT_NULL */
	words[n++] = 0;
	sp = (sp - n * 4) & ~15u;
	if (copyout(np, sp, words, n * 4) < 0)
		return 0;
	return sp;
}

/*
 * Replace p's program with name, given argc argument strings in kernel
 * memory.  On failure p is unchanged and a negative errno is returned.
 * p is the current process (the exec system call) or a new one (init).
 */
int exec(struct proc *p, const char *name, char *const argv[], int argc)
{
	const uint8_t *img;
	uint32_t size, sp, i;
	struct elfhdr eh;
	struct proc np;		/* the new image, until it is complete */
	pde_t *old;
	const char *base = name;
	int r;

	img = find_program(name, &size);
	if (!img)
		return -ENOENT;
	if (size < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, img, sizeof(eh));
	if (eh.magic != ELF_MAGIC || eh.class != ELFCLASS32 ||
	    eh.data != ELFDATA2LSB || eh.type != ET_EXEC ||
	    eh.machine != EM_386 || eh.phentsize != sizeof(struct proghdr) ||
	    eh.phoff > size || eh.phnum > (size - eh.phoff) / sizeof(struct proghdr))
		return -ENOEXEC;

	memset(&np, 0, sizeof(np));
	np.pgdir = pgdir_new();
	if (!np.pgdir)
		return -ENOMEM;
	for (i = 0; i < eh.phnum; i++) {
		struct proghdr ph;

		memcpy(&ph, img + eh.phoff + i * sizeof(ph), sizeof(ph));
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		r = load_segment(&np, img, size, &ph);
		if (r < 0)
			goto bad;
	}
	r = -ENOEXEC;
	if (np.heap_start == 0 || eh.entry < USER_BASE || eh.entry >= HEAP_MAX)
		goto bad;
	r = -ENOMEM;
	sp = setup_stack(&np, argv, argc);
	if (!sp)
		goto bad;

	/* Commit: p becomes the new program. */
	old = p->pgdir;
	p->pgdir = np.pgdir;
	memcpy(p->vma, np.vma, sizeof(p->vma));
	p->heap_start = p->brk = np.heap_start;
	for (i = 0; name[i]; i++)
		if (name[i] == '/')
			base = name + i + 1;
	strlcpy(p->name, base, sizeof(p->name));

	memset(p->tf, 0, sizeof(*p->tf));
	p->tf->cs = UCODE_SEL;
	p->tf->ds = p->tf->es = p->tf->fs = p->tf->gs = UDATA_SEL;
	p->tf->ss = UDATA_SEL;
	p->tf->eflags = FL_IF | 0x2;	/* ring 3 runs with interrupts on */
	p->tf->eip = eh.entry;
	p->tf->esp = sp;

	if (p == curproc)
		lcr3((uint32_t)p->pgdir);
	if (old != kpgdir)
		pgdir_free(old);
	return 0;

bad:
	pgdir_free(np.pgdir);
	return r;
}
