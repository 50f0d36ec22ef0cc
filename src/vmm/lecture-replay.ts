/**
 * The lecture, replayed: the lecture guest (guest/lecture) under the trap-and-emulate VMM with a
 * fixed placement, so that every address the VMM uses is the lecture's own — guest page table
 * GPA 0x7000 at HPA 0xA000, the data page GPA 0x8000 at HPA 0xE000, the shadow directory of CR3
 * 0x1000 at HPA 0x12000 and the shadow of page table 0x7000 at HPA 0x23000 — and the VMM does,
 * at the lecture's moments, what the lecture says it may: delete the shadow of 0x1000 while
 * process 2 runs, move the page at HPA 0xE000 to disk before the application loads from 0x5123,
 * and move the guest page table at HPA 0xA000 to disk just before the guest updates it.
 *
 * Each step records the guest entries, shadow entries, pmap entries and backward-map entries it
 * changed (before and after), the exit that caused it, and one sentence on why. The steps are
 * data (the CLI prints them, `--json` emits them, the visualizer will draw them).
 */
import type { ByteSink } from '../hw/devices/device.ts';
import type { MultibootImage } from '../hw/platform/multiboot.ts';
import { Pte } from '../hw/x86/paging.ts';
import type { VmExit } from './engines/trap.ts';
import { ExitCategory } from './exits.ts';
import { Host } from './host.ts';
import { MemoryBackingStore } from './memory/backing-store.ts';
import { PARKED } from './shadow/shadow-mmu.ts';
import { ShadowRole } from './shadow/shadow-page.ts';
import { TrapVm } from './trap-vm.ts';

/** The lecture's host-physical frames. */
export const LECTURE_HPA = {
  shadowDirectory: 0x12000,
  shadowTable: 0x23000,
  dataPage: 0xe000,
  dataPageBack: 0xf000,
  pageTable: 0xa000,
  pageTableBack: 0xc000,
} as const;

const PD1 = 1;
const PD2 = 3;
const PT = 7;
const DATA = 8;

export interface LectureChange {
  /** guest, shadow, pmap or backward map. */
  readonly kind: 'guest' | 'shadow' | 'pmap' | 'backward map' | 'trace';
  readonly name: string;
  readonly before: string;
  readonly after: string;
}

export interface LectureStep {
  readonly id: string;
  readonly title: string;
  readonly why: string;
  /** The exit that caused the step (empty for the VMM's own decisions). */
  readonly exit: string;
  readonly changes: readonly LectureChange[];
  /** Guest serial lines printed since the previous step. */
  readonly guestLines: readonly string[];
}

export interface LectureReplay {
  readonly steps: readonly LectureStep[];
  readonly exit: VmExit;
  readonly guestOutput: string;
  readonly vm: TrapVm;
}

/** Bytes as text, one character per byte (the guest's serial output). */
const latin1 = (bytes: readonly number[]) => bytes.map((b) => String.fromCharCode(b)).join('');
const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;
const entry = (e: number) => `0x${(e >>> 0).toString(16).padStart(8, '0')}`;

/** Watched state: name -> [kind, reader]. */
type Watch = Map<string, readonly [LectureChange['kind'], () => string]>;

