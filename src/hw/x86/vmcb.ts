/**
 * The virtual machine control block of the CPU's virtualization extension, laid out as AMD's
 * SVM lays it out (AMD64 APM vol. 2, appendix B: "Layout of VMCB"): a 4 KiB page in host
 * memory, a control area at offset 0 (what to intercept, what to inject, why the guest exited)
 * and a state save area at 0x400 (the guest's registers while it is not running).
 *
 * Deviations from AMD's layout, because this CPU is 32-bit and its VMM is not software running
 * on it: fields AMD defines as 64 bits hold 32-bit values in their low half (the high half is
 * written as zero, or as the sign for EXITCODE), and the guest's other general registers and
 * debug address registers, which an AMD VMM saves itself around VMRUN, are kept in the save
 * area too (GUEST_GPRS, GUEST_DR0, in space AMD reserves). EFER and the SYSENTER MSRs are in the
 * save area as on AMD; the CPU's other MSRs are not (a VMM keeps them, as AMD's keep STAR & co.).
 */

/** Control area (APM vol. 2, table B-1). */
export const VmcbControl = {
  /** Intercept reads of CR0-CR15: bit n for CRn (16 bits). */
  CR_READ: 0x000,
  /** Intercept writes of CR0-CR15 (16 bits). */
  CR_WRITE: 0x002,
  /** Intercept exceptions: bit n for vector n (32 bits). */
  EXCEPTIONS: 0x008,
  /** Intercept vector 3: InterceptMisc1 bits. */
  MISC1: 0x00c,
  /** Intercept vector 4: InterceptMisc2 bits. */
  MISC2: 0x010,
  /** Physical address of the I/O permission map (12 KiB: one bit per port, set = intercept). */
  IOPM_BASE: 0x040,
  /** Physical address of the MSR permission map (8 KiB: two bits per MSR, read and write; APM vol. 2, 15.11). */
  MSRPM_BASE: 0x048,
  /** Added to the TSC that RDTSC, RDTSCP and RDMSR read in guest mode (64 bits; APM vol. 2, "TSC Offset"). */
  TSC_OFFSET: 0x050,
  /** The guest's address-space identifier: TLB entries are tagged with it. */
  ASID: 0x058,
  /** TlbControl: what VMRUN must flush. */
  TLB_CONTROL: 0x05c,
  /**
   * V_TPR (bits 0-7), V_IRQ (bit 8), V_NMI pending (11), V_NMI blocking (12), V_INTR_PRIO (16-19),
   * V_IGN_TPR (20), V_INTR_MASKING (24), V_NMI_ENABLE (26).
   */
  VINTR: 0x060,
  /** V_INTR_VECTOR (bits 0-7): the vector a virtual interrupt delivers. */
  VINTR_VECTOR: 0x064,
  /** Bit 0: the guest is in an interrupt shadow (after STI or MOV SS). */
  INTERRUPT_SHADOW: 0x068,
  EXITCODE: 0x070,
  EXITINFO1: 0x078,
  EXITINFO2: 0x080,
  /** The event that was being delivered when the exit happened (EventInfo format). */
  EXITINTINFO: 0x088,
  /** Bit 0: nested paging. */
  NP_ENABLE: 0x090,
  /** The event to deliver into the guest at VMRUN (EventInfo format). */
  EVENTINJ: 0x0a8,
  /** Nested paging: the GPA -> HPA page directory. */
  N_CR3: 0x0b0,
  /** The address of the instruction after the intercepted one (AMD's NRIP save feature). */
  NRIP: 0x0c8,
} as const;

