/**
 * The figures of `shadowvisor compare`: time relative to native per workload and mode (after
 * Figure 2 of Adams & Agesen, ASPLOS 2006) and where each mode's cycles went. Observable Plot
 * draws axes and bars into a linkedom document, so the same code runs in Node and the browser.
 * Title and legends are drawn here as SVG because Plot's own are HTML; the result is one
 * standalone SVG document, identical for equal input (no ids, nothing random).
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';

/** One comparison's figures, for one cost profile. */
export interface ComparisonPlotData {
  /** For example "teaching kernel under nehalem". */
  readonly title: string;
  /** For example "nehalem". */
  readonly profile: string;
  /** Simulated cycles relative to native (native = 1), one bar per (workload, mode). */
  readonly slowdown: readonly { readonly workload: string; readonly mode: string; readonly relative: number }[];
  /**
   * Where each mode's cycles went, per workload: one row per (workload, mode, part). Parts are
   * names like "guest instructions", "interpretation", "exits: hidden fault", "exits: I/O".
   */
  readonly breakdown: readonly { readonly workload: string; readonly mode: string; readonly part: string; readonly cycles: number }[];
}

/** Standalone SVG documents. */
export interface ComparisonPlots {
  readonly slowdown: string;
  readonly breakdown: string;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const WIDTH = 640;
const FONT = 'DejaVu Sans, Liberation Sans, system-ui, sans-serif';
/** Past this max/min ratio the slowdown axis goes logarithmic: interpretation can be ~50x the rest. */
export const LOG_SCALE_RATIO = 20;

/** Fixed colours for the known modes, so a mode looks the same in every figure and profile. */
const MODE_COLORS: Readonly<Record<string, string>> = {
  native: '#7f7f7f',
  interpret: '#e15759',
  trap: '#4e79a7',
  hw: '#59a14f',
};
/** Tableau 10, minus the four mode colours above, then all of it again for parts. */
const SPARE_COLORS = ['#f28e2b', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const PART_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** Renders both figures of one comparison as standalone SVG documents. */
export function comparisonPlots(data: ComparisonPlotData): ComparisonPlots {
  return { slowdown: slowdownSvg(data), breakdown: breakdownSvg(data) };
}

/** The slowdown axis: logarithmic when the largest relative time is over LOG_SCALE_RATIO times the smallest. */
export function slowdownScale(relatives: readonly number[]): 'log' | 'linear' {
  const positive = relatives.filter((r) => Number.isFinite(r) && r > 0);
  // A zero or negative time has no logarithm: such data stays linear rather than losing bars.
  if (positive.length === 0 || positive.length !== relatives.length) return 'linear';
  return Math.max(...positive) / Math.min(...positive) > LOG_SCALE_RATIO ? 'log' : 'linear';
}

function slowdownSvg(data: ComparisonPlotData): string {
  // A run that produced no time (NaN, Infinity) keeps its place in legend and groups but gets no bar.
  const rows = data.slowdown.filter((r) => Number.isFinite(r.relative));
  const workloads = distinct(data.slowdown.map((r) => r.workload));
  const modes = distinct(data.slowdown.map((r) => r.mode));
  const colors = modeColors(modes);
  const title = `${data.title}: time relative to native`;
  const legend = modes.map((mode, i) => ({ label: mode, color: colors[i]! }));
  if (rows.length === 0) return compose(title, data.profile, legend, null);

  const relatives = rows.map((r) => r.relative);
  const log = slowdownScale(relatives) === 'log';
  const max = Math.max(1, ...relatives);
  // Log bars need a floor above zero: the decade below the smallest value keeps native (1.0) visible.
  const floor = log ? 10 ** Math.floor(Math.log10(Math.min(...relatives) * 0.9)) : 0;
  const top = log ? 10 ** Math.ceil(Math.log10(max * 1.1)) : max * 1.12;
  const label = log ? 'time relative to native (log scale)' : 'time relative to native';
  const ticks = log ? logTicks(floor, top) : undefined;
  // Explicit axis marks: for log scales Plot formats through d3, which drops labels (5, 50) and
  // writes SI suffixes ("100m"); a text channel keeps every 1-2-5 label in plain numbers.
  const yAxis = log
    ? [Plot.gridY(ticks), Plot.axisY(ticks, { text: (t: number) => formatNumber(t), label })]
    : [Plot.gridY(), Plot.axisY({ tickFormat: formatNumber, label })];
  const { document } = parseHTML('<!DOCTYPE html><html><body></body></html>');
  const plot = Plot.plot({
    document,
    figure: false,
    width: WIDTH,
    height: 340,
    marginLeft: 56,
    marginBottom: 32,
    fx: { domain: workloads, label: null, axis: 'bottom', padding: 0.12 },
    x: { domain: modes, axis: null, paddingInner: 0.08, paddingOuter: 0.05 },
    y: log ? { type: 'log', domain: [floor, top] } : { type: 'linear', domain: [0, top], nice: true },
    color: { domain: modes, range: colors },
    marks: [
      ...yAxis,
      Plot.barY(rows, {
        fx: 'workload',
        x: 'mode',
        y1: floor,
        y2: 'relative',
        fill: 'mode',
        title: (r: ComparisonPlotData['slowdown'][number]) => `${r.workload}, ${r.mode}: ${formatNumber(r.relative)}x native`,
      }),
      Plot.text(rows, {
        fx: 'workload',
        x: 'mode',
        y: 'relative',
        text: (r: ComparisonPlotData['slowdown'][number]) => formatNumber(r.relative),
        dy: -5,
        fontSize: 9,
      }),
      Plot.ruleY([floor]),
      // Native is 1.0 by definition: the rule shows how far each mode is above it.
      Plot.ruleY([1], { stroke: '#222', strokeDasharray: '4,3' }),
    ],
  });
  return compose(title, data.profile, legend, plot);
}

function breakdownSvg(data: ComparisonPlotData): string {
  const rows = data.breakdown.filter((r) => Number.isFinite(r.cycles));
  const workloads = distinct(data.breakdown.map((r) => r.workload));
  const modes = distinct(data.breakdown.map((r) => r.mode));
  const parts = distinct(data.breakdown.map((r) => r.part));
  const colors = parts.map((_, i) => PART_COLORS[i % PART_COLORS.length]!);
  const title = `${data.title}: where the cycles went`;
  const legend = parts.map((part, i) => ({ label: part, color: colors[i]! }));
  if (rows.length === 0) return compose(title, data.profile, legend, null);

  const totals = new Map<string, number>();
  for (const r of rows) totals.set(`${r.workload}\n${r.mode}`, (totals.get(`${r.workload}\n${r.mode}`) ?? 0) + r.cycles);
  const unit = cycleUnit(Math.max(...totals.values()));
  const rowHeight = 18;
  const facetHeight = modes.length * rowHeight + 14;
  const { document } = parseHTML('<!DOCTYPE html><html><body></body></html>');
  const plot = Plot.plot({
    document,
    figure: false,
    width: WIDTH,
    height: 30 + 40 + workloads.length * facetHeight,
    marginLeft: 70,
    // Room for the facet labels (the workloads' command lines) at about 7 px a character.
    marginRight: Math.max(90, 10 + 7 * Math.max(...workloads.map((w) => w.length))),
    fy: { domain: workloads, label: null, axis: 'right', padding: 0.15 },
    y: { domain: modes, label: null, padding: 0.15 },
    x: { label: `simulated cycles${unit.label} →`, grid: true, labelAnchor: 'right', tickFormat: formatNumber },
    color: { domain: parts, range: colors },
    marks: [
      Plot.barX(
        rows,
        Plot.stackX({
          fy: 'workload',
          y: 'mode',
          x: (r: ComparisonPlotData['breakdown'][number]) => r.cycles / unit.divisor,
          fill: 'part',
          order: parts,
          title: (r: ComparisonPlotData['breakdown'][number]) =>
            `${r.workload}, ${r.mode}, ${r.part}: ${formatNumber(r.cycles)} cycles`,
        }),
      ),
      Plot.ruleX([0]),
    ],
  });
  return compose(title, data.profile, legend, plot);
}

/** Title, a legend row and Plot's chart stacked into one root `<svg>`, serialized. */
function compose(title: string, profile: string, legend: readonly LegendEntry[], plot: unknown): string {
  const { document } = parseHTML('<!DOCTYPE html><html><body></body></html>');
  const el = (name: string, attrs: Readonly<Record<string, string | number>>, text?: string): SvgNode => {
    const node: SvgNode = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  // The children go in a linkedom <g> for escaping; the root tag is written here so that the
  // namespace comes first and attribute order does not depend on linkedom's serializer.
  const root = el('g', {});
  root.appendChild(el('title', {}, title));
  root.appendChild(el('desc', {}, `shadowvisor compare, cost profile ${profile}`));
  root.appendChild(el('rect', { width: '100%', height: '100%', fill: 'white' }));
  root.appendChild(el('text', { x: 12, y: 22, 'font-size': 15 }, title));

  let y = 36;
  let x = 12;
  for (const entry of legend) {
    // Text width is estimated (about 0.62 em per character in DejaVu Sans): no layout engine here.
    const width = 14 + entry.label.length * 6.2 + 14;
    if (x + width > WIDTH - 12 && x > 12) {
      x = 12;
      y += 16;
    }
    root.appendChild(el('rect', { x, y, width: 10, height: 10, fill: entry.color }));
    root.appendChild(el('text', { x: x + 14, y: y + 9 }, entry.label));
    x += width;
  }
  y += legend.length > 0 ? 18 : 0;

  let height = y + 40;
  if (isSvgElement(plot)) {
    plot.setAttribute('x', '0');
    plot.setAttribute('y', String(y));
    root.appendChild(plot);
    height = y + Number(plot.getAttribute('height'));
  } else {
    root.appendChild(el('text', { x: 12, y: y + 20 }, 'no data'));
  }
  return (
    `<svg xmlns="${SVG_NS}" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
    `font-family="${FONT}" font-size="10">${root.innerHTML}</svg>\n`
  );
}

interface LegendEntry {
  readonly label: string;
  readonly color: string;
}

/** What this file uses of a DOM element (Plot's return type names DOM types the core has no lib for). */
interface SvgNode {
  setAttribute(name: string, value: string | number): void;
  getAttribute(name: string): string | null;
  appendChild(node: SvgNode): unknown;
  textContent: string | null;
  readonly innerHTML: string;
}

function isSvgElement(node: unknown): node is SvgNode {
  return typeof node === 'object' && node !== null && 'innerHTML' in node && 'setAttribute' in node && 'localName' in node && node.localName === 'svg';
}

function modeColors(modes: readonly string[]): string[] {
  let spare = 0;
  return modes.map((m) => MODE_COLORS[m] ?? SPARE_COLORS[spare++ % SPARE_COLORS.length]!);
}

/** 1-2-5 ticks per decade between two powers of ten. */
function logTicks(floor: number, top: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.round(Math.log10(floor)); 10 ** e <= top * 1.0001; e++) {
    for (const m of [1, 2, 5]) {
      const t = Number((m * 10 ** e).toPrecision(6));
      if (t >= floor * 0.9999 && t <= top * 1.0001) ticks.push(t);
    }
  }
  return ticks;
}

function cycleUnit(max: number): { readonly divisor: number; readonly label: string } {
  if (max >= 1e6) return { divisor: 1e6, label: ' (millions)' };
  if (max >= 1e3) return { divisor: 1e3, label: ' (thousands)' };
  return { divisor: 1, label: '' };
}

/** Up to three significant digits, no exponent, no SI suffix ("0.1", "1.03", "42", "1,234"). */
function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** Values in order of first appearance: the caller's order is the figure's order. */
function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}
