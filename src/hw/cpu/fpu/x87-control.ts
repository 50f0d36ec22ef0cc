/**
 * The x87 control instructions (SDM vol. 1, 8.3.12 and 8.1.10; vol. 2 each instruction): FLDCW,
 * FNSTCW, FNSTSW, FNCLEX, FNINIT, FNSTENV, FLDENV, FNSAVE, FRSTOR, WAIT/FWAIT and the 8087/287
 * leftovers FNENI, FNDISI, FNSETPM, which the P6 executes as no-ops. The FN forms do not wait
 * for a pending exception (a 9B prefix, decoded as its own FWAIT, makes them waiting).
 * Environment layouts: 16- and 32-bit, protected mode (figures 8-9, 8-10) and real or
 * virtual-8086 mode (figures 8-11, 8-12: 20-bit linear pointers).
 */
import { Cr0 } from '../../x86/control-registers.ts';
import { Eflags } from '../../x86/eflags.ts';
import { Vector } from '../../x86/vectors.ts';
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { ea } from '../operands.ts';
import { CW_WRITABLE, EXCEPTIONS, type Fpu, Sw } from './fpu.ts';
import { beginControl, deviceNotAvailable, pendingError, writable } from './x87.ts';

/** FLDCW m2byte (D9 /5): a waiting control instruction; ES follows the new masks. */
export function fldcw(c: Cpu, i: Insn): void {
  const f = beginControl(c, i);
  if (f === null) return;
  const v = c.ld16(i.seg, ea(c, i));
  if (c.pending !== 0) return;
  loadControlWord(f, v);
}

function loadControlWord(f: Fpu, v: number): void {
  f.cw = (v & CW_WRITABLE) | 0x40;
  f.updateErrorSummary();
  f.syncFerr();
}

/** FNSTCW m2byte (D9 /7). */
export function fnstcw(c: Cpu, i: Insn): void {
  if (deviceNotAvailable(c)) return;
  c.st16(i.seg, ea(c, i), c.fpu.cw);
}

/** FNSTSW m2byte (DD /7). */
export function fnstswM(c: Cpu, i: Insn): void {
  if (deviceNotAvailable(c)) return;
  c.st16(i.seg, ea(c, i), c.fpu.statusWord());
}

/** FNSTSW AX (DF E0). */
export function fnstswAx(c: Cpu, _i: Insn): void {
  if (deviceNotAvailable(c)) return;
  c.r16[0] = c.fpu.statusWord();
}

/** FNCLEX (DB E2): clears the exception flags, SF, ES and B (and so deasserts FERR#). */
export function fnclex(c: Cpu, _i: Insn): void {
  if (deviceNotAvailable(c)) return;
  const f = c.fpu;
  f.sw &= ~(EXCEPTIONS | Sw.SF | Sw.ES | Sw.B);
  f.syncFerr();
}

/** FNINIT (DB E3). */
export function fninit(c: Cpu, _i: Insn): void {
  if (deviceNotAvailable(c)) return;
  c.fpu.init();
  c.fpu.syncFerr();
}

/** FNENI, FNDISI, FNSETPM (DB E0, E1, E4): no-ops since the 387 (SDM vol. 2, FINIT/FNINIT notes; executed so by the host processors); they do not touch FIP. */
export function fnLegacy(c: Cpu, _i: Insn): void {
  deviceNotAvailable(c);
}

/**
 * WAIT/FWAIT (9B): #NM when CR0.MP and CR0.TS are both set (SDM vol. 3, table 2-2); then a
 * pending unmasked exception is raised as for any waiting instruction.
 */
export function fwait(c: Cpu, i: Insn): void {
  if ((c.cr0 & (Cr0.MP | Cr0.TS)) === (Cr0.MP | Cr0.TS)) return void c.fault(Vector.NM, -1);
  if ((c.fpu.sw & Sw.ES) !== 0) pendingError(c, i);
}

// ------------------------------------------------------------------ environment

/** Real-address or virtual-8086 mode: the environment holds 20-bit linear pointers. */
function realLayout(c: Cpu): boolean {
  return (c.cr0 & Cr0.PE) === 0 || (c.flags & Eflags.VM) !== 0;
}

/** Bytes of the environment: 14 (16-bit operand size) or 28. */
function envSize(i: Insn): number {
  return i.opsize === 16 ? 14 : 28;
}

/**
 * The environment image as 7 words of the layout for (16-bit, real) (SDM vol. 1, figures 8-9
 * to 8-12); in the 32-bit layouts each word is a dword whose upper half is reserved (stored as
 * 0xFFFF where the host processors store it so).
 */
const image = new Int32Array(7);

