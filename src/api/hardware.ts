/**
 * Public API: the emulated hardware itself, for experiments and examples that drive the CPU
 * directly (a bare machine with no board and no runner): memory, the CPU and its exits, and
 * the architectural constants to build descriptors and page tables with.
 */
export { Cpu, type CpuExit, type CpuOptions, type EventSource, type PortBus, Reg } from '../hw/cpu/cpu.ts';
export { readEflags } from '../hw/cpu/flags.ts';
export { PhysicalMemory, type MmioHandler, type PhysicalAccess } from '../hw/memory/physical-memory.ts';
export { Access, Rule, WalkRecord, accessFault, walk, walkPae, walkPaging } from '../hw/mmu/walk.ts';
export { Cr0, Cr4, Efer } from '../hw/x86/control-registers.ts';
export { Seg, SegAttr, SysType, encodeDescriptor } from '../hw/x86/descriptors.ts';
export { Eflags } from '../hw/x86/eflags.ts';
export { Pae, PfError, Pte } from '../hw/x86/paging.ts';
export { Vector, vectorName } from '../hw/x86/vectors.ts';
