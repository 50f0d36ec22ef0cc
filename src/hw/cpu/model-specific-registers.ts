/**
 * The state behind the model-specific registers (msr.ts decides which exist and their rules),
 * at its power-up values (SDM vol. 3, table 9-1 and the registers' own sections). 64-bit
 * registers are kept as two 32-bit halves. The time-stamp counter is not a register here: it is
 * the CPU's simulated cycle count plus an offset (tscOffsetLo/Hi), so every clock of the machine
 * keeps deriving from simulated cycles and a write to IA32_TIME_STAMP_COUNTER only moves the offset.
 */
import { ApicBase, MiscEnable, PAT_RESET } from '../x86/msr.ts';

/** The local APIC's base address after reset (SDM vol. 3, 10.4.1). */
export const APIC_BASE_RESET = 0xfee00000 | 0;

export class ModelSpecificRegisters {
  /** TSC = cycles + offset (mod 2^64): the offset's low and high halves. */
  tscOffsetLo = 0;
  tscOffsetHi = 0;
  /** IA32_APIC_BASE: base, BSP and global enable (msr.ts keeps it consistent with the APIC). */
  apicBase = APIC_BASE_RESET | ApicBase.BSP | ApicBase.EN;
  /**
   * IA32_SYSENTER_CS/ESP/EIP: 32 bits each on this 32-bit CPU (bits 31:16 of CS are "not used,
   * can be read and written", SDM vol. 4 table 2-2); the high dwords read 0, as in QEMU's i386.
   */
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  miscEnableLo = MiscEnable.FAST_STRINGS;
  miscEnableHi = 0;
  patLo = PAT_RESET;
  patHi = PAT_RESET;
  mtrrDefType = 0;
  /** The 11 fixed-range MTRRs (64K_00000, 16K_80000, 16K_A0000, 4K_C0000 ... 4K_F8000), low and high halves. */
  readonly mtrrFixed = new Int32Array(22);
  /** The 8 variable ranges: PHYSBASEn low, high, PHYSMASKn low, high. */
  readonly mtrrVariable = new Int32Array(32);
  /** IA32_TSC_AUX (bits 31:0; the high dword is reserved). */
  tscAux = 0;

  /** Power-up values. */
  reset(): void {
    this.tscOffsetLo = this.tscOffsetHi = 0;
    this.apicBase = APIC_BASE_RESET | ApicBase.BSP | ApicBase.EN;
    this.sysenterCs = this.sysenterEsp = this.sysenterEip = 0;
    this.miscEnableLo = MiscEnable.FAST_STRINGS;
    this.miscEnableHi = 0;
    this.patLo = this.patHi = PAT_RESET;
    this.mtrrDefType = 0;
    this.mtrrFixed.fill(0);
    this.mtrrVariable.fill(0);
    this.tscAux = 0;
  }
}
