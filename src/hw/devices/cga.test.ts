import assert from 'node:assert/strict';
import { ManualClock } from '../platform/clock.ts';
import { describe, it } from 'node:test';
import { CgaText, FRAME_NS } from './cga.ts';


/** A small text-mode console driver, as hobby kernels write one: memory writes plus CRTC cursor updates. */
class Console {
  row = 0;
  col = 0;
  /** First memory row shown, when scrolling by the start address. */
  top = 0;
  private readonly cga: CgaText;
  private readonly highFirst: boolean;
  private readonly hardwareScroll: boolean;
  constructor(cga: CgaText, highFirst = true, hardwareScroll = false) {
    this.cga = cga;
    this.highFirst = highFirst;
    this.hardwareScroll = hardwareScroll;
  }
  print(text: string): void {
    for (const ch of text) {
      if (ch === '\n') {
        this.col = 0;
        this.row++;
      } else {
        this.cga.write(((this.top + this.row) * 80 + this.col) * 2, 2, 0x0700 | ch.charCodeAt(0));
        this.col++;
      }
      if (this.row === 25 && this.hardwareScroll) {
        // Scroll by moving the CRTC start address down a row (as Linux's vgacon does).
        this.top++;
        for (let c = 0; c < 80; c++) this.cga.write(((this.top + 24) * 80 + c) * 2, 2, 0x0720);
        const start = this.top * 80;
        this.cga.ports.write(0x3d4, 2, 0x0c | (start & 0xff00));
        this.cga.ports.write(0x3d4, 2, 0x0d | ((start & 0xff) << 8));
        this.row = 24;
      } else if (this.row === 25) {
        // Scroll by copying rows up (32-bit moves), then blank the last row.
        for (let off = 160; off < 4000; off += 4) this.cga.write(off - 160, 4, this.cga.read(off, 4));
        for (let off = 3840; off < 4000; off += 2) this.cga.write(off, 2, 0x0720);
        this.row = 24;
      }
      this.setCursor((this.top + this.row) * 80 + this.col);
    }
  }
  private setCursor(pos: number): void {
    const p = this.cga.ports;
    const reg = (index: number, v: number) => {
      p.write(0x3d4, 1, index);
      p.write(0x3d5, 1, v);
    };
    if (this.highFirst) {
      reg(0x0e, pos >> 8);
      reg(0x0f, pos & 0xff);
    } else {
      reg(0x0f, pos & 0xff);
      reg(0x0e, pos >> 8);
    }
  }
}

