/* conformance.c -- reports, the summary, and catching expected exceptions (see conformance.h). */
#include "conformance.h"

static u32 tests, failures;

int report(int ok, const char *what)
{
	tests++;
	if (!ok)
		failures++;
	print("%s: %s\n", ok ? "PASS" : "FAIL", what);
	return ok;
}

int report_eq(u32 seen, u32 expected, const char *what)
{
	int ok = report(seen == expected, what);
	if (!ok)
		print("      seen 0x%08x, expected 0x%08x\n", seen, expected);
	return ok;
}

int qemu_tcg(void)
{
	u32 r[4];
	cpuid(1, r);
	if (!(r[2] & (1u << 31)))
		return 0;
	cpuid(0x40000000u, r);
	return r[1] == 0x54474354u && r[2] == 0x43544743u && r[3] == 0x47435447u;
}

int report_sdm(int ok, const char *what)
{
	static int tcg = -1;
	if (tcg < 0)
		tcg = qemu_tcg();
	if (tcg) {
		print("SKIP: %s (QEMU's TCG differs from the SDM here)\n", what);
		return 1;
	}
	return report(ok, what);
}

void report_summary(void)
{
	print("SUMMARY: %u tests, %u failures\n", tests, failures);
	exit_qemu(failures == 0 ? 0 : 1);
}

/*
 * The context catch_fault resumes when fn faults: callee-saved registers and ESP as they were
 * inside catch_fault (see fault_resume in conformance-entry.S).
 */
struct catch_context {
	u32 ebx, esi, edi, ebp, esp;
};
struct catch_context catch_ctx;
static struct fault *catching;

int catch_armed(void);
int catch_fault_asm(void (*fn)(void *), void *arg);
void __attribute__((noreturn)) fault_resume(void);

int catch_fault(void (*fn)(void *), void *arg, struct fault *f)
{
	f->vector = NO_FAULT;
	f->error = NO_ERROR;
	f->eip = 0;
	f->cs = 0;
	catching = f;
	int faulted = catch_fault_asm(fn, arg);
	catching = 0;
	return faulted;
}

/* The exception stubs of guest/bare/entry.S land here: a caught fault, or the end of the run. */
void unexpected(u32 vector, u32 *stack)
{
	int err = exception_has_error_code(vector);
	if (catching) {
		struct fault *f = catching;
		catching = 0;
		f->vector = vector;
		f->error = err ? stack[0] : NO_ERROR;
		f->eip = stack[err];
		f->cs = stack[err + 1];
		fault_resume();
	}
	print("FAIL: unexpected exception %u at %x:%08x", vector, stack[err + 1], stack[err]);
	if (err)
		print(" (error code 0x%x)", stack[0]);
	print("\n");
	failures++;
	tests++;
	report_summary();
}

void eflags_isr(void);

void kmain(u32 magic, struct multiboot_info *info)
{
	serial_init();
	cpu_tables_init();
	idt_set(EFLAGS_VECTOR, eflags_isr, 3);
	conformance_main(magic, info);
	report_summary();
}
