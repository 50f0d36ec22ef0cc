/**
 * Records what xv6 answers under QEMU to the commands the xv6 tests compare (ls, cat README, cat
 * of a file echo wrote, forktest): the expectations of test/machine/xv6.ts come from QEMU, not
 * from shadowvisor. Regenerate with
 *   node --import tsx test/machine/xv6/qemu-transcript.ts > test/machine/xv6/expected-qemu.txt
 * (needs qemu-system-i386 and ../shared/clients/xv6).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, XV6 } from './xv6.ts';

const fs = join(mkdtempSync(join(tmpdir(), 'xv6-qemu-')), 'fs.img');
copyFileSync(join(XV6, 'fs.img'), fs);
const child = spawn('qemu-system-i386', ['-nographic', '-no-reboot', '-kernel', join(XV6, 'kernel'), '-drive', `file=${fs},index=1,media=disk,format=raw`, '-smp', '1', '-m', '512'], {
  stdio: ['pipe', 'pipe', 'ignore'],
});
let out = '';
let prompts = 0;
const timer = setTimeout(() => child.kill(), 60_000);
child.stdout.on('data', (chunk: Buffer) => {
  out += chunk.toString('latin1');
  const seen = out.split('$ ').length - 1;
  if (seen > prompts) {
    prompts = seen;
    if (prompts <= COMMANDS.length) child.stdin.write(`${COMMANDS[prompts - 1]}\n`);
    else child.kill();
  }
});
child.on('close', () => {
  clearTimeout(timer);
  // From the first prompt on, with QEMU's line ends as xv6 sent them.
  process.stdout.write(out.slice(out.indexOf('$ ')).replace(/\r\n/g, '\n'));
});
