/**
 * `shadowvisor run --vm <spec> --vm <spec> ...`: several guests at once under the trap-and-emulate
 * VMM on one host, each with its own memory, shadows, devices and console. Each VM's serial output
 * goes to stdout with its name in front of every line (or to its console file); at the end one
 * line per VM says how it ended, and --stats adds each VM's hypervisor statistics.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { type BackingStore, type ByteSink, type CpuModel, DEFAULT_RAM, type MachineRun, type Profile, describeExit, runMachines } from '../api/index.ts';
import { StdoutSink } from '../api/node.ts';
import { UsageError } from './errors.ts';
import { pagingOptions, parseMemorySize, printMachineStats, printVmmStats } from './run-command.ts';
import { parsePositiveInteger, readProgram } from './user-command.ts';
import { type VmSpec, parseVmSpec } from './vm-spec.ts';

/** Serial output line by line, each line prefixed (several VMs share the terminal). */
class PrefixedSink implements ByteSink {
  private line: number[] = [];
  private readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  write(byte: number): void {
    if (byte === 10) this.flush();
    else this.line.push(byte);
  }

  flush(): void {
    if (this.line.length === 0) return;
    writeSync(1, `${this.prefix}${Buffer.from(this.line).toString('latin1')}\n`);
    this.line = [];
  }
}

export interface VmsCommandOptions {
  readonly stats?: boolean;
  /** The host's processor, every VM's (--cpu). */
  readonly cpuModel?: CpuModel;
}

export function vmsCommand(specTexts: readonly string[], profile: Profile, opts: VmsCommandOptions): number {
  const specs: VmSpec[] = specTexts.map(parseVmSpec);
  const names = specs.map((s, k) => s.name ?? `vm${k + 1}`);
  if (new Set(names).size !== names.length) throw new UsageError('--vm: every VM needs its own name');
  const width = Math.max(...names.map((n) => n.length));
  const stores: BackingStore[] = [];
  const consoles: number[] = [];
  const sinks: (PrefixedSink | StdoutSink)[] = [];
  let runs: MachineRun[];
  try {
    const vms = specs.map((s, k) => {
      const ramBytes = s.mem === undefined ? DEFAULT_RAM : parseMemorySize(s.mem);
      const paging = pagingOptions(s.hostMem, s.backingStore, ramBytes, { hostMem: 'host-mem', backingStore: 'backing-store' }, `--vm ${names[k]}: `);
      if (paging.backingStore !== undefined) stores.push(paging.backingStore);
      let serial: PrefixedSink | StdoutSink;
      if (s.console !== undefined) {
        let fd: number;
        try {
          fd = openSync(s.console, 'w');
        } catch (e) {
          throw new UsageError(`--vm ${names[k]}: cannot write the console file ${s.console} (${e instanceof Error && 'code' in e ? String(e.code) : String(e)})`);
        }
        consoles.push(fd);
        serial = new StdoutSink(fd);
      } else serial = new PrefixedSink(`${names[k]!.padEnd(width)}| `);
      sinks.push(serial);
      return {
        kernel: readProgram(s.kernel),
        kernelName: basename(s.kernel),
        kernelPath: s.kernel,
        name: names[k]!,
        cmdline: s.append,
        serial,
        ramBytes,
        ...(s.shadowPages !== undefined ? { shadowPages: parsePositiveInteger(s.shadowPages, `--vm ${names[k]}: shadow-pages`) } : {}),
        ...paging,
        ...(s.maxInstructions !== undefined ? { maxInstructions: parsePositiveInteger(s.maxInstructions, `--vm ${names[k]}: max-instructions`) } : {}),
      };
    });
    runs = runMachines({ vms, profile, ...(opts.cpuModel !== undefined ? { cpuModel: opts.cpuModel } : {}) });
  } finally {
    for (const s of sinks) s.flush();
    for (const fd of consoles) closeSync(fd);
    for (const s of stores) s.close();
  }
  const err = (s: string) => process.stderr.write(`${s}\n`);
  runs.forEach((run, k) => {
    const spec = specs[k]!;
    err(`shadowvisor: ${names[k]} (${basename(spec.kernel)}${spec.append === '' ? '' : ` ${spec.append}`}): ${describeExit(run.exit)}`);
    if (opts.stats) {
      err(`--- ${names[k]} ---`);
      printMachineStats(run, err);
      printVmmStats(run, null, 'not measured for several VMs (run each alone)', err);
    }
  });
  return Math.max(...runs.map((r) => r.status));
}
