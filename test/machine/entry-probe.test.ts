/**
 * The entry probe (guest/entry-probe): what a multiboot kernel finds at its entry — registers,
 * descriptor tables, the multiboot information and where it lies, the BIOS data area, firmware
 * tables, the devices as the firmware left them, fw_cfg — natively and in every mode, against
 * the probe's QEMU 7.2 transcript (guest/entry-probe/expected-qemu.txt) line by line. The lines
 * that differ by design are the rows of the README's table "Lines that differ by design" (read
 * from there, so that what is filtered is what is documented). Under --mode trap the probe's
 * first PUSHF, with interrupts off, ends the run (the VMM cannot virtualize it). When qemu-system-i386 is installed, QEMU also runs live, with the transcript's
 * arguments and with another RAM size and no module, and must agree with shadowvisor.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';
import { MODES, type Vm } from '../../src/api/index.ts';
import { runGuest } from './boot.ts';
import { kernelFile } from './fixtures.ts';

const DIR = 'guest/entry-probe';
const IMAGE = `${DIR}/entry-probe.elf`;
// As in guest/entry-probe/Makefile (APPEND, MODULE): the paths are relative to the repository.
const APPEND = 'console=ttyS0 note=entry-probe';
const MODULE = `${DIR}/module.txt mod-arg=1`;
const MIB = 1 << 20;
const START = 'entry-probe: the machine state at the multiboot entry';
const QEMU = 'qemu-system-i386';
const hasQemu = spawnSync(QEMU, ['--version'], { stdio: 'ignore' }).status === 0;

/** The probe's lines: from its first line (QEMU's serial output begins with SeaBIOS's banner). */
function probeLines(output: string): string[] {
  const at = output.indexOf(START);
  assert.ok(at >= 0, `the probe did not start:\n${output.slice(0, 2000)}`);
  return output.slice(at).split('\n').filter((l) => l !== '');
}

const keyOf = (line: string): string => line.slice(0, line.indexOf(':'));

