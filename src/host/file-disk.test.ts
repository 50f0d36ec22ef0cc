import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AtaCommand, IdeChannel } from '../hw/devices/ide.ts';
import { DiskError, FileDisk, MAX_DISK_SECTORS } from './file-disk.ts';

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowvisor-disk-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Creates an image of `sectors` sectors, byte i of sector s being (s * 16 + i) & 0xff. */
function image(name: string, sectors: number): string {
  const file = path.join(dir, name);
  const bytes = Uint8Array.from({ length: sectors * 512 }, (_, i) => ((i >>> 9) * 16 + (i & 511)) & 0xff);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('FileDisk', () => {
  it('reads and writes sectors at their offsets without changing the file size', () => {
    const file = image('rw.img', 4);
    const before = fs.readFileSync(file);
    const disk = FileDisk.open(file);
    assert.equal(disk.sectors, 4);
    const got = new Uint8Array(1024);
    disk.read(2, 2, got);
    assert.deepEqual(got, new Uint8Array(before.subarray(1024, 2048)));
    disk.write(1, new Uint8Array(512).fill(0xee));
    disk.close();
    disk.close(); // harmless twice
    const afterWrite = fs.readFileSync(file);
    assert.equal(afterWrite.length, 2048);
    assert.deepEqual(afterWrite.subarray(0, 512), before.subarray(0, 512));
    assert.deepEqual(afterWrite.subarray(512, 1024), Buffer.alloc(512, 0xee));
    assert.deepEqual(afterWrite.subarray(1024), before.subarray(1024));
  });

  it('takes a guest write through the IDE channel to the file at once', () => {
    const file = image('ide.img', 8);
    const disk = FileDisk.open(file);
    const ide = new IdeChannel({ set: () => {} }, disk, null);
    ide.write(0x1f6, 1, 0xe0);
    ide.write(0x1f2, 1, 1);
    ide.write(0x1f3, 1, 5);
    ide.write(0x1f4, 1, 0);
    ide.write(0x1f5, 1, 0);
    ide.write(0x1f7, 1, AtaCommand.WRITE_SECTORS);
    for (let i = 0; i < 128; i++) ide.write(0x1f0, 4, 0x44332211);
    // Read through a separate descriptor, before the disk is closed.
    const onFile = fs.readFileSync(file);
    assert.deepEqual([...onFile.subarray(5 * 512, 5 * 512 + 4)], [0x11, 0x22, 0x33, 0x44]);
    assert.equal(onFile.length, 8 * 512);
    disk.close();
  });

  it('rejects a missing file', () => {
    const file = path.join(dir, 'missing.img');
    assert.throws(() => FileDisk.open(file), new DiskError(`${file}: no such file`));
  });

  it('rejects something other than a regular file', () => {
    assert.throws(() => FileDisk.open(dir), (e: unknown) => e instanceof DiskError && /not a regular file/.test(e.message));
  });

  it('rejects a read-only file, even for root', () => {
    const file = image('ro.img', 1);
    fs.chmodSync(file, 0o444);
    assert.throws(() => FileDisk.open(file), new DiskError(`${file} is read-only; shadowvisor disks are read-write (copy it or chmod u+w)`));
  });

  it('rejects sizes that are not a whole, non-zero number of sectors', () => {
    const odd = path.join(dir, 'odd.img');
    fs.writeFileSync(odd, new Uint8Array(1000));
    assert.throws(() => FileDisk.open(odd), new DiskError(`${odd} is 1000 bytes, not a whole number of 512-byte sectors`));
    const empty = path.join(dir, 'empty.img');
    fs.writeFileSync(empty, new Uint8Array(0));
    assert.throws(() => FileDisk.open(empty), (e: unknown) => e instanceof DiskError && /is empty/.test(e.message));
  });

  it('rejects images beyond LBA28 (2^28 sectors)', () => {
    const big = path.join(dir, 'big.img');
    fs.writeFileSync(big, new Uint8Array(0));
    fs.truncateSync(big, (MAX_DISK_SECTORS + 1) * 512); // sparse
    assert.throws(() => FileDisk.open(big), (e: unknown) => e instanceof DiskError && /more than the 268435456 sectors/.test(e.message));
  });

  it('treats accesses beyond the disk as a bug of ours', () => {
    const disk = FileDisk.open(image('bounds.img', 2));
    assert.throws(() => disk.read(1, 2, new Uint8Array(1024)), RangeError);
    assert.throws(() => disk.write(2, new Uint8Array(512)), RangeError);
    disk.close();
  });
});
