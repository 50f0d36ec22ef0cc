/** The runnable examples in docs/ keep working and keep showing what the docs say they show. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';

function example(name: string): string {
  return execFileSync(process.execPath, ['--import', 'tsx', `${ROOT}docs/examples/${name}`], { cwd: ROOT, encoding: 'utf8' });
}

it('popf-problem: cli traps at CPL 1, popf silently keeps IF = 0', () => {
  const out = example('popf-problem.ts');
  assert.match(out, /cli {2}-> trap to the monitor: vector #GP, error code 0, at eip 0x1000/);
  assert.match(out, /push 0x202; popf -> no trap; the next exit is #GP at eip 0x1007/);
  assert.match(out, /EFLAGS\.IF = 0: popf asked for IF=1/);
});

it('real-mode-and-v86: the first fetch at FFFFFFF0H, real-mode bases, INT through the IVT; in V86 mode CLI, PUSHF, POPF, INT n all trap', () => {
  const out = example('real-mode-and-v86.ts');
  assert.match(out, /after RESET: CR0 0x60000010, CS:IP f000:fff0, CS base 0xffff0000 -> first fetch at 0xfffffff0/);
  assert.match(out, /jmp far 0000:7C00 -> CS base 0x0, IP 0x7c00/);
  assert.match(out, /DS base 0x12340/);
  assert.match(out, /int 10h -> CS:IP 0:500, pushed IP 0x7c07 CS 0x0 FLAGS 0x2/);
  assert.match(out, /stored 0xbeef at 1234:0000 .* halt/);
  for (const [insn, ip] of [['cli', 0], ['pushf', 1], ['popf', 2], ['int 21h', 3]] as const) {
    assert.match(out, new RegExp(`${insn} +-> trap to the monitor: #GP\\(0\\) at IP 0x${ip}`));
  }
});

it('vmm-paging: a frame paged out parks its entries, comes back at a new HPA with all of them; no finding, native output', () => {
  const out = example('vmm-paging.ts');
  const listed = /its backward map lists (\d+) shadow entries/.exec(out);
  assert.ok(listed, out);
  assert.match(out, new RegExp(`paged out: the backward map of HPA 0x[0-9a-f]+ lists 0; parked under GPA 0x[0-9a-f]+: ${listed[1]} entries, not present`));
  assert.match(out, /\(paging fault\): GPA 0x[0-9a-f]+ is back, at HPA 0x[0-9a-f]+\n {2}every entry that was parked now maps HPA 0x[0-9a-f]+: yes/);
  assert.match(out, /each followed by the invariant checker: 0 findings/);
  assert.match(out, /guest output equal to native \(clock lines aside\): yes/);
});

it('paging: walk, TLB miss then hit, A and D bits, a page fault with CR2', () => {
  const out = example('paging.ts');
  assert.match(out, /-> physical 0x9234/);
  assert.match(out, /1st load: eax = 0x12345678; TLB misses \+2 .* PTE now 0x9023/);
  assert.match(out, /2nd load: TLB hits \+1, misses \+0/);
  assert.match(out, /store: {4}PTE now 0x9063/);
  assert.match(out, /#PF \(vector 14\), error code 0 .* CR2 = 0x801000/);
});

it("the pc-board doc's device-test example: all checks pass, status 1 (debug-exit code 0), interrupts counted", () => {
  const img = join(mkdtempSync(join(tmpdir(), 'shadowvisor-doc-')), 'disk.img');
  writeFileSync(img, new Uint8Array(1 << 20));
  const r = spawnSync(process.execPath, [`${ROOT}bin/shadowvisor.mjs`, 'run', 'guest/devtest/devtest.elf', '--disk', img, '--stats'], {
    cwd: ROOT,
    encoding: 'utf8',
    input: '',
  });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /devtest: all checks passed/);
  assert.match(r.stderr, /disk \(IDE, IRQ 14\) +│ +15 │/);
});

it('lecture-under-trap: LD 0x2123 is a true fault, the guest writes its table (trace), the retry fills the shadow (hidden)', () => {
  const out = example('lecture-under-trap.ts');
  const lines = out.split('\n');
  const trueFault = lines.findIndex((l) => /true fault +eip 0x106000 +ring 3 +GVA 0x2123 +guest: GVA 0x2123 not mapped; shadow: no entry/.test(l));
  const trace = lines.findIndex((l, k) => k > trueFault && /trace fault \(mov\).*GVA 0x7008/.test(l));
  const retry = lines.findIndex((l, k) => k > trace && /hidden fault +eip 0x106000 +ring 3 +GVA 0x2123 +guest: GVA 0x2123 -> GPA 0x9123; shadow: -> HPA 0x[0-9a-f]+123 \(read-only\)/.test(l));
  assert.ok(trueFault >= 0 && trace > trueFault && retry > trace, out);
  assert.match(out, /mov to cr3\) .*CR0 0x11 CR3 0x1000 -> .*\(physical-mode table\)/);
  assert.match(out, /mov to cr0\) .*CR0 0x80000011 CR3 0x1000 -> .*\(shadow of the guest directory\)/);
  // The guest takes 3 page faults (lecture.c); it writes its table at GPA 0x7000 at least 4 times
  // (PTE [2] twice, [6], and [2] cleared); each true fault's retry is a hidden fault.
  const faults = /faults: (\d+) hidden, (\d+) true, (\d+) trace; shadow audit: 0 findings/.exec(out);
  assert.ok(faults !== null, out);
  assert.equal(Number(faults[2]), 3);
  assert.ok(Number(faults[1]) >= 3 && Number(faults[3]) >= 4, faults[0]);
});

it('compare-modes: trap exits on every system call, hw never; popf defeats only trap', () => {
  const out = example('compare-modes.ts');
  assert.match(out, /workload=syscall n=5000: guest output identical/);
  const ints = Number(/ {2}trap {6}status 1, \d+ exits \((\d+) for INT n\)/.exec(out)?.[1]);
  assert.ok(ints >= 5000, out);
  assert.match(out, / {2}hw {8}status 1, \d+ exits \(0 for INT n\)/);
  assert.match(out, / {2}trap {6}status 129, .*cannot be virtualized by trap-and-emulate/);
  assert.match(out, /popf irq=popf n=100[^\n]*\n(.*\n){1}  interpret status 1/);
  assert.match(out, / {2}hw {8}status 1, \d+ exits \(0 for INT n\), slowdown/);
});
