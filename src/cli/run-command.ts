/**
 * `shadowvisor run`: boot a multiboot kernel on the emulated PC, like `qemu-system-i386
 * -kernel -nographic`: natively, or under the hypervisor (`--mode`). Serial console on stdout,
 * stdin to the serial port (or the keyboard), exit status from the debug-exit port.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type BackingStore, BackingStoreError, type BootModule, type ByteSource, CPU_MODELS, type CpuModel, MODES, type VmmReport, type MachineRun, MAX_RAM, type Mode, NO_INPUT, PROFILES, type Profile, describeExit, findCpuModel, findProfile, runMachine, slowdown } from '../api/index.ts';
import { DiskError, FileBackingStore, FileDisk, StdoutSink, stdinSource } from '../api/node.ts';
import { UsageError } from './errors.ts';
import { bytes, count, percent, table, wrap } from './format.ts';
import { parsePositiveInteger, readProgram } from './user-command.ts';

export interface RunCommandOptions {
  append: string;
  module: string[];
  disk: string[];
  drive: string[];
  mem: string;
  maxInstructions?: string;
  stats?: boolean;
  statsJson?: string;
  screen?: boolean;
  cga?: boolean;
  keyboard?: boolean;
  mode?: string;
  profile: string;
  shadowPages?: string;
  hostMem?: string;
  backingStore?: string;
  vm: string[];
  cpu?: string;
}

export function parseMode(text: string): Mode {
  const mode = MODES.find((m) => m === text);
  if (mode === undefined) throw new UsageError(`--mode must be one of ${MODES.join(', ')}, got "${text}"`);
  return mode;
}

/** --cpu: a model's name (`--cpu help` is handled by the caller). */
export function parseCpuModel(text: string): CpuModel {
  const model = findCpuModel(text);
  if (model === undefined) throw new UsageError(`--cpu must be one of ${CPU_MODELS.map((m) => m.name).join(', ')} (or help), got "${text}"`);
  return model;
}

/** What `--cpu help` prints, as QEMU's `-cpu help` does: one model a line. */
export function cpuModelList(): string {
  const width = Math.max(...CPU_MODELS.map((m) => m.name.length));
  return `Available CPUs:\n${CPU_MODELS.map((m) => `x86 ${m.name.padEnd(width)}  ${m.summary}`).join('\n')}\n`;
}

export function parseProfile(text: string): Profile {
  const profile = findProfile(text);
  if (profile === undefined) throw new UsageError(`--profile must be one of ${PROFILES.map((p) => p.name).join(', ')}, got "${text}"`);
  return profile;
}

/** "128M", "1G", "65536K" or a plain number of MiB -> bytes. */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+)\s*([KMG]?)i?B?$/i.exec(text.trim());
  if (m === null) throw new UsageError(`${flag} needs a size such as 128M or 1G, got "${text}"`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  return unit === 'G' ? n * 2 ** 30 : unit === 'K' ? n * 1024 : n * 2 ** 20;
}

/** Guest RAM: whole MiB, 2 MiB to 1 GiB. */
export function parseMemorySize(text: string): number {
  const bytes = parseSize(text, '--mem');
  if (bytes % 2 ** 20 !== 0) throw new UsageError(`--mem must be a whole number of MiB, got ${text}`);
  if (bytes < 2 * 2 ** 20 || bytes > MAX_RAM) throw new UsageError(`--mem must be between 2M and 1G, got ${text}`);
  return bytes;
}

function loadModule(spec: string): BootModule {
  const path = spec.trim().split(/\s+/)[0] ?? '';
  if (path === '') throw new UsageError('--module needs a file name');
  return { name: path, data: readProgram(path), cmdline: spec.trim() };
}

export function printMachineStats(run: MachineRun, out: (s: string) => void): void {
  const c = run.counters;
  out(
    table(
      [
        ['mode', run.mode],
        ['cost profile', run.profile],
        ['instructions', count(run.instructions)],
        ['simulated cycles', count(run.cycles)],
        ['wall-clock seconds', run.seconds.toFixed(3)],
        ['guest MIPS (wall clock)', run.mips.toFixed(1)],
        ['TLB misses', count(c.tlb_miss ?? 0)],
        ['page walks', count(c.page_walk ?? 0)],
        ['CR3 loads', count(c.cr3_load ?? 0)],
        ['TLB flushes', count(c.tlb_flush ?? 0)],
        ['INVLPG', count(c.invlpg ?? 0)],
        ['port I/O', count(c.port_io ?? 0)],
        ['MMIO accesses', count(c.mmio ?? 0)],
        ['HLT', count(c.halt ?? 0)],
      ],
      ['counter', 'value'],
    ),
  );
  const vectors = Object.entries(run.vectors).sort((a, b) => b[1] - a[1]);
  if (vectors.length > 0) out(table(vectors.map(([k, v]) => [k, count(v)]), ['exception or interrupt (vector)', 'delivered']));
  const sources = Object.entries(run.interrupts).filter(([, v]) => v > 0);
  if (sources.length > 0) out(table(sources.map(([k, v]) => [k, count(v)]), ['interrupt source', 'requests']));
}

