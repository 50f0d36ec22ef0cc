/**
 * The shadowvisor command. Every failure the user can cause (a wrong flag, a missing or
 * malformed program) is one line on stderr and exit status 2; a program's own status is
 * passed through; an internal error says so, with the stack only when SHADOWVISOR_DEBUG=1.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ElfError, MultibootError } from '../api/index.ts';
import { demoCommand } from './demo-command.ts';
import { UsageError } from './errors.ts';
import { type RunCommandOptions, cpuModelList, parseCpuModel, parseProfile, runCommand } from './run-command.ts';
import { vmsCommand } from './vms-command.ts';
import { lectureCommand } from './lecture-command.ts';
import { type CompareCommandOptions, compareCommand } from './compare-command.ts';
import { type NanobenchCommandOptions, nanobenchCommand } from './nanobench-command.ts';
import { MODES } from '../api/index.ts';
import { type UserCommandOptions, userCommand } from './user-command.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function buildProgram(setStatus: (status: number) => void): Command {
  const program = new Command('shadowvisor')
    .description('An x86 virtualization lab: an emulated 32-bit PC and the hypervisors that run guests on it.')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(shadowvisor --help lists the commands and options)')
    .exitOverride();

  program
    .command('demo')
    .description('boot the teaching kernel with its mix workload and show what the hardware counted (npm start)')
    .option('--workload <name>', 'another workload: cpu, forkwait, syscall, pagefault, ctxsw, ptemod, popf, mix', 'mix')
    .action((opts: { workload: string }) => setStatus(demoCommand({ workload: opts.workload })));

  program
    .command('run')
    .description('boot a multiboot kernel on the emulated PC (like qemu-system-i386 -kernel), natively or under the hypervisor')
    .argument('[kernel]', 'the multiboot ELF kernel (or --vm for several)')
    .option('--append <cmdline>', 'the kernel command line', '')
    .option('--module <file [args]>', 'a boot module (repeatable; the whole string is its command line)', collect, [])
    .option('--disk <file.img>', 'a raw disk image: the first is the primary master, the second the slave', collect, [])
    .option('--drive <spec>', "a raw disk image as QEMU's -drive: file=<file.img>[,index=0|1][,media=disk][,format=raw] (index 1: the slave; repeatable)", collect, [])
    .option('--mem <size>', 'RAM, e.g. 128M or 1G (2M-1G)', '128M')
    .option('--mode <mode>', 'native (the guest owns the machine), interpret (the VMM interprets every instruction), trap (trap-and-emulate, shadow page tables) or hw (the CPU\'s guest mode with a VMCB, shadow page tables); default native')
    .option('--profile <name>', 'cycle costs of a processor: nehalem (VMM round trip 1009 cycles) or sandybridge (784)', 'nehalem')
    .option('--cpu <model>', 'the processor model (CPUID, MSRs, SYSENTER, RDTSCP): qemu32 (default) or max; --cpu help lists them')
    .option('--shadow-pages <n>', 'trap, hw: most 4 KiB pages the shadow page tables may hold; the least recently used shadow is evicted (default 4096)')
    .option('--host-mem <size>', 'every mode but native: most guest RAM resident in host memory, e.g. 64M; the VMM pages the rest to its backing store')
    .option('--backing-store <file>', 'trap with --host-mem: the file paged-out guest frames go to (default: a temporary file)')
    .option('--max-instructions <n>', 'stop a runaway guest after n instructions (default 10,000,000,000)')
    .option('--stats', 'print cycles, exceptions, interrupts, TLB counters; under the hypervisor also exits by reason, faults, shadow memory and the slowdown against native')
    .option('--stats-json <file>', 'write the same statistics as JSON')
    .option('--screen', 'print the CGA text screen when the guest stops (always printed when a run fails)')
    .option('--cga', 'mirror the CGA text screen to stderr, a line at a time, as the guest writes it')
    .option('--keyboard', 'standard input types on the PS/2 keyboard instead of reaching the serial port (for kernels that read the keyboard)')
    .option('--vm <spec>', 'run several VMs at once under trap (repeatable): kernel=<file>,append=<cmdline>,mem=,host-mem=,shadow-pages=,backing-store=,max-instructions=,console=<file>,name=', collect, [])
    .action((kernel: string | undefined, opts: RunCommandOptions) => setStatus(runOrVms(kernel, opts)));

  program
    .command('compare')
    .description('run one guest natively and under each virtualization mode: output check, cycles, slowdown, exits, faults, shadow memory, JSON and plots')
    .argument('<kernel>', 'the multiboot ELF kernel')
    .option('--append <cmdline>', 'a kernel command line: one workload (repeatable)', collect, [])
    .option('--modes <list>', `modes to compare, comma-separated (${MODES.join(', ')})`, MODES.join(','))
    .option('--profile <list>', 'cost profiles, comma-separated (nehalem, sandybridge)', 'nehalem')
    .option('--out <dir>', 'where compare.json and the plots go', 'compare-results')
    .option('--mem <size>', 'guest RAM, e.g. 128M (2M-1G)', '128M')
    .option('--max-instructions <n>', 'stop a runaway guest after n instructions (default 10,000,000,000)')
    .action(async (kernel: string, opts: CompareCommandOptions) => setStatus(await compareCommand(kernel, opts)));

  program
    .command('nanobench')
    .description("time single operations (syscall, in, call/ret, page fault, #DE, PTE write, CR3 load) in each mode, next to Adams & Agesen's 2006 figures")
    .option('--modes <list>', `modes, comma-separated (${MODES.join(', ')})`, MODES.join(','))
    .option('--profile <name>', 'cycle costs of a processor: nehalem or sandybridge', 'nehalem')
    .option('--n <count>', 'iterations of each operation (at most 100000)', '1000')
    .action((opts: NanobenchCommandOptions) => setStatus(nanobenchCommand(opts)));

  program
    .command('lecture')
    .description("replay the lecture's shadow page table example on the lecture guest, with the lecture's own addresses (0x12000, 0x23000, 0xE000 -> 0xF000, 0xA000 -> 0xC000)")
    .option('--json', 'print the steps as JSON (guest, shadow, pmap and backward-map entries before and after)')
    .action((opts: { json?: boolean }) => setStatus(lectureCommand(opts)));

  program
    .command('user')
    .description('run a statically linked 32-bit Linux program (gcc -m32 -static) at ring 3 on the emulated CPU')
    .argument('<program>', 'the i386 ELF executable')
    .argument('[args...]', "the program's arguments")
    .option('--memory <MiB>', 'guest RAM in MiB (4-1024)', '256')
    .option('--max-instructions <n>', 'stop a runaway program after n instructions (default 20,000,000,000)')
    .option('--env <NAME=value>', 'add an environment variable (repeatable)', collect, [])
    .option('--clear-env', "do not pass shadowvisor's own environment to the program")
    .option('--stats', 'print the CPU counters and system calls to stderr when the program ends')
    .option('--stats-json <file>', 'write the same statistics as JSON')
    .option('--strace', 'print each system call, its arguments and result to stderr')
    .addOption(new Option('--interpret', 'never compile hot blocks (for measuring the interpreter)'))
    .passThroughOptions()
    .action((prog: string, args: string[], opts: UserCommandOptions) => setStatus(userCommand(prog, args, opts)));

  return program;
}

function runOrVms(kernel: string | undefined, opts: RunCommandOptions): number {
  if (opts.cpu === 'help') {
    process.stdout.write(cpuModelList());
    return 0;
  }
  if (opts.vm.length === 0) {
    if (kernel === undefined) throw new UsageError('run needs a kernel file (or --vm specs)');
    return runCommand(kernel, opts);
  }
  if (kernel !== undefined) throw new UsageError('give the kernel inside each --vm spec (kernel=<file>), not as an argument');
  if (opts.mode !== undefined && opts.mode !== 'trap') throw new UsageError('--vm runs every VM under --mode trap');
  const single = ['append', 'shadowPages', 'hostMem', 'backingStore', 'maxInstructions', 'statsJson'] as const;
  for (const k of single) if (opts[k] !== undefined && opts[k] !== '') throw new UsageError(`with --vm, give ${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} inside each --vm spec`);
  if (opts.module.length > 0 || opts.disk.length > 0) throw new UsageError('--module and --disk are not available with --vm');
  return vmsCommand(opts.vm, parseProfile(opts.profile), {
    ...(opts.stats !== undefined ? { stats: opts.stats } : {}),
    ...(opts.cpu !== undefined ? { cpuModel: parseCpuModel(opts.cpu) } : {}),
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  let status = 0;
  const program = buildProgram((s) => {
    status = s;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return status;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UsageError || e instanceof ElfError || e instanceof MultibootError || e instanceof RangeError) {
      process.stderr.write(`shadowvisor: ${e.message}\n`);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`shadowvisor: internal error: ${message}\nThis is a bug in shadowvisor; rerun with SHADOWVISOR_DEBUG=1 for details.\n`);
    if (process.env.SHADOWVISOR_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 70;
  }
}