describe('CGA/VGA text mode', () => {
  it('shows 25 rows of 80 characters from the buffer, attributes ignored', () => {
    const cga = new CgaText(new ManualClock());
    const text = 'Hello';
    for (let i = 0; i < text.length; i++) cga.write(i * 2, 2, 0x1f00 | text.charCodeAt(i));
    const screen = cga.screen();
    assert.equal(screen.length, 25);
    assert.ok(screen.every((row) => row.length === 80));
    assert.equal(screen[0], `Hello${' '.repeat(75)}`);
    assert.equal(cga.read(0, 2), 0x1f48);
  });

  it('maps code page 437 to Unicode', () => {
    const cga = new CgaText(new ManualClock());
    const codes = [0xc9, 0xcd, 0xbb, 0x01, 0xdb, 0xb0, 0x82, 0xe1, 0xf8, 0x00, 0x7f];
    for (const [i, c] of codes.entries()) cga.write(160 + i * 2, 1, c);
    assert.equal(cga.screen()[1]!.slice(0, codes.length), '╔═╗☺█░éß° ⌂');
  });

  it('reads and writes 1, 2 and 4 bytes at unaligned offsets, little-endian', () => {
    const cga = new CgaText(new ManualClock());
    cga.write(0x101, 4, 0x44332211);
    assert.equal(cga.read(0x101, 1), 0x11);
    assert.equal(cga.read(0x102, 2), 0x3322);
    assert.equal(cga.read(0x101, 4), 0x44332211);
    cga.write(0x7fff, 2, 0xbbaa); // the last byte, then wrapping within the window
    assert.equal(cga.read(0x7fff, 1), 0xaa);
  });

  it('takes the cursor and start address from the CRT controller, also by word writes', () => {
    const cga = new CgaText(new ManualClock());
    const p = cga.ports;
    p.write(0x3d4, 2, 0x0e | (0x01 << 8)); // out dx, ax: index 0x0E, data 0x01
    p.write(0x3d4, 2, 0x0f | (0x42 << 8)); // cursor = 0x142 = 322 = row 4, col 2
    assert.deepEqual(cga.cursor(), { row: 4, col: 2 });
    p.write(0x3d4, 1, 0x0e);
    assert.equal(p.read(0x3d4, 1), 0x0e, 'the VGA index register reads back');
    assert.equal(p.read(0x3d5, 1), 0x01);
    cga.write(80 * 2, 1, 0x41);
    p.write(0x3d4, 2, 0x0d | (80 << 8)); // start address = 80: the screen begins at row 1
    assert.equal(cga.screen()[0]![0], 'A');
    assert.deepEqual(cga.cursor(), { row: 3, col: 2 });
    assert.equal(cga.cursorVisible, true);
    p.write(0x3d4, 2, 0x0a | (0x20 << 8));
    assert.equal(cga.cursorVisible, false);
  });

  it('toggles vertical retrace with simulated time so wait-for-retrace loops end', () => {
    const clock = new ManualClock();
    const cga = new CgaText(clock);
    const status = () => cga.ports.read(0x3da, 1);
    let reads = 0;
    // while (inb(0x3DA) & 8); while (!(inb(0x3DA) & 8));  with 100 ns per read
    while ((status() & 8) !== 0 && reads++ < 1e6) clock.t += 100;
    while ((status() & 8) === 0 && reads++ < 1e6) clock.t += 100;
    assert.ok(reads < 1e6);
    const start = clock.t;
    while ((status() & 8) !== 0) clock.t += 100;
    while ((status() & 8) === 0) clock.t += 100;
    assert.ok(Math.abs(clock.t - start - FRAME_NS) <= 100, 'one retrace per frame');
    assert.ok(Math.abs(1e9 / FRAME_NS - 70.08) < 0.01, 'mode 3 refreshes at 70 Hz');
    assert.equal(status() & 1, 1, 'blanking during retrace');
  });

  it('moves the CRTC with misc output bit 0 (0x3CC reads it back)', () => {
    const cga = new CgaText(new ManualClock());
    const p = cga.ports;
    assert.equal(p.read(0x3cc, 1), 0x67);
    p.write(0x3c2, 1, 0x66);
    assert.equal(p.read(0x3d5, 1), 0xff, 'colour addresses no longer decode');
    p.write(0x3b4, 1, 0x0f);
    p.write(0x3b5, 1, 0x05);
    assert.deepEqual(cga.cursor(), { row: 0, col: 5 });
  });

  it('protects CRTC registers 0-7 when register 0x11 bit 7 is set', () => {
    const cga = new CgaText(new ManualClock());
    const p = cga.ports;
    p.write(0x3d4, 2, 0x11 | (0x8e << 8));
    p.write(0x3d4, 2, 0x01 | (0x27 << 8));
    p.write(0x3d4, 1, 0x01);
    assert.equal(p.read(0x3d5, 1), 0x4f);
  });

  it('mirrors completed lines once, across scrolling, whichever cursor byte comes first', () => {
    for (const [highFirst, hardwareScroll] of [
      [true, false],
      [false, false],
      [true, true],
    ]) {
      const lines: string[] = [];
      const cga = new CgaText(new ManualClock(), (_row, text) => lines.push(text));
      const con = new Console(cga, highFirst, hardwareScroll);
      const expected: string[] = [];
      for (let i = 0; i < 40; i++) {
        const line = `line ${i}: ${'x'.repeat(i % 7)}`;
        expected.push(line.trimEnd());
        con.print(`${line}\n`);
      }
      con.print('prompt> ');
      cga.syncMirror();
      assert.deepEqual(lines, expected);
      cga.syncMirror(true);
      assert.deepEqual(lines, [...expected, 'prompt>']);
    }
  });
});