/** The hypervisor's part of --stats: exits by reason, faults, the VMM's work, shadow memory, slowdown. */
export function printVmmStats(run: MachineRun, native: MachineRun | null, nativeNote: string, out: (s: string) => void): void {
  const vmm = run.vmm;
  if (vmm === null) return;
  const share = (cycles: number) => percent(cycles / run.cycles);
  out(
    table(
      vmm.exits.reasons.map((r) => [r.detail === '' ? r.category : `${r.category}: ${r.detail}`, count(r.count), count(r.cycles), share(r.cycles)]),
      ['exit reason', 'exits', 'cycles', 'of all cycles'],
    ),
  );
  out(
    table(
      [
        ...vmm.exits.categories.map((r) => [r.category, count(r.count), count(r.cycles), share(r.cycles)]),
        ['all exits', count(vmm.exits.count), count(vmm.exits.cycles), share(vmm.exits.cycles)],
      ],
      ['exit category', 'exits', 'cycles', 'of all cycles'],
    ),
  );
  const s = vmm.shadow;
  out(
    table(
      [
        ['hidden faults (filled by the VMM)', count(vmm.faults.hidden)],
        ['true faults (reflected to the guest)', count(vmm.faults.true)],
        ['trace faults (guest table writes emulated)', count(vmm.faults.trace)],
        ['interrupts injected', count(vmm.injections)],
        ...Object.entries(vmm.work).map(([k, w]) => [`VMM work: ${k}`, `${count(w.count)} (${count(w.cycles)} cycles)`] as const),
        ...shadowRows(s),
        ['host memory: guest RAM / VMM', `${bytes(vmm.hostMemory.guestBytes)} / ${bytes(vmm.hostMemory.vmmBytes)}`],
        ...pagingRows(vmm.paging),
      ],
      ['hypervisor', 'value'],
    ),
  );
  if (native !== null) {
    out(
      table(
        [
          ['native cycles (same guest, same profile)', count(native.cycles)],
          [`${run.mode} cycles`, count(run.cycles)],
          ['slowdown', percent(slowdown(run, native))],
        ],
        ['against native', 'value'],
      ),
    );
  } else out(`slowdown against native: ${nativeNote}`);
}

function shadowRows(s: VmmReport['shadow']): (readonly [string, string])[] {
  if (s === null) return [];
  return [
    ['shadow pages in use (peak)', `${count(s.pages)} (${count(s.peakPages)})`],
    ['shadow memory in use (peak)', `${bytes(s.bytes)} (${bytes(s.peakBytes)})`],
    ...Object.entries(s.pagesByRole).map(([k, n]) => [`  ${k} pages in use (built)`, `${count(n)} (${count(s.builtByRole[k] ?? 0)})`] as const),
    ['shadow page budget', `${count(s.capacityPages)} pages (${bytes(s.capacityPages * 4096)})`],
    ['shadow cache lookups: hits / misses', `${count(s.hits)} / ${count(s.misses)}`],
    ['shadows rebuilt after eviction', count(s.rebuilds)],
    ['shadow pages evicted (least recently used)', count(s.evictions)],
    ['guest tables unshadowed (write floods)', count(s.floods)],
    ['guest frames traced', count(s.tracedFrames)],
    ['backward-map entries', count(s.backwardMapEntries)],
    ['shadow GDT + LDT', bytes(s.descriptorTableBytes)],
  ];
}