/** The `key`s in the first column of the README table under `heading`. */
function documented(heading: string): string[] {
  const readme = readFileSync(join(ROOT, DIR, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(at >= 0, `README.md has no section "${heading}"`);
  const section = readme.slice(at + 1).split(/\n## /)[0]!;
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

const BY_DESIGN = documented('Lines that differ by design');

/** Whether `key` is one of `patterns`, where `*` stands for any characters (`gdt[*]`). */
function matches(key: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`).test(key));
}

const without = (lines: readonly string[], patterns: readonly string[]) => lines.filter((l) => !matches(keyOf(l), patterns));

function shadowvisor(mode: (typeof MODES)[number], ramBytes = 128 * MIB, withModule = true) {
  return runGuest(IMAGE, {
    mode,
    ramBytes,
    cmdline: APPEND,
    modules: withModule ? [{ name: 'module.txt', data: new Uint8Array(readFileSync(join(ROOT, DIR, 'module.txt'))), cmdline: MODULE }] : [],
  });
}

/** The native run with the transcript's arguments, shared by the tests that only read it. */
let nativeLines: string[] | null = null;
function native(): string[] {
  nativeLines ??= probeLines(shadowvisor('native').output);
  return nativeLines;
}

function qemu(ramMiB: number, withModule: boolean): string {
  const args = ['-kernel', IMAGE, '-nographic', '-no-reboot', '-m', String(ramMiB), '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-append', APPEND];
  if (withModule) args.push('-initrd', MODULE);
  const run = spawnSync(QEMU, args, { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
  assert.equal(run.status, 1, `QEMU's exit status (1 = the probe wrote 0):\n${run.stderr}`);
  return run.stdout;
}

const transcript = probeLines(readFileSync(join(ROOT, DIR, 'expected-qemu.txt'), 'latin1'));

describe('the entry probe against its QEMU transcript', () => {
  it('the documented differences are few, and each still differs from QEMU natively', () => {
    const lines = native();
    assert.ok(BY_DESIGN.length > 0 && BY_DESIGN.length <= 16, `${BY_DESIGN.length} lines differ by design`);
    for (const key of BY_DESIGN) {
      const ours = lines.filter((l) => keyOf(l) === key);
      const theirs = transcript.filter((l) => keyOf(l) === key);
      assert.ok(ours.length > 0 && theirs.length > 0, `${key}: printed by both`);
      assert.notDeepEqual(ours, theirs, `${key} is the same as QEMU's now: take it out of README.md's table`);
    }
    assert.ok(transcript.length > 200, 'the transcript is whole');
  });

  for (const mode of MODES.filter((m) => m !== 'trap')) {
    it(`${mode}: prints what QEMU printed, but for the documented lines, and exits 0`, () => {
      const run = shadowvisor(mode);
      assert.equal(run.status, 1, `exit status (1 = the probe wrote 0): ${JSON.stringify(run.exit)}\n${run.output.slice(-1500)}`);
      const lines = probeLines(run.output);
      assert.deepEqual(without(lines, BY_DESIGN), without(transcript, BY_DESIGN));
      assert.equal(lines.at(-1), 'entry-probe: done');
    });
  }

  it("trap: the probe's first PUSHF (interrupts off at entry) ends the run, explained, before it prints anything", () => {
    let vm: Vm | null = null;
    const run = runGuest(IMAGE, { mode: 'trap', cmdline: APPEND, onVm: (v) => (vm = v) });
    assert.equal(run.status, 129);
    assert.equal(run.exit.kind, 'not-virtualizable');
    if (run.exit.kind !== 'not-virtualizable') return;
    assert.equal(run.exit.instruction, 'pushf');
    assert.equal(vm!.guestMem.read8(run.exit.eip), 0x9c, 'PUSHF at the address named');
    assert.equal(run.output.indexOf(START), -1, 'nothing printed');
  });

  it('the board leaves a stack below 0x7C00, no structure over the kernel or module, and every kernel-visible device as SeaBIOS does', () => {
    // Spot checks of what kernels rely on, with the transcript's values (QEMU's, not ours).
    const lines = native();
    for (const want of [
      'esp: 0x00006f08',
      'esp.below_0x7c00: yes',
      'mbi.overlaps: 0',
      'pic.irq0_vector: 0x08',
      'pic.irq8_vector: 0x70',
      'pit0.status: 0x34',
      'pit0.reload_65536: yes',
      'pic.imr_master: 0xb8',
      'fw_cfg.signature: "QEMU"',
      'fw_cfg.ram_size: 0x0000000008000000',
      'fw_cfg.nb_cpus: 0x0001',
    ]) {
      assert.ok(transcript.includes(want), `QEMU printed ${want}`);
      assert.ok(lines.includes(want), `shadowvisor printed ${want}`);
    }
  });
});

it('a kernel that calls and pushes before loading a stack of its own runs, as under QEMU (ESP was 0: a triple fault)', () => {
  const path = kernelFile(
    'early-call.bin',
    `
    call print              # on the loader's stack
    push $0
    pop %eax
    out %al, $0xf4          # debug exit, code 0
    hlt
print:
    mov $0x3f8, %dx
    mov $'k', %al
    out %al, (%dx)
    mov $0x0a, %al
    out %al, (%dx)
    ret`,
  );
  for (const mode of MODES) {
    const run = runGuest(path, { mode });
    assert.equal(run.output, 'k\n', mode);
    assert.equal(run.status, 1, `${mode}: ${JSON.stringify(run.exit)}`);
  }
});

describe('the entry probe against QEMU, live', { skip: hasQemu ? false : `${QEMU} is not installed: the live comparison is skipped` }, () => {
  it('128 MiB with the module: QEMU prints the transcript, shadowvisor the same but for the documented lines', () => {
    const live = probeLines(qemu(128, true));
    assert.deepEqual(without(live, BY_DESIGN), without(transcript, BY_DESIGN), 'QEMU no longer prints the transcript: regenerate it (make -C guest/entry-probe transcript)');
    assert.deepEqual(without(native(), BY_DESIGN), without(live, BY_DESIGN));
  });

  it('32 MiB and no module: the same', () => {
    const live = probeLines(qemu(32, false));
    const ours = probeLines(shadowvisor('native', 32 * MIB, false).output);
    assert.deepEqual(without(ours, BY_DESIGN), without(live, BY_DESIGN));
  });
});
