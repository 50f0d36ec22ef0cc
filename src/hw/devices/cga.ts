/**
 * The colour text-mode display as a VGA in mode 3 presents it: 32 KiB of character/attribute
 * pairs at physical 0xB8000-0xBFFFF, the CRT controller (IBM VGA Technical Reference, "CRT
 * Controller Registers": index 0x3D4, data 0x3D5; start address 0x0C/0x0D, cursor 0x0A/0x0B and
 * 0x0E/0x0F), input status register 1 at 0x3DA with display-enable and vertical-retrace bits
 * that follow simulated time at mode 3's 70 Hz, and the miscellaneous output register (write
 * 0x3C2, read 0x3CC) whose bit 0 moves the CRTC between 0x3Dx (colour) and 0x3Bx (mono).
 * Not modelled: graphics modes, fonts, attributes (kept in memory, ignored by screen()), the
 * sequencer/graphics/attribute controllers, CRTC-programmed timing (the 70 Hz frame is fixed).
 */
import type { MmioHandler } from '../memory/physical-memory.ts';
import type { DeviceClock, PortHandler } from './device.ts';

/** Physical address and size of the text buffer window. */
export const CGA_BASE = 0xb8000;
export const CGA_SIZE = 0x8000;
export const COLUMNS = 80;
export const ROWS = 25;

/** CRT controller register numbers used by text-mode drivers. */
export const Crtc = {
  CURSOR_START: 0x0a,
  CURSOR_END: 0x0b,
  START_HIGH: 0x0c,
  START_LOW: 0x0d,
  CURSOR_HIGH: 0x0e,
  CURSOR_LOW: 0x0f,
  VRETRACE_END: 0x11,
} as const;

/** Input status register 1 bits: display disabled (blanking), vertical retrace. */
export const Status1 = { DISPLAY_DISABLED: 0x01, VRETRACE: 0x08 } as const;

/** Mode 3 timing, 25.175 MHz dot clock: 800 dots per line (640 shown), 449 lines (400 shown). */
const LINE_NS = 31_778;
const ACTIVE_LINE_NS = 25_422;
const FRAME_LINES = 449;
const ACTIVE_LINES = 400;
/** Vertical sync from line 412 for 2 lines (mode 3 CRTC registers 0x10/0x11 and overflow). */
const VSYNC_FIRST = 412;
const VSYNC_LINES = 2;
export const FRAME_NS = LINE_NS * FRAME_LINES;

