/**
 * The hardware's own simulated-cycle costs. Instructions carry a base cost from the opcode
 * table; the events below are charged when they happen. The figures are round numbers in the
 * range a P6-class core needs (Intel optimization manual, appendix C; Fog's instruction
 * tables for Pentium Pro/II): they make runs deterministic and comparable, not cycle-exact.
 */
export interface HardwareCosts {
  /** Each paging-structure read of a TLB-miss walk. */
  walkRead: number;
  /** Delivering an exception or interrupt through the IDT (without the pushes' memory costs). */
  eventDelivery: number;
  /** IRET, any form. */
  iret: number;
  /** A port I/O access (the bus cycle to an ISA device). */
  portIo: number;
  /** Each iteration of a string instruction. */
  stringIteration: number;
  /** A hardware task switch: the old task's state saved, the new one's loaded (microcode). */
  taskSwitch: number;
}

export const DEFAULT_HARDWARE_COSTS: HardwareCosts = {
  walkRead: 10,
  eventDelivery: 60,
  iret: 30,
  portIo: 300,
  stringIteration: 1,
  taskSwitch: 300,
};
