/**
 * Building the C test programs of guest/user (needs gcc -m32, i.e. Debian's gcc-multilib).
 * Shared by the benchmark script and the tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const USER_OUT = `${ROOT}out/user`;

/** Runs `make -C guest/user` (quietly) and returns the path of the named program. */
export function buildUserPrograms(): void {
  try {
    execFileSync('make', ['-s', '-C', `${ROOT}guest/user`, `OUT=${USER_OUT}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
    throw new Error(`building guest/user failed (is gcc-multilib installed? apt-get install gcc-multilib):\n${stderr}`);
  }
}

/**
 * Builds the teaching kernel's user programs (guest/kernel/build/user/<program>) and its
 * workloads as Linux programs (guest/kernel/build/linux/<workload>).
 */
export function buildKernelLinuxWorkloads(): void {
  try {
    execFileSync('make', ['-s', '-C', `${ROOT}guest/kernel`, 'all', 'linux'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
    throw new Error(`building guest/kernel's Linux workloads failed (is gcc-multilib installed?):\n${stderr}`);
  }
}

export function userProgram(name: string): string {
  const path = `${USER_OUT}/${name}.elf`;
  if (!existsSync(path)) buildUserPrograms();
  return path;
}
