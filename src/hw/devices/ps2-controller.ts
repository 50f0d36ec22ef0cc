/**
 * The 8042 keyboard controller at 0x60 (data) / 0x64 (status and commands) with an MF2
 * keyboard behind it, after the IBM PS/2 Hardware Interface Technical Reference ("Keyboard/
 * Auxiliary Device Controller": status register, command byte, controller commands; "Keyboard"
 * commands and scan code sets) and QEMU hw/input/pckbd.c + ps2.c where PC practice differs.
 * The keyboard types host ASCII as a US layout in scan code set 1 (set 2 when the guest turns
 * translation off). The auxiliary (mouse) port exists but nothing is plugged in and IRQ 12 is not
 * wired. Not modelled: keyboard typematic repeat, scan code set 3 (treated as set 2), controller
 * timing (IBF is never seen set), the password and test-mode commands.
 */
import { BytePortDevice, type ByteSource, type IrqLine } from './device.ts';

/** Status register (port 0x64 read) bits. */
export const Ps2Status = { OBF: 0x01, IBF: 0x02, SYS: 0x04, A2: 0x08, UNLOCKED: 0x10, AUXB: 0x20, TIMEOUT: 0x40, PARITY: 0x80 } as const;

/** Controller command byte (internal RAM byte 0) bits. */
export const CommandByte = { INT: 0x01, INT2: 0x02, SYS: 0x04, OVERRIDE: 0x08, DISABLE_KBD: 0x10, DISABLE_AUX: 0x20, XLAT: 0x40 } as const;

/** Keyboard replies. */
export const KbdReply = { ACK: 0xfa, RESEND: 0xfe, BAT_OK: 0xaa, ECHO: 0xee } as const;

/** Output port (commands 0xD0/0xD1) bits: bit 0 = 0 holds the CPU in reset, bit 1 gates A20. */
export const OutputPort = { RESET: 0x01, A20: 0x02 } as const;

/** An entry of the controller's output queue: a byte, bit 8 set when it comes from the aux port. */
const AUX_FLAG = 0x100;

export interface Ps2State {
  version: 1;
  /** Controller RAM; byte 0 is the command byte. */
  ram: number[];
  /**
   * Status bit 2, the system flag: set by a passed self-test (command 0xAA). As in QEMU
   * (hw/input/pckbd.c), writing the command byte's bit 2 does not change it.
   */
  systemFlag: boolean;
  outputPort: number;
  /** The output buffer and whether it is full (OBF) / holds auxiliary-device data (AUXB). */
  output: number;
  obf: boolean;
  aux: boolean;
  /** Status bit 3: the last write went to port 0x64. */
  lastWriteCommand: boolean;
  /** A controller command waiting for its data byte on port 0x60, or 0. */
  pendingCommand: number;
  /** Bytes produced by the controller itself (replies), ahead of keyboard data (AUX_FLAG marks aux). */
  controllerQueue: number[];
  /** Keyboard replies to commands, ahead of its scan codes. */
  replyQueue: number[];
  /** Scan codes of the keystroke being typed. */
  scanQueue: number[];
  /** A keyboard command waiting for its argument byte (0xED, 0xF0, 0xF3), or 0. */
  keyboardCommand: number;
  scanning: boolean;
  scancodeSet: number;
  leds: number;
  typematic: number;
  /** The last byte the keyboard sent (for 0xFE resend). */
  lastKeyboardByte: number;
}

/** Translated replies to "get scan code set" and the ID's second byte (8042 translation of set 2). */
const TRANSLATED_SET = [0, 0x43, 0x41, 0x3f];

const SHIFT = 1;
const CTRL = 2;
const LEFT_SHIFT = { set1: 0x2a, set2: 0x12 };
const LEFT_CTRL = { set1: 0x1d, set2: 0x14 };

/**
 * ASCII to key: set-1 make code | set-2 make code << 8 | modifiers << 16 (0 = no key). US layout,
 * from the scan code tables of the IBM reference ("Scan Code Tables (Set 1)/(Set 2)").
 */
