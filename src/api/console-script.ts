/**
 * A person at the serial console, scripted (as expect(1) scripts one): the script waits for a
 * text in the guest's output, types a line, waits for the next text, and so on. It is the
 * console's input and output (serial and input of MachineOptions) and its hostStop: the run
 * stops once the last step's text has appeared, or when the guest goes quiet.
 *
 * A watchdog tells a guest that hangs from a guest that died: after `quietInstructions` without
 * a byte of output it types `poke` (xv6's Ctrl-P lists the processes); if the guest answers, it
 * is alive but stuck — its own deadlock — and if it stays silent for as long again, it is not
 * running at all. Both stop the run with a reason that says which.
 */
import type { ByteSink, ByteSource } from '../hw/devices/device.ts';

export interface ConsoleStep {
  /** Text to wait for in the output that follows the previous step's typing. */
  readonly waitFor: string;
  /** What to type once it has appeared (a line ends with '\n'); nothing for the last step. */
  readonly type?: string;
}

export interface ConsoleScriptOptions {
  /** Guest instructions without output before the watchdog pokes the guest (default 2 billion). */
  readonly quietInstructions?: number;
  /** What the watchdog types (default Ctrl-P, xv6's process listing). */
  readonly poke?: string;
  /** Gets every byte of output too (a terminal, a test's log). */
  readonly echo?: ByteSink;
}

/** Why a ConsoleScript stopped the run: it finished, or its watchdog fired (and what it found). */
export type ScriptEnd = 'finished' | 'stuck' | 'silent';

export class ConsoleScript implements ByteSink, ByteSource {
  /** Everything the guest printed. */
  output = '';
  /** How the script ended, or null while it runs. */
  end: ScriptEnd | null = null;
  private readonly steps: readonly ConsoleStep[];
  private step = 0;
  /** Where in the output the current step's text is looked for. */
  private from = 0;
  private typing: number[] = [];
  private typed = 0;
  private readonly quiet: number;
  private readonly poke: string;
  private readonly echo: ByteSink | null;
  /** Instructions at the last output (or the last look that found some). */
  private lastOutputAt = 0;
  private outputSeen = 0;
  /** The output's length when the watchdog poked, or -1. */
  private pokedAt = -1;

  constructor(steps: readonly ConsoleStep[], options: ConsoleScriptOptions = {}) {
    this.steps = steps;
    this.quiet = options.quietInstructions ?? 2e9;
    this.poke = options.poke ?? '\x10';
    this.echo = options.echo ?? null;
  }

  write(byte: number): void {
    this.output += String.fromCharCode(byte);
    this.echo?.write(byte);
    const step = this.steps[this.step];
    if (step === undefined || this.typing.length > this.typed) return;
    const at = this.output.indexOf(step.waitFor, this.from);
    if (at < 0) return;
    this.step++;
    this.from = at + step.waitFor.length;
    if (step.type !== undefined && this.step < this.steps.length) this.type(step.type);
    else if (this.step === this.steps.length) this.end = 'finished';
  }

  read(): number {
    return this.typed < this.typing.length ? this.typing[this.typed++]! : -1;
  }

  ready(): boolean {
    return this.typed < this.typing.length;
  }

  /** MachineOptions.hostStop: the script's end, or the watchdog's verdict. */
  hostStop(instructions: number): string | null {
    if (this.end === 'finished') return 'the console script finished';
    if (this.output.length !== this.outputSeen) {
      this.outputSeen = this.output.length;
      this.lastOutputAt = instructions;
      if (this.pokedAt >= 0) {
        this.end = 'stuck';
        return `the guest printed nothing for ${this.quiet.toLocaleString('en-US')} instructions, then answered the watchdog's poke: it is running but stuck`;
      }
      return null;
    }
    if (instructions - this.lastOutputAt < this.quiet) return null;
    if (this.pokedAt < 0) {
      this.pokedAt = this.output.length;
      this.lastOutputAt = instructions;
      this.type(this.poke);
      return null;
    }
    this.end = 'silent';
    return `the guest printed nothing for ${this.quiet.toLocaleString('en-US')} instructions and did not answer the watchdog's poke: it is not running`;
  }

  /** The output from the watchdog's poke on (what the guest answered), or ''. */
  get answerToPoke(): string {
    return this.pokedAt < 0 ? '' : this.output.slice(this.pokedAt);
  }

  private type(text: string): void {
    for (let k = 0; k < text.length; k++) this.typing.push(text.charCodeAt(k) & 0xff);
  }
}