function fillImage(f: Fpu, real: boolean, wide: boolean): void {
  const reserved = wide ? 0xffff0000 : 0;
  image[0] = f.cw | reserved;
  image[1] = f.statusWord() | reserved;
  image[2] = f.tagWord() | reserved;
  if (!real) {
    image[3] = wide ? f.fip : f.fip & 0xffff;
    image[4] = wide ? f.fcs | (f.fop << 16) : f.fcs;
    image[5] = wide ? f.fdp : f.fdp & 0xffff;
    image[6] = f.fds | reserved;
  } else {
    // Linear: selector * 16 + offset (after FLDENV in this mode the selector is 0 and the offset linear).
    const ip = ((f.fcs << 4) + f.fip) & (wide ? -1 : 0xfffff);
    const dp = ((f.fds << 4) + f.fdp) & (wide ? -1 : 0xfffff);
    image[3] = (ip & 0xffff) | reserved;
    image[4] = ((ip >>> 16) << 12) | f.fop;
    image[5] = (dp & 0xffff) | reserved;
    image[6] = (dp >>> 16) << 12;
  }
}

/** Stores the environment at seg:off (the caller has checked the whole area is writable). */
function storeEnv(c: Cpu, i: Insn, off: number): void {
  const wide = i.opsize === 32;
  fillImage(c.fpu, realLayout(c), wide);
  for (let k = 0; k < 7; k++) {
    if (wide) c.st32(i.seg, (off + 4 * k) & i.eaMask, image[k]!);
    else c.st16(i.seg, (off + 2 * k) & i.eaMask, image[k]!);
  }
}

/** Reads the environment at seg:off into `image`. False after a fault. */
function readEnv(c: Cpu, i: Insn, off: number): boolean {
  const wide = i.opsize === 32;
  for (let k = 0; k < 7; k++) image[k] = wide ? c.ld32(i.seg, (off + 4 * k) & i.eaMask) : c.ld16(i.seg, (off + 2 * k) & i.eaMask);
  return c.pending === 0;
}

/** Loads the environment read by readEnv. */
function loadEnv(c: Cpu, f: Fpu, wide: boolean): void {
  f.cw = (image[0]! & CW_WRITABLE) | 0x40;
  f.loadStatusWord(image[1]! & 0xffff);
  f.loadTagWord(image[2]! & 0xffff);
  if (!realLayout(c)) {
    f.fip = wide ? image[3]! : image[3]! & 0xffff;
    f.fcs = image[4]! & 0xffff;
    f.fop = wide ? (image[4]! >>> 16) & 0x7ff : 0;
    f.fdp = wide ? image[5]! : image[5]! & 0xffff;
    f.fds = image[6]! & 0xffff;
  } else {
    // Linear pointers: kept as offsets with a zero selector.
    f.fip = (image[3]! & 0xffff) | (((image[4]! >>> 12) & (wide ? 0xffff : 0xf)) << 16);
    f.fop = image[4]! & 0x7ff;
    f.fcs = 0;
    f.fdp = (image[5]! & 0xffff) | (((image[6]! >>> 12) & (wide ? 0xffff : 0xf)) << 16);
    f.fds = 0;
  }
  f.syncFerr();
}

/** FNSTENV m14/28byte (D9 /6): stores the environment, then masks every exception. */
export function fnstenv(c: Cpu, i: Insn): void {
  if (deviceNotAvailable(c)) return;
  const off = ea(c, i);
  if (!writable(c, i.seg, off, envSize(i))) return;
  storeEnv(c, i, off);
  const f = c.fpu;
  f.cw |= EXCEPTIONS;
  f.updateErrorSummary();
  f.syncFerr();
}

/** FLDENV m14/28byte (D9 /4). */
export function fldenv(c: Cpu, i: Insn): void {
  const f = beginControl(c, i);
  if (f === null) return;
  if (!readEnv(c, i, ea(c, i))) return;
  loadEnv(c, f, i.opsize === 32);
}

/** FNSAVE m94/108byte (DD /6): the environment and the eight registers in stack order, then FNINIT. */
export function fnsave(c: Cpu, i: Insn): void {
  if (deviceNotAvailable(c)) return;
  const off = ea(c, i);
  const size = envSize(i);
  if (!writable(c, i.seg, off, size + 80)) return;
  storeEnv(c, i, off);
  const f = c.fpu;
  for (let k = 0; k < 8; k++) {
    const r = (f.top + k) & 7;
    const at = off + size + 10 * k;
    c.st32(i.seg, at & i.eaMask, f.lo[r]!);
    c.st32(i.seg, (at + 4) & i.eaMask, f.hi[r]!);
    c.st16(i.seg, (at + 8) & i.eaMask, f.se[r]!);
  }
  f.init();
  f.syncFerr();
}

/** FRSTOR m94/108byte (DD /4). */
const regs = new Uint32Array(24);

export function frstor(c: Cpu, i: Insn): void {
  const f = beginControl(c, i);
  if (f === null) return;
  const off = ea(c, i);
  if (!readEnv(c, i, off)) return;
  const size = envSize(i);
  for (let k = 0; k < 8; k++) {
    const at = off + size + 10 * k;
    regs[3 * k] = c.ld32(i.seg, at & i.eaMask);
    regs[3 * k + 1] = c.ld32(i.seg, (at + 4) & i.eaMask);
    regs[3 * k + 2] = c.ld16(i.seg, (at + 8) & i.eaMask);
  }
  if (c.pending !== 0) return;
  loadEnv(c, f, i.opsize === 32);
  for (let k = 0; k < 8; k++) f.write((f.top + k) & 7, regs[3 * k + 2]!, regs[3 * k + 1]!, regs[3 * k]!);
}