const KEYMAP = new Int32Array(128);
{
  // [unshifted, shifted, set-1 make, set-2 make]
  const keys: [string, string, number, number][] = [
    ['1', '!', 0x02, 0x16],
    ['2', '@', 0x03, 0x1e],
    ['3', '#', 0x04, 0x26],
    ['4', '$', 0x05, 0x25],
    ['5', '%', 0x06, 0x2e],
    ['6', '^', 0x07, 0x36],
    ['7', '&', 0x08, 0x3d],
    ['8', '*', 0x09, 0x3e],
    ['9', '(', 0x0a, 0x46],
    ['0', ')', 0x0b, 0x45],
    ['-', '_', 0x0c, 0x4e],
    ['=', '+', 0x0d, 0x55],
    ['q', 'Q', 0x10, 0x15],
    ['w', 'W', 0x11, 0x1d],
    ['e', 'E', 0x12, 0x24],
    ['r', 'R', 0x13, 0x2d],
    ['t', 'T', 0x14, 0x2c],
    ['y', 'Y', 0x15, 0x35],
    ['u', 'U', 0x16, 0x3c],
    ['i', 'I', 0x17, 0x43],
    ['o', 'O', 0x18, 0x44],
    ['p', 'P', 0x19, 0x4d],
    ['[', '{', 0x1a, 0x54],
    [']', '}', 0x1b, 0x5b],
    ['a', 'A', 0x1e, 0x1c],
    ['s', 'S', 0x1f, 0x1b],
    ['d', 'D', 0x20, 0x23],
    ['f', 'F', 0x21, 0x2b],
    ['g', 'G', 0x22, 0x34],
    ['h', 'H', 0x23, 0x33],
    ['j', 'J', 0x24, 0x3b],
    ['k', 'K', 0x25, 0x42],
    ['l', 'L', 0x26, 0x4b],
    [';', ':', 0x27, 0x4c],
    ["'", '"', 0x28, 0x52],
    ['`', '~', 0x29, 0x0e],
    ['\\', '|', 0x2b, 0x5d],
    ['z', 'Z', 0x2c, 0x1a],
    ['x', 'X', 0x2d, 0x22],
    ['c', 'C', 0x2e, 0x21],
    ['v', 'V', 0x2f, 0x2a],
    ['b', 'B', 0x30, 0x32],
    ['n', 'N', 0x31, 0x31],
    ['m', 'M', 0x32, 0x3a],
    [',', '<', 0x33, 0x41],
    ['.', '>', 0x34, 0x49],
    ['/', '?', 0x35, 0x4a],
  ];
  for (const [plain, shifted, set1, set2] of keys) {
    KEYMAP[plain.charCodeAt(0)] = set1 | (set2 << 8);
    KEYMAP[shifted.charCodeAt(0)] = set1 | (set2 << 8) | (SHIFT << 16);
  }
  const space = 0x39 | (0x29 << 8);
  const enter = 0x1c | (0x5a << 8);
  const backspace = 0x0e | (0x66 << 8);
  KEYMAP[0x20] = space;
  KEYMAP[0x0d] = enter; // CR
  KEYMAP[0x0a] = enter; // LF: a pipe's newline is the Enter key too
  KEYMAP[0x08] = backspace;
  KEYMAP[0x7f] = backspace; // terminals send DEL for the Backspace key
  KEYMAP[0x09] = 0x0f | (0x0d << 8); // Tab
  KEYMAP[0x1b] = 0x01 | (0x76 << 8); // Escape
  // Control characters: Ctrl plus the letter key (Ctrl-A = 0x01 ... Ctrl-Z = 0x1A).
  for (let c = 0x01; c <= 0x1a; c++) {
    if (KEYMAP[c] !== 0) continue;
    KEYMAP[c] = (KEYMAP[0x60 + c]! & 0xffff) | (CTRL << 16);
  }
}

