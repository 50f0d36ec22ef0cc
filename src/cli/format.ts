/** Text formatting shared by the CLI's commands: numbers, tables, statistics. */
import Table from 'cli-table3';

/** 1234567 -> "1,234,567" */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A two-column table with plain borders (no colour codes, so it pipes cleanly). */
export function table(rows: readonly (readonly [string, string])[], head?: readonly [string, string]): string {
  const t = new Table({
    style: { head: [], border: [] },
    ...(head ? { head: [...head] } : {}),
    colAligns: ['left', 'right'],
  });
  for (const [k, v] of rows) t.push([k, v]);
  return t.toString();
}
