/**
 * `--vm <spec>`: one VM of several, QEMU style — comma-separated key=value pairs, a doubled comma
 * standing for a comma inside a value:
 *   kernel=guest/kernel/kernel.elf,append=workload=cpu n=5,mem=16M,host-mem=8M,console=vm1.txt
 * Keys: kernel (required), name, append, mem, shadow-pages, host-mem, backing-store,
 * max-instructions, console (a file for the VM's serial output; default: stdout, each line
 * prefixed with the VM's name).
 */
import { UsageError } from './errors.ts';

export interface VmSpec {
  readonly kernel: string;
  readonly name?: string;
  readonly append: string;
  readonly mem?: string;
  readonly shadowPages?: string;
  readonly hostMem?: string;
  readonly backingStore?: string;
  readonly maxInstructions?: string;
  readonly console?: string;
}

const KEYS = ['kernel', 'name', 'append', 'mem', 'shadow-pages', 'host-mem', 'backing-store', 'max-instructions', 'console'] as const;
type Key = (typeof KEYS)[number];

/** Splits at single commas; ",," is a literal comma. */
function splitPairs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ',' && text[i + 1] === ',') {
      cur += ',';
      i++;
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export function parseVmSpec(text: string): VmSpec {
  const values = new Map<Key, string>();
  for (const pair of splitPairs(text)) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    if (eq < 0) throw new UsageError(`--vm "${text}": "${key}" needs a value (key=value)`);
    const known = KEYS.find((k) => k === key);
    if (known === undefined) throw new UsageError(`--vm "${text}": unknown key "${key}" (known: ${KEYS.join(', ')})`);
    if (values.has(known)) throw new UsageError(`--vm "${text}": "${key}" given twice`);
    values.set(known, pair.slice(eq + 1));
  }
  const kernel = values.get('kernel');
  if (kernel === undefined || kernel === '') throw new UsageError(`--vm "${text}" needs kernel=<file>`);
  const opt = (k: Key, field: keyof VmSpec) => (values.has(k) ? { [field]: values.get(k)! } : {});
  return {
    kernel,
    append: values.get('append') ?? '',
    ...opt('name', 'name'),
    ...opt('mem', 'mem'),
    ...opt('shadow-pages', 'shadowPages'),
    ...opt('host-mem', 'hostMem'),
    ...opt('backing-store', 'backingStore'),
    ...opt('max-instructions', 'maxInstructions'),
    ...opt('console', 'console'),
  };
}