function newState(): Ps2State {
  const ram = new Array<number>(32).fill(0);
  // What SeaBIOS leaves after its self-test: translation on, auxiliary port disabled, IRQ 1 on
  // (command byte 0x61), the system flag set in the status register.
  ram[0] = CommandByte.XLAT | CommandByte.DISABLE_AUX | CommandByte.INT;
  return {
    version: 1,
    ram,
    systemFlag: true,
    outputPort: 0xcf, // reset deasserted, A20 on, and the pins QEMU reports high
    output: 0,
    obf: false,
    aux: false,
    lastWriteCommand: true,
    pendingCommand: 0,
    controllerQueue: [],
    replyQueue: [],
    scanQueue: [],
    keyboardCommand: 0,
    scanning: true,
    scancodeSet: 2,
    leds: 0,
    typematic: 0x2b,
    lastKeyboardByte: KbdReply.ACK,
  };
}

export class Ps2Controller extends BytePortDevice {
  readonly state: Ps2State = newState();
  private readonly irq1: IrqLine;
  private readonly input: ByteSource;
  private readonly onReset: () => void;
  private irqLevel = false;

  /**
   * irq1: the keyboard interrupt line; input: host keystrokes as ASCII bytes; onReset: called when
   * the guest pulses the CPU reset line (command 0xFE, or output port bit 0 written as 0).
   */
  constructor(irq1: IrqLine, input: ByteSource, onReset: () => void) {
    super();
    this.irq1 = irq1;
    this.input = input;
    this.onReset = onReset;
  }

  /**
   * Keystrokes are taken from the host only when the guest looks (reads port 0x60 or 0x64), or
   * here: while the command byte enables IRQ 1, the board calls poll() periodically so that an
   * interrupt-driven guest sees typing without polling. One keystroke is taken at a time, when
   * the previous one has been read.
   */
  poll(): void {
    if ((this.state.ram[0]! & CommandByte.INT) === 0) return;
    this.pull();
    this.refill();
    this.updateIrq();
  }

  /** Whether the output port gates A20 on (the board may mirror it onto its A20 mask). */
  get a20(): boolean {
    return (this.state.outputPort & OutputPort.A20) !== 0;
  }

  protected readByte(port: number): number {
    const s = this.state;
    if (port === 0x64) {
      this.pull();
      this.refill();
      this.updateIrq();
      return (
        (s.obf ? Ps2Status.OBF : 0) |
        (s.systemFlag ? Ps2Status.SYS : 0) |
        (s.lastWriteCommand ? Ps2Status.A2 : 0) |
        Ps2Status.UNLOCKED |
        (s.obf && s.aux ? Ps2Status.AUXB : 0)
      );
    }
    if (port !== 0x60) return 0xff;
    if (!s.obf) {
      this.pull();
      this.refill();
    }
    // With nothing new, the data port returns the last byte again, as the 8042 does.
    const v = s.output;
    if (s.obf) {
      s.obf = false;
      s.aux = false;
      this.updateIrq(); // the line drops, so the next byte makes a fresh edge
      this.refill();
      this.updateIrq();
    }
    return v;
  }

  protected writeByte(port: number, v: number): void {
    const s = this.state;
    if (port === 0x64) {
      s.lastWriteCommand = true;
      this.controllerCommand(v);
    } else if (port === 0x60) {
      s.lastWriteCommand = false;
      this.dataWrite(v);
    } else {
      return;
    }
    this.refill();
    this.updateIrq();
  }