function watches(vm: TrapVm): Watch {
  const w: Watch = new Map();
  const g = vm.guestMem;
  const guestEntry = (gfn: number, i: number) => () => {
    const v = g.peek32(gfn * 4096 + i * 4);
    return v === null ? '-' : entry(v);
  };
  w.set('guest PDE 0x1000[0]', ['guest', guestEntry(PD1, 0)]);
  w.set('guest PDE 0x3000[0]', ['guest', guestEntry(PD2, 0)]);
  for (const i of [2, 5, 6]) w.set(`guest PTE 0x7000[${i}]`, ['guest', guestEntry(PT, i)]);
  const mmu = vm.mmu;
  const where = (frame: number | undefined) => (frame === undefined ? 'none' : `HPA ${hex(frame * 4096)}`);
  w.set('shadow of guest directory 0x1000', ['shadow', () => where(mmu.directoryOf(PD1)?.frame)]);
  w.set('shadow of guest directory 0x3000', ['shadow', () => where(mmu.directoryOf(PD2)?.frame)]);
  w.set('shadow of guest page table 0x7000', ['shadow', () => where(mmu.tables.get(PT)?.frame)]);
  const shadowEntry = (gva: number) => () => {
    const table = mmu.tables.get(PT);
    if (table === undefined) return 'none';
    const addr = table.entryAddress((gva >>> 12) & 0x3ff);
    const v = vm.hostMem.read32(addr);
    return `${entry(v)} (${describeEntry(v)}) at HPA ${hex(addr)}`;
  };
  for (const gva of [0x2000, 0x5000, 0x6000, 0x7000]) w.set(`shadow PTE for GVA ${hex(gva)}`, ['shadow', shadowEntry(gva)]);
  for (const gfn of [PT, DATA]) {
    w.set(`physical-mode entry for GPA ${hex(gfn * 4096)}`, [
      'shadow',
      () => {
        const table = mmu.physDirectory?.children?.[0];
        if (!table) return 'none';
        const v = vm.hostMem.read32(table.entryAddress(gfn));
        return `${entry(v)} (${describeEntry(v)})`;
      },
    ]);
  }
  for (const gfn of [PT, DATA, 9, 0xa]) {
    w.set(`pmap GPA ${hex(gfn * 4096)}`, [
      'pmap',
      () => {
        const hfn = vm.pmap.hostFrame[gfn]!;
        return hfn >= 0 ? `HPA ${hex(hfn * 4096)}` : vm.pager.onDisk[gfn] ? 'on disk' : 'not backed';
      },
    ]);
  }
  const describe = (addr: number) => {
    const sp = mmu.byFrame.get(addr >>> 12);
    const role = sp === undefined ? '?' : sp.role === ShadowRole.PHYS_TABLE ? 'physical-mode table' : `shadow of ${hex(sp.gfn * 4096)}`;
    return `${role} [${(addr & 0xfff) >>> 2}] @${hex(addr)}`;
  };
  for (const hpa of [LECTURE_HPA.dataPage, LECTURE_HPA.dataPageBack, LECTURE_HPA.pageTable, LECTURE_HPA.pageTableBack]) {
    w.set(`backward map of HPA ${hex(hpa)}`, [
      'backward map',
      () =>
        mmu.rmap
          .of(hpa >>> 12)
          .map(describe)
          .sort()
          .join('; ') || 'empty',
    ]);
  }
  for (const gfn of [PT, DATA]) {
    w.set(`parked entries of GPA ${hex(gfn * 4096)}`, [
      'backward map',
      () =>
        mmu.parked
          .of(gfn)
          .map((a) => `${describe(a)} = ${entry(vm.hostMem.read32(a))}`)
          .sort()
          .join('; ') || 'none',
    ]);
  }
  w.set('trace of GPA 0x7000', ['trace', () => (vm.tracer.isTraced(PT) ? `traced (${vm.tracer.count[PT]} shadows)` : 'not traced')]);
  return w;
}

type Snapshot = Map<string, string>;

function snapshot(w: Watch): Snapshot {
  const out: Snapshot = new Map();
  for (const [name, [, read]] of w) out.set(name, read());
  return out;
}

function diff(w: Watch, before: Snapshot, after: Snapshot): LectureChange[] {
  const out: LectureChange[] = [];
  for (const [name, [kind]] of w) {
    const b = before.get(name)!;
    const a = after.get(name)!;
    if (a !== b) out.push({ kind, name, before: b, after: a });
  }
  return out;
}