/** State save area (APM vol. 2, table B-2). Segments: selector u16, attributes u16, limit u32, base u64. */
export const VmcbState = {
  ES: 0x400,
  CS: 0x410,
  SS: 0x420,
  DS: 0x430,
  FS: 0x440,
  GS: 0x450,
  GDTR: 0x460,
  LDTR: 0x470,
  IDTR: 0x480,
  TR: 0x490,
  CPL: 0x4cb,
  EFER: 0x4d0,
  CR4: 0x548,
  CR3: 0x550,
  CR0: 0x558,
  DR7: 0x560,
  DR6: 0x568,
  RFLAGS: 0x570,
  RIP: 0x578,
  RSP: 0x5d8,
  RAX: 0x5f8,
  SYSENTER_CS: 0x628,
  SYSENTER_ESP: 0x630,
  SYSENTER_EIP: 0x638,
  CR2: 0x640,
  /** Not AMD's: ECX, EDX, EBX, EBP, ESI, EDI, 8 bytes apart. */
  GUEST_GPRS: 0x700,
  /** Not AMD's: DR0-DR3, 8 bytes apart. */
  GUEST_DR0: 0x740,
} as const;

/** Segment-register offsets in the save area, in the CPU's Seg order (ES CS SS DS FS GS). */
export const VMCB_SEGMENTS: readonly number[] = [VmcbState.ES, VmcbState.CS, VmcbState.SS, VmcbState.DS, VmcbState.FS, VmcbState.GS];

/** InterceptMisc1 bits (APM vol. 2, table B-1, vector 3). */
export const InterceptMisc1 = {
  INTR: 1 << 0,
  /** A physical NMI exits (code NMI) instead of reaching the guest. */
  NMI: 1 << 1,
  VINTR: 1 << 4,
  RDTSC: 1 << 14,
  PUSHF: 1 << 16,
  POPF: 1 << 17,
  CPUID: 1 << 18,
  IRET: 1 << 20,
  INTN: 1 << 21,
  HLT: 1 << 24,
  INVLPG: 1 << 25,
  INVLPGA: 1 << 26,
  IOIO: 1 << 27,
  /** RDMSR and WRMSR exit for the MSRs the permission map selects (and every MSR outside its ranges). */
  MSR_PROT: 1 << 28,
  TASK_SWITCH: 1 << 29,
  SHUTDOWN: 1 << 31,
} as const;

/** InterceptMisc2 bits (vector 4). */
export const InterceptMisc2 = {
  VMRUN: 1 << 0,
  VMMCALL: 1 << 1,
  VMLOAD: 1 << 2,
  VMSAVE: 1 << 3,
  STGI: 1 << 4,
  CLGI: 1 << 5,
  SKINIT: 1 << 6,
} as const;

/** EXITCODE values (APM vol. 2, appendix C). */
export const SvmExit = {
  CR0_READ: 0x00,
  CR0_WRITE: 0x10,
  /** 0x40 + vector. */
  EXCEPTION: 0x40,
  INTR: 0x60,
  NMI: 0x61,
  VINTR: 0x64,
  RDTSC: 0x6e,
  PUSHF: 0x70,
  POPF: 0x71,
  CPUID: 0x72,
  IRET: 0x74,
  SWINT: 0x75,
  HLT: 0x78,
  INVLPG: 0x79,
  INVLPGA: 0x7a,
  IOIO: 0x7b,
  /** RDMSR (EXITINFO1 0) or WRMSR (EXITINFO1 1). */
  MSR: 0x7c,
  /** A task switch (EXITINFO1: the new TSS selector; EXITINFO2: the reason and error code). */
  TASK_SWITCH: 0x7d,
  SHUTDOWN: 0x7f,
  VMRUN: 0x80,
  VMMCALL: 0x81,
  VMLOAD: 0x82,
  VMSAVE: 0x83,
  STGI: 0x84,
  CLGI: 0x85,
  SKINIT: 0x86,
  /** Nested paging: a GPA -> HPA fault. */
  NPF: 0x400,
  /** VMRUN refused the VMCB (a consistency check failed). */
  INVALID: -1,
} as const;

/** The name of an exit code, for people. */
export function svmExitName(code: number): string {
  if (code >= SvmExit.CR0_READ && code < SvmExit.CR0_READ + 16) return `CR${code} read`;
  if (code >= SvmExit.CR0_WRITE && code < SvmExit.CR0_WRITE + 16) return `CR${code - SvmExit.CR0_WRITE} write`;
  if (code >= SvmExit.EXCEPTION && code < SvmExit.EXCEPTION + 32) return `exception ${code - SvmExit.EXCEPTION}`;
  for (const [name, value] of Object.entries(SvmExit)) if (value === code) return name;
  return `0x${code.toString(16)}`;
}

