/**
 * The PC's coprocessor-error logic (IBM PC AT; SDM vol. 1, appendix D.2.1 and D.3): the
 * processor's FERR# output raises ISA IRQ 13; a write of any value to port 0xF0 lowers IRQ 13
 * and asserts the processor's IGNNE# input while FERR# stays asserted, so the handler's own x87
 * instructions run despite the pending error; IGNNE# goes away with FERR# (when the handler
 * clears the exception). Reads of port 0xF0 float high, as in QEMU's pc board.
 */
import type { IrqLine, PortHandler } from './device.ts';

export const FPU_ERROR_PORT = 0xf0;
/** The ISA interrupt request line FERR# drives. */
export const FPU_ERROR_IRQ = 13;

export interface FpuErrorState {
  version: 1;
  /** The processor's FERR# as last driven. */
  ferr: boolean;
  /** IRQ 13 as driven now. */
  irq: boolean;
  /** IGNNE# as driven to the processor now. */
  ignne: boolean;
}

export class FpuErrorLatch implements PortHandler {
  readonly state: FpuErrorState = { version: 1, ferr: false, irq: false, ignne: false };
  /** The processor's FERR# output ends here. */
  readonly ferr: IrqLine = { set: (level) => this.setFerr(level) };
  private readonly irq: IrqLine;
  private readonly ignne: IrqLine;

  /** irq: ISA IRQ 13; ignne: the processor's IGNNE# input. */
  constructor(irq: IrqLine, ignne: IrqLine) {
    this.irq = irq;
    this.ignne = ignne;
  }

  private setFerr(level: boolean): void {
    const s = this.state;
    if (level === s.ferr) return;
    s.ferr = level;
    if (level) this.drive(true, s.ignne);
    else this.drive(false, false);
  }

  private drive(irq: boolean, ignne: boolean): void {
    const s = this.state;
    if (irq !== s.irq) {
      s.irq = irq;
      this.irq.set(irq);
    }
    if (ignne !== s.ignne) {
      s.ignne = ignne;
      this.ignne.set(ignne);
    }
  }

  read(_port: number, size: 1 | 2 | 4): number {
    return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  }

  /** Any write clears the interrupt request; IGNNE# follows while FERR# is asserted. */
  write(_port: number, _size: 1 | 2 | 4, _value: number): void {
    this.drive(false, this.state.ferr);
  }
}