/** Runs the lecture guest (its multiboot image) under the VMM with the lecture's placement. */
export function replayLecture(image: MultibootImage, name: string, afterEveryExit?: (vm: TrapVm) => void): LectureReplay {
  // Frames the lecture names are set aside and handed out exactly where the lecture puts them.
  const guestPlacement = new Map<number, number[]>([
    [PT, [LECTURE_HPA.pageTable >>> 12, LECTURE_HPA.pageTableBack >>> 12]],
    [DATA, [LECTURE_HPA.dataPage >>> 12, LECTURE_HPA.dataPageBack >>> 12]],
  ]);
  const reserved = [...Object.values(LECTURE_HPA)].map((a) => a >>> 12);
  const output: number[] = [];
  let pendingLines: string[] = [];
  let line: number[] = [];
  const serial: ByteSink = {
    write: (b) => {
      output.push(b);
      if (b === 10) {
        pendingLines.push(latin1(line));
        line = [];
      } else line.push(b);
    },
  };
  const ram = 2 << 20;
  const host = new Host(4 << 20);
  const vm = new TrapVm({
    ramBytes: ram,
    host,
    name: 'lecture',
    input: { read: () => -1, ready: () => false },
    serial,
    disks: [],
    shadowPages: 64,
    backingStore: new MemoryBackingStore({ name: 'disk' }),
    layout: {
      reserved,
      guestFrame: (gfn) => guestPlacement.get(gfn)?.shift() ?? -1,
      shadowFrame: (role, gfn) =>
        role === ShadowRole.DIRECTORY && gfn === PD1 ? LECTURE_HPA.shadowDirectory >>> 12 : role === ShadowRole.TABLE && gfn === PT ? LECTURE_HPA.shadowTable >>> 12 : -1,
    },
  });
  const w = watches(vm);
  const steps: LectureStep[] = [];
  const empty = snapshot(w);
  let prev = empty;
  const record = (id: string, title: string, why: string, exit: string, before: Snapshot, after: Snapshot) => {
    steps.push({ id, title, why, exit, changes: diff(w, before, after), guestLines: pendingLines });
    pendingLines = [];
  };
  /** A decision of the VMM's own, between exits. */
  const act = (id: string, title: string, why: string, action: () => void) => {
    const before = snapshot(w);
    action();
    const after = snapshot(w);
    record(id, title, why, '', before, after);
    prev = after;
  };

  vm.boot(image, name, '', []);
  prev = snapshot(w);
  // The boot built the physical-mode table; it is the first step.
  record(
    'physical-mode',
    `paging off: the guest runs on the physical-mode table (GPA -> HPA; GPA 0x7000 at HPA ${hex(LECTURE_HPA.pageTable)}, GPA 0x8000 at HPA ${hex(LECTURE_HPA.dataPage)})`,
    "The guest boots with paging off, so the VMM gives the real MMU a table that maps every guest-physical page to the host frame the pmap gives it (the lecture's step 1).",
    '',
    empty,
    prev,
  );

  let phase = 0;
  let sawTrue6123 = false;
  vm.engine.afterExit = () => {
    afterEveryExit?.(vm);
    const e = vm.engine.lastExit;
    const now = snapshot(w);
    const exitName = `${e.detail === '' ? e.category : `${e.category}: ${e.detail}`}${e.gva !== 0 ? ` at GVA ${hex(e.gva)}` : ''} (guest EIP ${hex(e.eip)})`;
    const changed = diff(w, prev, now).length > 0;
    const dirBuilt = now.get('shadow of guest directory 0x1000') !== prev.get('shadow of guest directory 0x1000');
    if (phase === 0 && dirBuilt) {
      record('cr3-trapped', `CR3 <- 0x1000 and CR0.PG <- 1 trapped: the shadow of guest directory 0x1000 is built at HPA ${hex(LECTURE_HPA.shadowDirectory)}`, 'Loading CR3 and setting CR0.PG are privileged: they trap, the guest sees its own values in shadow registers, and the real CR3 gets a shadow page directory in a VMM frame: 0x12000 is not in the guest\'s address space (no pmap entry maps it).', exitName, prev, now);
      phase = 1;
    } else if (phase === 1 && now.get('shadow of guest page table 0x7000') !== prev.get('shadow of guest page table 0x7000')) {
      record('shadow-table', `the first hidden fault under CR3 0x1000: the shadow of guest page table 0x7000 is built at HPA ${hex(LECTURE_HPA.shadowTable)}`, "Shadows are filled lazily: the kernel's next access faults into the VMM, which walks the guest's directory, builds the shadow of the page table it names (also outside the guest's address space) and copies the one entry needed.", exitName, prev, now);
      phase = 2;
    } else if (phase === 2 && e.category === ExitCategory.TRUE_FAULT && e.gva === 0x2123) {
      record('true-fault', 'LD 0x2123: page fault in the VMM, then in the guest OS', "The real MMU found no shadow entry (a fault into the VMM); the VMM walked the guest's tables and found PTE 0x7000[2] not present: the guest would fault natively, so it is a true fault, reflected with CR2=0x2123 (the guest allocates lazily).", exitName, prev, now);
      phase = 3;
    } else if (phase === 3 && e.category === ExitCategory.TRACE_FAULT && changed) {
      record('trace-fault', 'the guest writes PTE 0x7000[2]: a trace fault', 'Guest page table 0x7000 is shadowed, so every mapping of it is read-only: the write traps, the VMM emulates it and drops the shadow entry it affects.', exitName, prev, now);
      phase = 4;
    } else if (phase === 4 && e.category === ExitCategory.HIDDEN_FAULT && e.gva === 0x2123) {
      record('hidden-fault', 'LD 0x2123 retried: a hidden fault fills the shadow entry, and the load succeeds', "Now the guest's entry is present: the VMM copies it into the shadow (GVA 0x2000 -> HPA of GPA 0x9000) and sets the accessed bit in the guest's PTE, as the hardware would; the guest never sees this fault.", exitName, prev, now);
      phase = 5;
    } else if (phase === 5 && now.get('shadow of guest directory 0x3000') !== 'none' && prev.get('shadow of guest directory 0x3000') === 'none') {
      record('cr3-0x3000', 'CR3 <- 0x3000: process 2 runs on its own shadow directory', 'One shadow per guest page table: process 2 has its own shadow directory, but its PDE 0 names the same guest table 0x7000, so it shares the one shadow of 0x7000.', exitName, prev, now);
      prev = now;
      act('delete-shadow', `the VMM deletes the shadow of guest directory 0x1000 (HPA ${hex(LECTURE_HPA.shadowDirectory)})`, 'A VMM may delete any shadow that is not in use, e.g. to free memory: nothing is lost, because a shadow is only a cache of the guest\'s tables ("OK - rebuild when CR3 is updated back to 0x1000").', () => {
        vm.mmu.evict(vm.mmu.directoryOf(PD1)!);
      });
      phase = 6;
      return;
    } else if (phase === 6 && dirBuilt) {
      record('rebuild-shadow', `CR3 <- 0x1000 again: the shadow of 0x1000 is rebuilt at HPA ${hex(LECTURE_HPA.shadowDirectory)}`, 'The CR3 load traps, the cache misses, and the VMM builds the shadow directory again; its entries refill lazily (hidden faults). The guest cannot tell.', exitName, prev, now);
      prev = now;
      act('page-out-data', `the VMM moves the page at HPA ${hex(LECTURE_HPA.dataPage)} (GPA 0x8000) to disk`, 'To free host memory the VMM pages a guest frame out behind the guest\'s back: the backward map (pmap) names every shadow entry that maps HPA 0xE000, and each is set not present (parked under GPA 0x8000).', () => {
        vm.pager.pageOut(DATA);
      });
      phase = 7;
      return;
    } else if (phase === 7 && e.category === ExitCategory.PAGING_FAULT) {
      record('page-in-data', `LD 0x5123 faults; the page comes back at HPA ${hex(LECTURE_HPA.dataPageBack)} and ALL shadows pointing to 0xE000 are updated`, 'The real MMU hit a parked entry: the VMM reads the page back into a new host frame, maps GPA 0x8000 -> 0xF000 in the pmap, and points every parked entry at 0xF000 ("update ALL shadow page tables pointing to 0xE000"). The load then succeeds.', exitName, prev, now);
      phase = 8;
    } else if (phase === 8 && e.category === ExitCategory.TRUE_FAULT && e.gva === 0x6123) {
      sawTrue6123 = true;
    } else if (phase === 8 && sawTrue6123 && e.category === ExitCategory.HIDDEN_FAULT && e.gva >>> 12 === 0xa) {
      prev = now;
      act('page-out-table', `the VMM moves guest page table GPA 0x7000 (HPA ${hex(LECTURE_HPA.pageTable)}) to disk`, 'Guest page-table pages are guest memory like any other: the VMM may page them out too. Its shadow stays (its contents cannot change while on disk); the trace stays with the guest frame.', () => {
        vm.pager.pageOut(PT);
      });
      phase = 9;
      return;
    } else if (phase === 9 && vm.pmap.hostFrame[PT] === LECTURE_HPA.pageTableBack >>> 12) {
      record('page-in-table', `the guest updates its page table: a fault brings it back at HPA ${hex(LECTURE_HPA.pageTableBack)} (GPA 0x7000 -> 0xC000)`, "The guest's write to PTE 0x7000[6] faults (its mapping was parked); the VMM's walk needs the table, so it comes back into a new frame, the pmap says 0x7000 -> 0xC000, every parked entry points there again, read-only because the frame is still traced, and the write is emulated as a trace fault.", exitName, prev, now);
      phase = 10;
    }
    prev = now;
  };
  const exit = vm.run(50_000_000);
  if (pendingLines.length > 0) steps.push({ id: 'end', title: 'the guest checks every value and stops', why: 'Every load returned what it returns on bare hardware: the VMM was invisible.', exit: '', changes: [], guestLines: pendingLines });
  return { steps, exit, guestOutput: latin1(output), vm };
}

/** The shadow PTE bits a person reads in the narration. */
export function describeEntry(e: number): string {
  if ((e & Pte.P) === 0) return (e & PARKED) !== 0 ? `parked (GPA ${hex((e >>> 12) * 4096)})` : 'not present';
  return `HPA ${hex(e & ~0xfff)} ${(e & Pte.RW) !== 0 ? 'RW' : 'RO'} ${(e & Pte.US) !== 0 ? 'U' : 'S'}`;
}
