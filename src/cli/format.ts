/** Text formatting shared by the CLI's commands: numbers, tables, statistics. */
import Table from 'cli-table3';

/** 1234567 -> "1,234,567" */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A table with plain borders (no colour codes, so it pipes cleanly): the first column left-aligned, the rest right. */
export function table(rows: readonly (readonly string[])[], head?: readonly string[]): string {
  const columns = head?.length ?? rows[0]?.length ?? 2;
  const t = new Table({
    style: { head: [], border: [] },
    ...(head ? { head: [...head] } : {}),
    colAligns: ['left', ...new Array<'right'>(columns - 1).fill('right')],
  });
  for (const row of rows) t.push([...row]);
  return t.toString();
}

/** 0.0512 -> "5.1 %" */
export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} %`;
}

/** Bytes as KiB or MiB. */
export function bytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

/** Breaks `text` into lines of at most `width` characters at spaces, continuing lines indented by `indent`. */
export function wrap(text: string, width = 100, indent = '  '): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const prefix = lines.length === 0 ? '' : indent;
    if (line !== '' && prefix.length + line.length + 1 + word.length > width) {
      lines.push(prefix + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push((lines.length === 0 ? '' : indent) + line);
  return lines.join('\n');
}