/** The CRTC registers a VGA BIOS programs for mode 3 (0x00-0x18). */
const MODE3_CRTC = [
  0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28,
  0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
const CRTC_COUNT = MODE3_CRTC.length;
/** Character cells addressable in the window (start address and cursor wrap at this). */
const CELL_MASK = CGA_SIZE / 2 - 1;

/**
 * Code page 437 as Unicode, one character per code. 0x00 and 0xFF (no-break space) are shown as
 * spaces so that text compares simply; 0x01-0x1F and 0x7F are the glyphs the VGA font draws.
 */
const CP437 = Array.from(
  ' ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼' +
    ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~⌂' +
    'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»' +
    '░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
    'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ',
);

export interface CgaState {
  version: 1;
  /** The 32 KiB text buffer: character, attribute, character, attribute, ... */
  vram: Uint8Array;
  crtcIndex: number;
  crtc: number[];
  /** Miscellaneous output register; bit 0 = 1 puts the CRTC at 0x3D4/0x3D5 and status at 0x3DA. */
  misc: number;
}

/**
 * A teletype view of the screen: called with a row's text (trailing blanks trimmed) once the row
 * has changed and the cursor has left it. Scrolling (by copying rows or by the start address) is
 * recognised, so scrolled text is not reported twice. See CgaText.syncMirror.
 */
export type CgaMirror = (row: number, text: string) => void;

export class CgaText implements MmioHandler {
  readonly state: CgaState = {
    version: 1,
    vram: new Uint8Array(CGA_SIZE),
    crtcIndex: 0,
    crtc: MODE3_CRTC.slice(),
    misc: 0x67,
  };
  private readonly clock: DeviceClock;
  private readonly mirror: CgaMirror | null;
  // Teletype bookkeeping (not architectural state).
  private committed: string[] = [];
  private snapshot: string[] = [];
  private lastRow = 0;
  private lastCol = 0;
  private lastStart = 0;
  private checkPending = false;
  private dirtyElsewhere = false;

  /** clock: simulated time, for the retrace bits of input status register 1; mirror: optional teletype view. */
  constructor(clock: DeviceClock, mirror?: CgaMirror) {
    this.clock = clock;
    this.mirror = mirror ?? null;
    // Blank screen: spaces in light grey on black, as a BIOS clears it.
    for (let i = 0; i < CGA_SIZE; i += 2) {
      this.state.vram[i] = 0x20;
      this.state.vram[i + 1] = 0x07;
    }
    if (this.mirror !== null) {
      this.snapshot = this.screen();
      this.committed = this.snapshot.map((line) => line.trimEnd());
    }
  }

  /**
   * The CRT controller, status and miscellaneous output registers. The board claims the ports it
   * wants for it: 0x3C2, 0x3CC, 0x3D4, 0x3D5, 0x3DA (and 0x3B4, 0x3B5, 0x3BA, which answer
   * instead when misc bit 0 selects the mono addresses).
   */
  readonly ports: PortHandler = {
    read: (port, size) => this.readPort(port, size),
    write: (port, size, value) => this.writePort(port, size, value),
  };

  // ---- the text buffer window (mapped at CGA_BASE)

  /** Little-endian reads of 1, 2 or 4 bytes at any offset of the 32 KiB window. */
  read(offset: number, size: 1 | 2 | 4): number {
    const v = this.state.vram;
    if (size === 1) return v[offset & (CGA_SIZE - 1)]!;
    let value = 0;
    for (let i = 0; i < size; i++) value |= v[(offset + i) & (CGA_SIZE - 1)]! << (8 * i);
    return value;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (this.mirror !== null) this.beforeVramWrite(offset);
    const v = this.state.vram;
    for (let i = 0; i < size; i++) v[(offset + i) & (CGA_SIZE - 1)] = (value >>> (8 * i)) & 0xff;
  }

  // ---- front-end view

  /** The 25 rows of 80 characters shown, from the CRTC start address, as Unicode (CP437). */
  screen(): string[] {
    const v = this.state.vram;
    const start = this.startAddress();
    const rows: string[] = [];
    for (let r = 0; r < ROWS; r++) {
      let line = '';
      for (let c = 0; c < COLUMNS; c++) line += CP437[v[((start + r * COLUMNS + c) & CELL_MASK) * 2]!]!;
      rows.push(line);
    }
    return rows;
  }

  /** The cursor's position on the screen (it may lie outside rows 0-24 if software put it there). */
  cursor(): { row: number; col: number } {
    const rel = (this.cursorAddress() - this.startAddress()) & CELL_MASK;
    return { row: Math.floor(rel / COLUMNS), col: rel % COLUMNS };
  }

  /** False when cursor start register bit 5 turns the cursor off. */
  get cursorVisible(): boolean {
    return (this.state.crtc[Crtc.CURSOR_START]! & 0x20) === 0;
  }

  /**
   * Runs the teletype check now instead of at the next text-buffer write. With `final`, the row
   * under the cursor is reported too (when the run ends). Does nothing without a mirror.
   */
  syncMirror(final = false): void {
    if (this.mirror === null) return;
    this.checkMirror(final);
  }

  // ---- registers

  private readPort(port: number, size: 1 | 2 | 4): number {
    if (size === 1) return this.readRegister(port);
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readRegister(port + i) << (8 * i);
    return v;
  }

  private writePort(port: number, size: 1 | 2 | 4, value: number): void {
    // A word write to the index port also writes the data port: `out dx, ax` with AL = index.
    for (let i = 0; i < size; i++) this.writeRegister(port + i, (value >>> (8 * i)) & 0xff);
  }

  /** The CRTC's I/O base: 0x3D0 with misc bit 0 set (colour), else 0x3B0 (mono). */
  private get crtcBase(): number {
    return (this.state.misc & 1) !== 0 ? 0x3d0 : 0x3b0;
  }

  private readRegister(port: number): number {
    const s = this.state;
    if (port === 0x3cc) return s.misc;
    if (port === 0x3c2) return 0x00; // input status register 0: no switch sense, no CRT interrupt
    const base = this.crtcBase;
    if (port === base + 4) return s.crtcIndex;
    if (port === base + 5) return s.crtcIndex < CRTC_COUNT ? s.crtc[s.crtcIndex]! : 0xff;
    if (port === base + 0xa) return this.status1();
    return 0xff;
  }

  private writeRegister(port: number, v: number): void {
    const s = this.state;
    if (port === 0x3c2) {
      s.misc = v;
      return;
    }
    const base = this.crtcBase;
    if (port === base + 4) {
      s.crtcIndex = v;
    } else if (port === base + 5) {
      this.writeCrtc(s.crtcIndex, v);
    }
    // base + 0xA (feature control) is ignored.
  }

  /**
   * A CRTC register write. VGA reference, register 0x11 bit 7 (protect): registers 0-7 are
   * read-only except the line-compare bit 4 of register 7.
   */
  private writeCrtc(index: number, v: number): void {
    const c = this.state.crtc;
    if (index >= CRTC_COUNT) return;
    if ((c[Crtc.VRETRACE_END]! & 0x80) !== 0 && index <= 7) {
      if (index === 7) c[7] = (c[7]! & ~0x10) | (v & 0x10);
      return;
    }
    c[index] = v;
    if (index >= Crtc.START_HIGH && index <= Crtc.CURSOR_LOW) this.checkPending = true;
  }

  /** Input status register 1 from simulated time: blanking outside the 640x400 area, retrace on lines 412-413. */
  private status1(): number {
    const t = this.clock.now() % FRAME_NS;
    const line = Math.floor(t / LINE_NS);
    const inLine = t - line * LINE_NS;
    let v = 0;
    if (line >= ACTIVE_LINES || inLine >= ACTIVE_LINE_NS) v |= Status1.DISPLAY_DISABLED;
    if (line >= VSYNC_FIRST && line < VSYNC_FIRST + VSYNC_LINES) v |= Status1.VRETRACE;
    return v;
  }

  private startAddress(): number {
    const c = this.state.crtc;
    return ((c[Crtc.START_HIGH]! << 8) | c[Crtc.START_LOW]!) & CELL_MASK;
  }

  private cursorAddress(): number {
    const c = this.state.crtc;
    return ((c[Crtc.CURSOR_HIGH]! << 8) | c[Crtc.CURSOR_LOW]!) & CELL_MASK;
  }

  // ---- teletype mirror

  /**
   * The check runs lazily at the first text write after the cursor or start address moved, when
   * both bytes of the cursor location have been written whatever order the driver uses.
   */
  private beforeVramWrite(offset: number): void {
    if (this.checkPending) this.checkMirror(false);
    const cell = (offset >> 1) & CELL_MASK;
    const row = Math.floor(((cell - this.lastStart) & CELL_MASK) / COLUMNS);
    if (row !== this.lastRow) this.dirtyElsewhere = true;
  }

  private checkMirror(final: boolean): void {
    this.checkPending = false;
    const { row, col } = this.cursor();
    const start = this.startAddress();
    // Typing along the same row changes nothing a teletype would print yet.
    if (!final && !this.dirtyElsewhere && row === this.lastRow && col >= this.lastCol && start === this.lastStart) {
      this.lastCol = col;
      return;
    }
    const screen = this.screen();
    const shift = this.scrollAmount(this.snapshot, screen, this.lastRow);
    if (shift > 0) this.committed = this.committed.slice(shift).concat(new Array<string>(shift).fill(''));
    for (let r = 0; r < ROWS; r++) {
      if (r === row && !final) continue;
      const text = screen[r]!.trimEnd();
      if (text === this.committed[r]) continue;
      this.committed[r] = text;
      if (text !== '') this.mirror!(r, text);
    }
    this.snapshot = screen;
    this.lastRow = row;
    this.lastCol = col;
    this.lastStart = start;
    this.dirtyElsewhere = false;
  }

  /**
   * By how many rows the screen scrolled up between two snapshots: the smallest n for which
   * every row r of `now` equals row r + n of `before` (ignoring the row the cursor was typing
   * on, which may have changed too), with at least one non-blank row to go by; 0 if none.
   */
  private scrollAmount(before: string[], now: string[], typingRow: number): number {
    if (this.sameExcept(before, now, 0, typingRow)) return 0;
    for (let n = 1; n < ROWS; n++) if (this.sameExcept(before, now, n, typingRow)) return n;
    return 0;
  }

  private sameExcept(before: string[], now: string[], n: number, typingRow: number): boolean {
    let evidence = false;
    for (let r = 0; r + n < ROWS; r++) {
      if (r + n === typingRow) continue;
      if (now[r] !== before[r + n]) return false;
      if (now[r]!.trim() !== '') evidence = true;
    }
    return evidence || n === 0;
  }
}