/** EventInfo (EVENTINJ, EXITINTINFO): vector, type, error-code valid, valid (APM vol. 2, 15.20). */
export const EventInfo = {
  VECTOR_MASK: 0xff,
  TYPE_SHIFT: 8,
  /** Types: external interrupt, NMI, exception, software interrupt (INT n). */
  TYPE_INTR: 0,
  TYPE_NMI: 2,
  TYPE_EXCEPTION: 3,
  TYPE_SOFT_INT: 4,
  ERROR_VALID: 1 << 11,
  VALID: 1 << 31,
} as const;

/** EXITINFO1 of an IOIO exit (APM vol. 2, 15.10.2). */
export const IoioInfo = {
  IN: 1 << 0,
  STRING: 1 << 2,
  REP: 1 << 3,
  SIZE8: 1 << 4,
  SIZE16: 1 << 5,
  SIZE32: 1 << 6,
  ADDR16: 1 << 7,
  ADDR32: 1 << 8,
  PORT_SHIFT: 16,
} as const;

/** EXITINFO2 of a task-switch exit, high dword (APM vol. 2, 15.14 / KVM's SVM_EXITINFOSHIFT_TS_*): the low dword holds the error code. */
export const TaskSwitchInfo = {
  /** Bit 36: started by IRET. */
  IRET: 1 << 4,
  /** Bit 38: started by a far JMP. */
  JMP: 1 << 6,
  /** Bit 44: the error code in the low dword is valid (an exception through a task gate). */
  HAS_ERROR: 1 << 12,
} as const;

/** V_IRQ in the VINTR field. */
export const V_IRQ = 1 << 8;
/**
 * Virtual NMI (APM vol. 2, "NMI Virtualization"), in the VINTR field: with V_NMI_ENABLE the guest's NMI
 * blocking lives in V_NMI_BLOCKING — set when an NMI is delivered to the guest (a pending
 * V_NMI or an NMI in EVENTINJ), cleared by the guest's IRET — and V_NMI_PENDING is an NMI the CPU
 * delivers as soon as the guest's blocking and interrupt shadow allow.
 */
export const V_NMI_PENDING = 1 << 11;
export const V_NMI_BLOCKING = 1 << 12;
export const V_NMI_ENABLE = 1 << 26;
/** V_INTR_MASKING: the guest's EFLAGS.IF masks only virtual interrupts; physical ones exit. */
export const V_INTR_MASKING = 1 << 24;
/** TLB_CONTROL: flush every entry at VMRUN. */
export const TLB_FLUSH_ALL = 1;
/** Bytes of the I/O permission map. */
export const IOPM_BYTES = 12 * 1024;
/** Bytes of the MSR permission map. */
export const MSRPM_BYTES = 8 * 1024;

/**
 * The bit of the MSR permission map for reading MSR `index` (writing: the next bit), or -1 for an
 * MSR outside the map's three ranges, which is always intercepted (APM vol. 2, 15.11):
 * 0-0x1FFF at byte 0, 0xC0000000-0xC0001FFF at byte 0x800, 0xC0010000-0xC0011FFF at byte 0x1000.
 */
export function msrpmBit(index: number): number {
  const i = index >>> 0;
  if (i <= 0x1fff) return 2 * i;
  if (i >= 0xc0000000 && i <= 0xc0001fff) return 0x800 * 8 + 2 * (i - 0xc0000000);
  if (i >= 0xc0010000 && i <= 0xc0011fff) return 0x1000 * 8 + 2 * (i - 0xc0010000);
  return -1;
}

/** The save area's 12-bit attribute format: descriptor byte 5 in bits 0-7, byte 6's high nibble in bits 8-11. */
export function toVmcbAttr(attr: number): number {
  return (attr & 0xff) | ((attr >>> 4) & 0xf00);
}

/** The CPU's segment attributes (descriptor bytes 5-6 as they are) from the save area's format. */
export function fromVmcbAttr(vmcb: number): number {
  return (vmcb & 0xff) | ((vmcb & 0xf00) << 4);
}
