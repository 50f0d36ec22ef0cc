/**
 * The host side of `shadowvisor run`: standard input reaching the guest's serial port (from a
 * pipe, and from a terminal), and disk images surviving a run that is killed mid-write.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ROOT } from '../../bench/programs.ts';
import { tempImage } from './boot.ts';
import { DISK_WRITER, ECHO, IRQ_ECHO, kernelFile } from './fixtures.ts';

const CLI = `${ROOT}bin/shadowvisor.mjs`;

describe('standard input reaches the serial port', () => {
  const echo = kernelFile('echo.elf', ECHO);

  it('from a pipe', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', echo], { input: 'hello, guest.', encoding: 'utf8' });
    assert.equal(r.stdout, 'HELLO, GUEST');
    assert.equal(r.status, 1);
  });

  it('from a terminal, a line at a time', { skip: spawnSync('script', ['--version']).status !== 0 && 'script(1) not available' }, () => {
    // script(1) gives the command a pseudo-terminal as its stdin; the typed line reaches the guest.
    const r = spawnSync('script', ['-qec', `${process.execPath} ${CLI} run ${echo}`, '/dev/null'], {
      input: 'typed.\n',
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.match(r.stdout, /TYPED/);
  });
});

describe('an idle guest waiting for input', () => {
  const echo = kernelFile('irq-echo.elf', IRQ_ECHO);
  const hasScript = spawnSync('script', ['--version']).status === 0;

  for (const mode of ['native', 'trap']) {
    it(`gets its interrupt-driven input from a pipe (--mode ${mode})`, () => {
      const r = spawnSync(process.execPath, [CLI, 'run', '--mode', mode, echo], { input: 'idle.', encoding: 'utf8' });
      assert.equal(r.stdout, 'IDLE');
      assert.equal(r.status, 1);
    });

    it(`ends with status 126 once piped input is used up and nothing can wake it (--mode ${mode})`, () => {
      const r = spawnSync(process.execPath, [CLI, 'run', '--mode', mode, echo], { input: 'no end', encoding: 'utf8' });
      assert.equal(r.stdout, 'NO END');
      assert.equal(r.status, 126);
      assert.match(r.stderr, /halted with interrupts enabled, but no timer or device is left to wake it/);
    });
  }

  it('under --stats in trap mode the slowdown is not measured when the guest read input', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', '--mode', 'trap', '--stats', echo], { input: 'idle.', encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /slowdown against native: not measured \(the guest read input/);
  });

  it('waits for a person at a terminal instead of giving up', { skip: !hasScript && 'script(1) not available' }, () => {
    // The line is written a moment after the guest has gone idle: the run must still be there.
    const r = spawnSync('script', ['-qec', `${process.execPath} ${CLI} run ${echo}`, '/dev/null'], {
      input: 'later.\n',
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.match(r.stdout, /LATER/);
  });
});

describe('a terminal in raw mode, as QEMU -nographic makes it', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  const echo = kernelFile('echo.elf', ECHO);

  /** Runs `command` on a pseudo-terminal (script(1)) and types `keys` once shadowvisor has had time to set raw mode. */
  async function typed(command: string, keys: string): Promise<string> {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
    });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    child.stdin.write(keys);
    const timer = setTimeout(() => child.kill(), 60_000);
    await new Promise((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    return out;
  }

  it('control keys reach the guest (Ctrl-C does not stop shadowvisor, Ctrl-P is a byte like any other)', { skip: !hasScript && 'script(1) not available' }, async () => {
    // The echo guest sends back every byte but '.', letters upper-cased.
    const out = await typed(`${process.execPath} ${CLI} run ${echo}`, 'a\x03b\x10c.');
    assert.ok(out.includes('A\x03B\x10C'), JSON.stringify(out));
  });

  it('Ctrl-A X quits (status 0, and a line saying so); Ctrl-A Ctrl-A sends one Ctrl-A', { skip: !hasScript && 'script(1) not available' }, async () => {
    const out = await typed(`${process.execPath} ${CLI} run ${echo}; echo "status=$?"`, 'q\x01\x01r\x01x');
    assert.ok(out.includes('Q\x01R'), JSON.stringify(out));
    assert.match(out, /stopped: the person at the console quit \(Ctrl-A X\)/);
    assert.match(out, /status=0/);
  });
});

describe('disk images survive a killed run', () => {
  it('after SIGKILL mid-write the image has its size and every sector is whole', async () => {
    const image = tempImage(128 * 512);
    const kernel = kernelFile('disk-writer.elf', DISK_WRITER);
    const child = spawn(process.execPath, [CLI, 'run', '--disk', image, kernel], { stdio: 'ignore' });
    // Let it write for a while, then kill it without warning.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(statSync(image).size, 128 * 512);
    const data = new DataView(readFileSync(image).buffer);
    let written = 0;
    for (let s = 0; s < 128; s++) {
      const first = data.getUint32(s * 512, true);
      for (let k = 1; k < 128; k++) assert.equal(data.getUint32(s * 512 + k * 4, true), first, `sector ${s} is whole`);
      if (first !== 0) {
        assert.equal(first & 0xffff, s, `sector ${s} holds its own number`);
        written++;
      }
    }
    assert.ok(written > 0, 'the guest had written sectors before it was killed');
    writeFileSync(image, '');
  });
});
