/**
 * A decoded instruction: everything the handler needs, resolved once at decode time so that
 * execution does no decoding. Every field is a number (or the handler) so that all Insn
 * objects share one hidden class and handler code stays monomorphic.
 */
import type { Cpu } from './cpu.ts';

export type Handler = (c: Cpu, i: Insn) => void;

/** Register slot that always holds 0: "no base" / "no index" in an effective address. */
export const ZERO_REG = 8;

export class Insn {
  /** The semantic routine, chosen by opcode, operand size and (sometimes) register-vs-memory. */
  fn: Handler;
  /** Index into the opcode table (for names, statistics and disassembly). */
  spec = 0;
  /** Bytes of machine code. */
  len = 0;
  /** Offset of the next instruction from the start of its block. */
  next = 0;
  /** Simulated cycles charged for executing it (dynamic extras are charged by the handler). */
  cost = 1;
  /** Sub-operation: ALU op, condition code, group index (ModRM.reg) or shift kind. */
  sub = 0;
  /** ModRM.reg operand: a GPR index, or a byte index into the register file for 8-bit operands. */
  reg = 0;
  /** ModRM.rm register (mod = 3): a GPR index, or a byte index for 8-bit operands. */
  rm = 0;
  /** 1 when the r/m operand is in memory. */
  mem = 0;
  /** Effective address = (regs[base] + (regs[index] << scale) + disp) & eaMask. */
  base = ZERO_REG;
  index = ZERO_REG;
  scale = 0;
  disp = 0;
  eaMask = -1;
  /** Segment register used for the memory operand (after overrides). */
  seg = 3;
  /** Immediates (sign- or zero-extended as the opcode defines). */
  imm = 0;
  imm2 = 0;
  /** Operand size in bits (8, 16 or 32) and address size (16 or 32). */
  opsize = 32;
  adsize = 32;
  /** REP prefix: 0 none, 1 REPE/REP (F3), 2 REPNE (F2). */
  rep = 0;
  /** Set when the instruction may set cpu.stop (faults, I/O, system state changes). */
  mayStop = 0;
  /** Set when the block must end after this instruction (control transfer, state change, #UD). */
  ends = 0;
  /** A conditional branch (Jcc, LOOP, JCXZ): the block goes on past it only when not taken. */
  branch = 0;
  /** Offset of this instruction from the start of its block. */
  start = 0;
  /** Must be the first instruction of its block (it reads simulated time; see OpSpec.clock). */
  clock = 0;
  /**
   * x87 (D8-DF): the opcode the FPU records as FOP (SDM vol. 1, 8.1.10): the low three bits of
   * the ESC byte and the ModRM byte, 11 bits.
   */
  fop = 0;

  constructor(fn: Handler) {
    this.fn = fn;
  }
}
