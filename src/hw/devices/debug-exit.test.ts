import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DebugExit } from './debug-exit.ts';

describe('isa-debug-exit', () => {
  it('exits with (value << 1) | 1 for writes of any size at base..base+3', () => {
    const statuses: number[] = [];
    const dev = new DebugExit(0xf4, (s) => statuses.push(s));
    dev.write(0xf4, 1, 0x10); // outb(0x10, 0xf4): a test's "success" code
    dev.write(0xf4, 1, 0x00);
    dev.write(0xf6, 2, 0x1234);
    dev.write(0xf7, 4, 0x80000000);
    dev.write(0xf5, 1, 0x1ff); // only the access width counts
    assert.deepEqual(statuses, [0x21, 0x01, 0x2469, 0x1_0000_0001, 0x1ff]);
    assert.equal(dev.state.lastStatus, 0x1ff);
  });

  it('ignores ports outside its window and reads all ones', () => {
    const statuses: number[] = [];
    const dev = new DebugExit(0xf4, (s) => statuses.push(s));
    dev.write(0xf8, 1, 1);
    dev.write(0xf3, 1, 1);
    assert.deepEqual(statuses, []);
    assert.equal(dev.read(0xf4, 1), 0xff);
    assert.equal(dev.read(0xf4, 2), 0xffff);
  });
});
