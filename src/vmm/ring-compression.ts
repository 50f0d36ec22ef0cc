/**
 * Ring compression: the guest kernel believes it runs at ring 0 but runs at ring 1, so that
 * every privileged instruction traps (SDM vol. 3, 2.8: they #GP above CPL 0) while page-level
 * U/S protection still keeps guest user code (ring 3) out of the kernel. What the guest calls
 * DPL/RPL/CPL 0 is 1 on the real CPU; translating segment attributes between the two views is
 * all it takes. Guests that use rings 1 and 2 themselves cannot be run this way.
 */
import { SegAttr } from '../hw/x86/descriptors.ts';

const DPL_MASK = 3 << SegAttr.DPL_SHIFT;
const DPL1 = 1 << SegAttr.DPL_SHIFT;

/** A descriptor attribute word as the real CPU must see it: DPL 0 becomes DPL 1. */
export function compressAttr(attr: number): number {
  return (attr & DPL_MASK) === 0 ? attr | DPL1 : attr;
}

/** The reverse: what the guest would see (DPL 1 was DPL 0). */
export function expandAttr(attr: number): number {
  return (attr & DPL_MASK) === DPL1 ? attr & ~DPL_MASK : attr;
}

/** Real CPL for a guest CPL, and back. */
export function realCpl(guestCpl: number): number {
  return guestCpl === 0 ? 1 : guestCpl;
}

export function guestCpl(realCpl: number): number {
  return realCpl === 1 ? 0 : realCpl;
}
