/**
 * Differential tests of whole programs: each C program of guest/user runs natively on the host
 * CPU and under shadowvisor's emulated i686; standard output, standard error and the exit
 * status (128 + signal for a fatal fault) must be identical.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { before, describe, it } from 'node:test';
import { MemoryHost, type UserProgramRun, runUserProgram } from '../../src/api/index.ts';
import { ROOT, buildUserPrograms, userProgram } from '../../bench/programs.ts';

interface Outcome {
  stdout: string;
  stderr: string;
  status: number;
}

const ENV = ['SHADOWVISOR_TEST=from the test', 'LANG=C'];

function native(name: string, args: string[], stdin = ''): Outcome {
  const path = userProgram(name);
  const env = Object.fromEntries(ENV.map((e) => e.split('=') as [string, string]));
  const r = spawnSync(path, args, { env, input: stdin, cwd: ROOT, argv0: name });
  const signal = r.signal === null ? 0 : constants.signals[r.signal];
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), status: r.status ?? 128 + signal };
}

function emulated(name: string, args: string[], stdin = '', files = new Map<string, Uint8Array>()): Outcome & { run: UserProgramRun } {
  const host = new MemoryHost(new TextEncoder().encode(stdin), files);
  const run = runUserProgram(new Uint8Array(readFileSync(userProgram(name))), name, host, { args, env: ENV, argv0: name });
  return { stdout: host.stdoutText(), stderr: host.stderrText(), status: run.status, run };
}

function assertSame(name: string, args: string[], files?: Map<string, Uint8Array>): UserProgramRun {
  const n = native(name, args);
  const e = emulated(name, args, '', files);
  assert.equal(e.stdout, n.stdout, `${name} ${args.join(' ')}: stdout differs`);
  assert.equal(e.stderr, n.stderr, `${name} ${args.join(' ')}: stderr differs`);
  assert.equal(e.status, n.status, `${name} ${args.join(' ')}: exit status differs`);
  return e.run;
}

before(() => buildUserPrograms());

describe('static glibc programs: output identical to the host CPU', () => {
  it('hello: printf conversions, argv, environment, stderr', () => {
    assertSame('hello', ['one', 'two words', '']);
  });

  it('hello as a static position-independent executable', () => {
    assertSame('hello-pie', ['pie']);
  });

  it('args: exit status is argc, the auxiliary vector is read', () => {
    const run = assertSame('args', ['a', 'b', 'c']);
    assert.equal(run.status, 4);
  });

  it('malloc: brk, large blocks from mmap2, string functions', () => {
    const run = assertSame('malloc', []);
    assert.ok((run.syscalls.mmap2 ?? 0) > 0, 'large allocations use mmap2');
    assert.ok((run.syscalls.munmap ?? 0) > 0, 'and give it back with munmap');
  });

  it('files: open, read, lseek, fstat of an existing file; ENOENT for a missing one', () => {
    const path = 'guest/user/README.md';
    assertSame('files', [path], new Map([[path, new Uint8Array(readFileSync(`${ROOT}${path}`))]]));
  });

  it('float: x87 arithmetic, printf of float, double and long double, strtod and libm', () => {
    for (const args of [[], ['1e22'], ['-7.25'], ['3.141592653589793'], ['1e-310']]) {
      const run = assertSame('float', args);
      assert.equal(run.exit.kind, 'exited');
    }
  });

  it('selfmod: self-modifying and generated code is noticed on every write', () => {
    const run = assertSame('selfmod', []);
    assert.ok(run.counters.block_invalidated! > 1000, 'each patch invalidated decoded blocks');
  });

  for (const name of ['bench-compress', 'bench-sort', 'bench-hash', 'bench-matrix']) {
    it(`${name} (small scale)`, () => {
      assertSame(name, ['2']);
    });
  }
});

describe('freestanding programs', () => {
  it('demo', () => {
    assertSame('demo', []);
  });

  it('exitcode: the status reaches the caller', () => {
    assert.equal(assertSame('exitcode', []).status, 42);
  });
});

describe('faults become the signals Linux would deliver', () => {
  for (const [what, signal] of [
    ['segv', 'SIGSEGV'],
    ['wsegv', 'SIGSEGV'],
    ['div', 'SIGFPE'],
    ['x87', 'SIGFPE'],
    ['ud2', 'SIGILL'],
    ['int3', 'SIGTRAP'],
    // Privileged at ring 3 on any model: #GP, which Linux turns into SIGSEGV (the host CPU agrees).
    ['rdmsr', 'SIGSEGV'],
    ['wrmsr', 'SIGSEGV'],
    ['abort', 'SIGABRT'],
  ] as const) {
    it(`${what} -> ${signal}`, () => {
      const run = assertSame('faults', [what]);
      assert.equal(run.exit.kind, 'signaled');
      if (run.exit.kind === 'signaled') assert.equal(run.exit.name, signal);
    });
  }

  it('deep recursion grows the stack by demand-zero page faults', () => {
    const run = assertSame('faults', ['stack', '3000']);
    assert.ok(run.counters.exception! > 700, 'about one page fault per stack page touched');
  });

  it('a runaway program stops at the instruction limit', () => {
    const host = new MemoryHost();
    const run = runUserProgram(new Uint8Array(readFileSync(userProgram('faults'))), 'faults', host, {
      args: ['spin'],
      maxInstructions: 2_000_000,
    });
    assert.deepEqual(run.exit, { kind: 'limit', instructions: 2_000_000 });
  });
});

describe('determinism and the block compiler', () => {
  it('two runs of the same program give identical counters', () => {
    const a = emulated('bench-sort', ['1']).run;
    const b = emulated('bench-sort', ['1']).run;
    assert.equal(a.instructions, b.instructions);
    assert.equal(a.cycles, b.cycles);
    assert.deepEqual(a.counters, b.counters);
  });

  it('compiled blocks and the interpreter agree instruction for instruction and cycle for cycle', () => {
    const path = userProgram('bench-hash');
    const run = (interpretOnly: boolean) => {
      const host = new MemoryHost();
      const r = runUserProgram(new Uint8Array(readFileSync(path)), 'bench-hash', host, { args: ['1'], interpretOnly });
      return { r, out: host.stdoutText() };
    };
    const compiled = run(false);
    const interpreted = run(true);
    assert.ok(compiled.r.counters.block_compiled! > 0);
    assert.equal(interpreted.r.counters.block_compiled, 0);
    assert.equal(compiled.out, interpreted.out);
    assert.equal(compiled.r.instructions, interpreted.r.instructions);
    assert.equal(compiled.r.cycles, interpreted.r.cycles);
  });
});