function pagingRows(p: VmmReport['paging']): (readonly [string, string])[] {
  if (p.backingStore === null) return [];
  return [
    ['guest RAM resident (limit)', `${bytes(p.residentPages * 4096)} (${bytes(p.residentLimitPages * 4096)})`],
    ['VMM paging: page-outs / page-ins', `${count(p.pageOuts)} / ${count(p.pageIns)}`],
    ['VMM paging: faults on paged-out frames', count(p.faults)],
    ['VMM paging: page-ins for VMM or device accesses', count(p.vmmFetches)],
    ['VMM paging: frames backed on first use (zeroed)', count(p.zeroFills)],
    ['VMM paging: second chances (accessed bits)', count(p.secondChances)],
    ['backing store', p.backingStore],
  ];
}

/** Counts the bytes the guest took from `input` (a second run can only compare if it took none). */
function countingSource(input: ByteSource): { source: ByteSource; taken: () => number } {
  let taken = 0;
  return {
    source: {
      read: () => {
        const b = input.read();
        if (b >= 0) taken++;
        return b;
      },
      ready: () => input.ready(),
    },
    taken: () => taken,
  };
}

/** The backing store for --host-mem: the named file, or a temporary one. */
function openBackingStore(file: string | undefined): BackingStore {
  try {
    return FileBackingStore.create(file);
  } catch (e) {
    if (e instanceof BackingStoreError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * VMM paging options (--host-mem and --backing-store, or a --vm spec's host-mem and
 * backing-store: `names`, in messages after `where`): the resident limit, and a backing store
 * opened when the limit is below the guest's RAM (the caller closes it).
 */
export function pagingOptions(
  hostMem: string | undefined,
  backingStore: string | undefined,
  ramBytes: number,
  names: { readonly hostMem: string; readonly backingStore: string },
  where = '',
): { guestMemoryLimit?: number; backingStore?: BackingStore } {
  if (hostMem === undefined) {
    if (backingStore !== undefined) throw new UsageError(`${where}${names.backingStore} needs ${names.hostMem} (without a limit nothing is paged out)`);
    return {};
  }
  const guestMemoryLimit = parseSize(hostMem, `${where}${names.hostMem}`);
  return guestMemoryLimit < ramBytes ? { guestMemoryLimit, backingStore: openBackingStore(backingStore) } : { guestMemoryLimit };
}

/**
 * The primary channel's two positions from --disk (in order: master, then slave) and --drive
 * (QEMU's syntax: file=, index=, and media=disk / format=raw, the only kinds there are). Null: no
 * disk there.
 */
export function diskImages(disk: readonly string[], drive: readonly string[]): (string | null)[] {
  const at: (string | null)[] = [null, null];
  const place = (index: number, file: string, what: string) => {
    if (at[index] !== null) throw new UsageError(`${what}: the ${index === 0 ? 'master' : 'slave'} (index ${index}) already has ${at[index]}`);
    at[index] = file;
  };
  for (const file of disk) {
    const free = at.indexOf(null);
    if (free < 0) throw new UsageError('at most two disk images (primary master and slave)');
    place(free, file, `--disk ${file}`);
  }
  for (const spec of drive) {
    let file: string | null = null;
    let index = -1;
    for (const part of spec.split(',')) {
      const [key, value = ''] = part.split('=', 2) as [string, string?];
      if (key === 'file') file = value;
      else if (key === 'index' && (value === '0' || value === '1')) index = Number(value);
      else if ((key === 'media' && value === 'disk') || (key === 'format' && value === 'raw') || (key === 'if' && value === 'ide')) continue;
      else throw new UsageError(`--drive ${spec}: "${part}" is not understood (file=<image>, index=0|1, media=disk, format=raw)`);
    }
    if (file === null || file === '') throw new UsageError(`--drive ${spec}: needs file=<image>`);
    if (index < 0) index = at.indexOf(null);
    if (index < 0) throw new UsageError('at most two disk images (primary master and slave)');
    place(index, file, `--drive ${spec}`);
  }
  while (at.length > 0 && at[at.length - 1] === null) at.pop();
  return at;
}

export function runCommand(kernelPath: string, opts: RunCommandOptions): number {
  const ramBytes = parseMemorySize(opts.mem);
  const maxInstructions = opts.maxInstructions === undefined ? undefined : parsePositiveInteger(opts.maxInstructions, '--max-instructions');
  const images = diskImages(opts.disk, opts.drive);
  const kernel = readProgram(kernelPath);
  const modules = opts.module.map(loadModule);
  const disks: (FileDisk | null)[] = [];
  try {
    for (const d of images) disks.push(d === null ? null : FileDisk.open(d));
  } catch (e) {
    for (const d of disks) d?.close();
    if (e instanceof DiskError) throw new UsageError(e.message);
    throw e;
  }
  const mode = parseMode(opts.mode ?? 'native');
  const profile = parseProfile(opts.profile);
  const cpuModel = opts.cpu === undefined ? undefined : parseCpuModel(opts.cpu);
  const shadowPages = opts.shadowPages === undefined ? undefined : parsePositiveInteger(opts.shadowPages, '--shadow-pages');
  if (shadowPages !== undefined && mode !== 'trap' && mode !== 'hw') throw new UsageError('--shadow-pages applies to --mode trap and hw only (the modes with shadow page tables)');
  if ((opts.hostMem !== undefined || opts.backingStore !== undefined) && mode === 'native') throw new UsageError('--host-mem and --backing-store apply under the hypervisor only (--mode interpret, trap or hw)');
  const paging = pagingOptions(opts.hostMem, opts.backingStore, ramBytes, { hostMem: '--host-mem', backingStore: '--backing-store' });
  const serial = new StdoutSink();
  const stdin = stdinSource();
  const input = countingSource(stdin);
  const common = {
    kernel,
    kernelName: basename(kernelPath),
    kernelPath,
    cmdline: opts.append,
    modules,
    ramBytes,
    profile,
    ...(maxInstructions !== undefined ? { maxInstructions } : {}),
    ...(cpuModel !== undefined ? { cpuModel } : {}),
  };
  let run: MachineRun;
  try {
    run = runMachine({
      ...common,
      mode,
      ...(shadowPages !== undefined ? { shadowPages } : {}),
      ...paging,
      disks,
      input: input.source,
      inputDevice: opts.keyboard ? 'keyboard' : 'serial',
      waitForInput: () => {
        serial.flush();
        return stdin.wait();
      },
      hostStop: () => stdin.quitRequested(),
      serial,
      ...(opts.cga ? { cgaMirror: (row: number, text: string) => process.stderr.write(`[cga ${String(row).padStart(2)}] ${text}\n`) } : {}),
    });
  } finally {
    serial.flush();
    stdin.close();
    for (const d of disks) d?.close();
    paging.backingStore?.close();
  }
  // The slowdown needs the same guest run natively: a second run, which must see the same inputs.
  let native: MachineRun | null = null;
  let nativeNote = '';
  if (mode !== 'native' && (opts.stats || opts.statsJson !== undefined)) {
    if (input.taken() > 0) nativeNote = 'not measured (the guest read input, which a second run cannot replay)';
    else if (images.length > 0) nativeNote = 'not measured (the guest had disks, which the first run may have changed)';
    else native = runMachine({ ...common, mode: 'native', input: NO_INPUT, serial: { write: () => {} } });
  }
  const err = (s: string) => process.stderr.write(`${s}\n`);
  const failed = run.exit.kind !== 'exit' && run.exit.kind !== 'halted' && run.exit.kind !== 'stopped';
  if (run.exit.kind === 'stopped') err(`\r\nshadowvisor: ${describeExit(run.exit)}`);
  // One line of reason; the popf problem's explanation is a paragraph, wrapped for the terminal.
  if (failed) err(run.exit.kind === 'not-virtualizable' ? wrap(`shadowvisor: ${describeExit(run.exit)}`) : `shadowvisor: ${describeExit(run.exit)}`);
  if (failed || opts.screen) {
    const rows = [...run.screen];
    while (rows.length > 0 && rows[rows.length - 1]!.trim() === '') rows.pop();
    if (rows.length > 0) err(`--- CGA text screen ---\n${rows.map((r) => r.trimEnd()).join('\n')}\n-----------------------`);
  }
  if (opts.stats) {
    printMachineStats(run, err);
    printVmmStats(run, native, nativeNote, err);
  }
  if (opts.statsJson !== undefined) {
    const { exit, status, instructions, cycles, counters, vectors, interrupts, seconds, mips, vmm } = run;
    const json = {
      kernel: basename(kernelPath),
      cmdline: opts.append,
      mode,
      profile: profile.name,
      cpu: (cpuModel ?? CPU_MODELS[0]!).name,
      exit,
      status,
      instructions,
      cycles,
      counters,
      vectors,
      interrupts,
      seconds,
      mips,
      vmm,
      native: native === null ? null : { status: native.status, instructions: native.instructions, cycles: native.cycles },
      slowdown: native === null ? null : slowdown(run, native),
    };
    writeFileSync(opts.statsJson, `${JSON.stringify(json, null, 2)}\n`);
  }
  return run.status;
}