  /** Commands written to port 0x64 (IBM reference "Commands (I/O Address Hex 64)"). */
  private controllerCommand(cmd: number): void {
    const s = this.state;
    if (cmd >= 0x20 && cmd <= 0x3f) {
      this.reply(s.ram[cmd & 0x1f]!); // read controller RAM; 0x20 is the command byte
      return;
    }
    if (cmd >= 0x60 && cmd <= 0x7f) {
      s.pendingCommand = cmd; // write controller RAM with the next data byte
      return;
    }
    if (cmd >= 0xf0) {
      // Pulse output port bits 3-0 low where the command's bit is 0; bit 0 is the CPU reset.
      if ((cmd & 1) === 0) this.onReset();
      return;
    }
    switch (cmd) {
      case 0xa7: // disable auxiliary device
        s.ram[0] = s.ram[0]! | CommandByte.DISABLE_AUX;
        break;
      case 0xa8: // enable auxiliary device
        s.ram[0] = s.ram[0]! & ~CommandByte.DISABLE_AUX;
        break;
      case 0xa9: // auxiliary interface test: the lines are fine, just nothing on them (as QEMU)
        this.reply(0x00);
        break;
      case 0xaa: // self-test: 0x55 = passed; sets the system flag
        s.systemFlag = true;
        this.reply(0x55);
        break;
      case 0xab: // keyboard interface test: 0x00 = no error
        this.reply(0x00);
        break;
      case 0xad: // disable keyboard interface
        s.ram[0] = s.ram[0]! | CommandByte.DISABLE_KBD;
        break;
      case 0xae: // enable keyboard interface
        s.ram[0] = s.ram[0]! & ~CommandByte.DISABLE_KBD;
        break;
      case 0xc0: // read input port: keyboard not inhibited
        this.reply(0x80);
        break;
      case 0xd0: // read output port, with its buffer-full pins
        this.reply((s.outputPort & 0xcf) | (s.obf && !s.aux ? 0x10 : 0) | (s.obf && s.aux ? 0x20 : 0));
        break;
      case 0xd1: // write output port
      case 0xd2: // write keyboard output buffer
      case 0xd3: // write auxiliary output buffer
      case 0xd4: // write to auxiliary device
        s.pendingCommand = cmd;
        break;
      case 0xdd: // A20 off (HP Vectra convention, honoured by QEMU)
        s.outputPort &= ~OutputPort.A20;
        break;
      case 0xdf: // A20 on
        s.outputPort |= OutputPort.A20;
        break;
      default: // unknown: ignored
        break;
    }
  }

