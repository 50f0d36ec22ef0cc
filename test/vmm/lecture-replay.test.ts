/**
 * `shadowvisor lecture`: the lecture's example replayed with its own addresses. Each step is
 * checked against the VM's state, not only its text: where the shadows live, what the pmap and
 * the backward map say, and that the guest saw exactly what it sees on bare hardware; the
 * invariant checker runs after every exit.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LECTURE_HPA, type LectureStep, runLecture } from '../../src/api/index.ts';
import { runGuest } from '../machine/boot.ts';

const image = new Uint8Array(readFileSync(new URL('../../guest/lecture/lecture.elf', import.meta.url)));
const findings: string[] = [];
let exits = 0;
const replay = runLecture(image, 'lecture.elf', (vm) => {
  exits++;
  if (findings.length === 0) findings.push(...vm.checkShadows().map((f) => `after exit ${exits}: ${f}`));
});
const step = (id: string): LectureStep => {
  const s = replay.steps.find((x) => x.id === id);
  assert.ok(s, `step ${id}`);
  return s;
};
const change = (id: string, name: string) => {
  const c = step(id).changes.find((x) => x.name === name);
  assert.ok(c, `step ${id} changes ${name}`);
  return c;
};
const hex = (n: number) => `0x${n.toString(16)}`;

describe('the lecture replayed', () => {
  it('the guest sees what it sees on bare hardware, and every exit passes the invariant checker', () => {
    assert.equal(replay.guestOutput, runGuest('guest/lecture/lecture.elf').output);
    assert.equal(replay.status, 1);
    assert.deepEqual(findings, []);
    assert.ok(exits > 100);
  });

  it('the steps come in the lecture order', () => {
    assert.deepEqual(
      replay.steps.map((s) => s.id),
      ['physical-mode', 'cr3-trapped', 'shadow-table', 'true-fault', 'trace-fault', 'hidden-fault', 'cr3-0x3000', 'delete-shadow', 'rebuild-shadow', 'page-out-data', 'page-in-data', 'page-out-table', 'page-in-table', 'end'],
    );
  });

  it('the shadows live at HPA 0x12000 and 0x23000, in VMM frames no guest mapping reaches', () => {
    const vm = replay.vm;
    assert.equal(change('cr3-trapped', 'shadow of guest directory 0x1000').after, `HPA ${hex(LECTURE_HPA.shadowDirectory)}`);
    assert.equal(change('shadow-table', 'shadow of guest page table 0x7000').after, `HPA ${hex(LECTURE_HPA.shadowTable)}`);
    assert.equal(vm.mmu.directoryOf(1)!.frame * 4096, LECTURE_HPA.shadowDirectory);
    assert.equal(vm.mmu.tables.get(7)!.frame * 4096, LECTURE_HPA.shadowTable);
    for (const hpa of [LECTURE_HPA.shadowDirectory, LECTURE_HPA.shadowTable]) assert.equal(vm.pmap.guestFrame[hpa >>> 12], -1, `${hex(hpa)} is no guest frame`);
  });

  it('LD 0x2123: true fault, trace fault on PTE 0x7000[2], then a hidden fault fills the shadow', () => {
    assert.match(step('true-fault').exit, /true fault at GVA 0x2123/);
    assert.deepEqual(change('trace-fault', 'guest PTE 0x7000[2]'), { kind: 'guest', name: 'guest PTE 0x7000[2]', before: '0x00000000', after: '0x00009007' });
    assert.match(step('trace-fault').exit, /trace fault: mov at GVA 0x7008/);
    const filled = change('hidden-fault', 'shadow PTE for GVA 0x2000');
    assert.match(filled.before, /not present/);
    const hpa9 = replay.vm.pmap.hostFrame[9]! * 4096;
    assert.match(filled.after, new RegExp(`HPA ${hex(hpa9)} RO U`));
    assert.equal(change('hidden-fault', 'guest PTE 0x7000[2]').after, '0x00009027', 'accessed bit set as the hardware would');
  });

  it('the shadow of 0x1000 is deleted while process 2 runs and rebuilt at the same HPA', () => {
    assert.equal(change('delete-shadow', 'shadow of guest directory 0x1000').after, 'none');
    assert.equal(change('rebuild-shadow', 'shadow of guest directory 0x1000').after, `HPA ${hex(LECTURE_HPA.shadowDirectory)}`);
    assert.ok(replay.vm.mmu.stats.rebuilds >= 1);
  });

  it('HPA 0xE000 goes to disk; LD 0x5123 brings it back at 0xF000 and every shadow entry follows', () => {
    assert.deepEqual([change('page-out-data', 'pmap GPA 0x8000').before, change('page-out-data', 'pmap GPA 0x8000').after], ['HPA 0xe000', 'on disk']);
    const before = change('page-out-data', 'backward map of HPA 0xe000').before.split('; ');
    assert.ok(before.length >= 2, 'the physical-mode entry and the shadow entry for GVA 0x5000');
    assert.equal(change('page-out-data', 'backward map of HPA 0xe000').after, 'empty');
    assert.match(change('page-out-data', 'shadow PTE for GVA 0x5000').after, /parked \(GPA 0x8000\)/);
    assert.match(step('page-in-data').exit, /paging fault at GVA 0x5123/);
    assert.equal(change('page-in-data', 'pmap GPA 0x8000').after, 'HPA 0xf000');
    assert.deepEqual(change('page-in-data', 'backward map of HPA 0xf000').after.split('; '), before);
    assert.match(change('page-in-data', 'shadow PTE for GVA 0x5000').after, /HPA 0xf000/);
    assert.equal(replay.vm.pmap.hostFrame[8], LECTURE_HPA.dataPageBack >>> 12);
  });

  it('page table GPA 0x7000 at HPA 0xA000 goes to disk; the guest update faults and it returns at 0xC000, traced', () => {
    assert.deepEqual([change('page-out-table', 'pmap GPA 0x7000').before, change('page-out-table', 'pmap GPA 0x7000').after], ['HPA 0xa000', 'on disk']);
    const back = step('page-in-table');
    assert.match(back.exit, /trace fault: mov at GVA 0x7018/);
    assert.equal(change('page-in-table', 'pmap GPA 0x7000').after, 'HPA 0xc000');
    assert.equal(change('page-in-table', 'guest PTE 0x7000[6]').after, '0x0000a007');
    assert.match(change('page-in-table', 'shadow PTE for GVA 0x7000').after, /HPA 0xc000 RO/);
    assert.equal(replay.vm.pmap.hostFrame[7], LECTURE_HPA.pageTableBack >>> 12);
    assert.ok(replay.vm.tracer.isTraced(7));
  });

  it('shadowvisor lecture prints every step and address; --json gives the same steps as data', () => {
    const cli = (args: string[]) => execFileSync(process.execPath, [new URL('../../bin/shadowvisor.mjs', import.meta.url).pathname, ...args], { encoding: 'utf8' });
    const text = cli(['lecture']);
    for (const a of ['0x12000', '0x23000', '0xe000', '0xf000', '0xa000', '0xc000', 'LD 0x2123', 'LD 0x5123', 'rebuilt', 'trace fault']) assert.ok(text.includes(a), a);
    const json = JSON.parse(cli(['lecture', '--json'])) as { steps: LectureStep[]; status: number };
    assert.deepEqual(json.steps, JSON.parse(JSON.stringify(replay.steps)));
  });
});