  private dataWrite(v: number): void {
    const s = this.state;
    const cmd = s.pendingCommand;
    s.pendingCommand = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
      s.ram[cmd & 0x1f] = v;
      return;
    }
    switch (cmd) {
      case 0xd1:
        s.outputPort = v;
        if ((v & OutputPort.RESET) === 0) this.onReset();
        return;
      case 0xd2:
        s.controllerQueue.push(v);
        return;
      case 0xd3: // loops back as if the auxiliary device had sent it
        s.controllerQueue.push(v | AUX_FLAG);
        return;
      case 0xd4: // nothing is plugged into the auxiliary port
        return;
    }
    // Anything else goes to the keyboard; sending to it re-enables its interface (as QEMU).
    s.ram[0] = s.ram[0]! & ~CommandByte.DISABLE_KBD;
    this.keyboardWrite(v);
  }

  /** Keyboard commands (IBM reference "Keyboard: Commands from the System"). */
  private keyboardWrite(v: number): void {
    const s = this.state;
    const translated = (s.ram[0]! & CommandByte.XLAT) !== 0;
    const pending = s.keyboardCommand;
    if (pending !== 0) {
      s.keyboardCommand = 0;
      switch (pending) {
        case 0xed: // LED state: bit 0 scroll, 1 num, 2 caps lock
          s.leds = v & 7;
          this.send(KbdReply.ACK);
          return;
        case 0xf3: // typematic rate/delay
          s.typematic = v & 0x7f;
          this.send(KbdReply.ACK);
          return;
        case 0xf0: // scan code set: 0 reports the current one, 1-3 select
          if (v === 0) {
            this.send(KbdReply.ACK);
            this.send(translated ? TRANSLATED_SET[s.scancodeSet]! : s.scancodeSet);
          } else if (v >= 1 && v <= 3) {
            s.scancodeSet = v;
            this.send(KbdReply.ACK);
          } else {
            this.send(KbdReply.RESEND);
          }
          return;
      }
    }
    switch (v) {
      case 0xed:
      case 0xf0:
      case 0xf3:
        s.keyboardCommand = v;
        this.send(KbdReply.ACK);
        break;
      case 0xee: // echo
        this.send(KbdReply.ECHO);
        break;
      case 0xf2: // read ID: 0xAB 0x83 for an MF2 keyboard, 0xAB 0x41 through the translator
        this.send(KbdReply.ACK);
        this.send(0xab);
        this.send(translated ? 0x41 : 0x83);
        break;
      case 0xf4: // enable scanning
        s.scanQueue = [];
        s.scanning = true;
        this.send(KbdReply.ACK);
        break;
      case 0xf5: // default and disable
        this.defaults();
        s.scanning = false;
        this.send(KbdReply.ACK);
        break;
      case 0xf6: // set default
        this.defaults();
        this.send(KbdReply.ACK);
        break;
      case 0xfe: // resend
        s.replyQueue.push(s.lastKeyboardByte);
        break;
      case 0xff: // reset: acknowledge, then the basic assurance test passes
        this.defaults();
        s.replyQueue = [];
        s.scanning = true;
        this.send(KbdReply.ACK);
        this.send(KbdReply.BAT_OK);
        break;
      default:
        this.send(KbdReply.RESEND);
    }
  }

  private defaults(): void {
    const s = this.state;
    s.scanQueue = [];
    s.scancodeSet = 2;
    s.leds = 0;
    s.typematic = 0x2b;
  }

  /** Queues a byte the controller itself answers with. */
  private reply(v: number): void {
    this.state.controllerQueue.push(v);
  }

  /** Queues a byte the keyboard sends in answer to a command. */
  private send(v: number): void {
    this.state.replyQueue.push(v);
    this.state.lastKeyboardByte = v;
  }

  private keyboardEnabled(): boolean {
    return (this.state.ram[0]! & CommandByte.DISABLE_KBD) === 0;
  }

  /** Takes one keystroke from the host when everything before it has been read. */
  private pull(): void {
    const s = this.state;
    if (s.obf || s.controllerQueue.length > 0 || s.replyQueue.length > 0 || s.scanQueue.length > 0) return;
    if (!this.keyboardEnabled() || !s.scanning) return;
    // Bytes with no key are skipped; the bound keeps an endless stream of them from stalling an access.
    for (let n = 0; n < 64 && s.scanQueue.length === 0 && this.input.ready(); n++) {
      const b = this.input.read();
      if (b < 0) break;
      this.typeAscii(b);
    }
  }

  /**
   * Appends the make and break codes of the key for ASCII byte `b`, wrapped in Left Shift or
   * Left Ctrl when needed. Set 1 (the translator's output) unless translation is off and the
   * keyboard uses set 2 or 3; set-2 breaks are 0xF0 + make.
   */
  private typeAscii(b: number): void {
    const entry = b < 128 ? KEYMAP[b]! : 0;
    if (entry === 0) return;
    const s = this.state;
    const set1 = (s.ram[0]! & CommandByte.XLAT) !== 0 || s.scancodeSet === 1;
    const modifier = entry >> 16;
    const code = set1 ? entry & 0xff : (entry >> 8) & 0xff;
    const mod = modifier === SHIFT ? LEFT_SHIFT : modifier === CTRL ? LEFT_CTRL : null;
    const modCode = mod === null ? 0 : set1 ? mod.set1 : mod.set2;
    const q = s.scanQueue;
    if (mod !== null) q.push(modCode);
    q.push(code);
    if (set1) q.push(code | 0x80);
    else q.push(0xf0, code);
    if (mod !== null) {
      if (set1) q.push(modCode | 0x80);
      else q.push(0xf0, modCode);
    }
  }

  /** Moves the next queued byte into an empty output buffer: controller replies first. */
  private refill(): void {
    const s = this.state;
    if (s.obf) return;
    let entry: number;
    if (s.controllerQueue.length > 0) entry = s.controllerQueue.shift()!;
    else if (!this.keyboardEnabled()) return;
    else if (s.replyQueue.length > 0) entry = s.replyQueue.shift()!;
    else if (s.scanQueue.length > 0) entry = s.scanQueue.shift()!;
    else return;
    s.output = entry & 0xff;
    s.aux = (entry & AUX_FLAG) !== 0;
    s.obf = true;
  }

  /** IRQ 1 is asserted while the output buffer holds keyboard-side data and the command byte enables it. */
  private updateIrq(): void {
    const s = this.state;
    const level = s.obf && !s.aux && (s.ram[0]! & CommandByte.INT) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq1.set(level);
    }
  }
}
