/**
 * The figures of `shadowvisor compare`: each is a well-formed, standalone SVG document holding
 * every series of its input, one slowdown bar per (workload, mode), the same bytes for the same
 * input; the PNG helper turns one into a PNG when a font is there and says why when it is not.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DOMParser } from 'linkedom';
import { type ComparisonPlotData, LOG_SCALE_RATIO, comparisonPlots, slowdownScale } from '../../src/api/plots.ts';
import { svgToPng } from '../../src/api/node.ts';

const SVG_NS = 'http://www.w3.org/2000/svg';
const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const MODES = ['native', 'interpret', 'trap', 'hw'];
/** Relative times in MODES order, shaped like the teaching kernel's: interpretation ~40x, trap costly on exits. */
const RELATIVE: Readonly<Record<string, readonly number[]>> = {
  cpu: [1, 42, 1.03, 1.02],
  syscall: [1, 40, 9.5, 1.1],
  'page faults': [1, 38, 14.2, 2.3],
};
const NATIVE_CYCLES = 2_000_000;

function sample(slowdownOnly?: (mode: string) => boolean): ComparisonPlotData {
  const slowdown = Object.entries(RELATIVE).flatMap(([workload, times]) =>
    times.map((relative, i) => ({ workload, mode: MODES[i]!, relative })).filter((r) => slowdownOnly?.(r.mode) ?? true),
  );
  const breakdown = slowdown.flatMap(({ workload, mode, relative }) => {
    const total = NATIVE_CYCLES * relative;
    const overhead = total - NATIVE_CYCLES;
    const parts: [string, number][] =
      mode === 'native'
        ? [['guest instructions', total]]
        : mode === 'interpret'
          ? [['interpretation', total * 0.97], ['exits: I/O', total * 0.03]]
          : [['guest instructions', NATIVE_CYCLES], ['exits: hidden fault', overhead * 0.7], ['exits: I/O', overhead * 0.3]];
    return parts.map(([part, cycles]) => ({ workload, mode, part, cycles: Math.round(cycles) }));
  });
  return { title: 'teaching kernel under nehalem', profile: 'nehalem', slowdown, breakdown };
}

/**
 * Why `xml` is not a well-formed XML document, or null. linkedom's DOMParser accepts anything
 * (it parses "<svg><g></svg>" happily), so this checks what a strict XML parser would: one root,
 * tags nest and match, attributes quoted, unique and escaped, text free of '<' and stray '&'.
 */
function xmlProblem(xml: string): string | null {
  const NAME = '[A-Za-z_:][-A-Za-z0-9_:.]*';
  const REF = /&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)/;
  const tag = new RegExp(`<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`, 'y');
  const attr = new RegExp(`(${NAME})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'g');
  const stack: string[] = [];
  let roots = 0;
  let at = xml.startsWith('<?xml') ? xml.indexOf('?>') + 2 : 0;
  while (at < xml.length) {
    const lt = xml.indexOf('<', at);
    const text = xml.slice(at, lt < 0 ? xml.length : lt);
    if (REF.test(text)) return `bare '&' in text at ${at}`;
    if (stack.length === 0 && text.trim() !== '') return `text outside the root at ${at}`;
    if (lt < 0) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt);
      if (end < 0) return `unclosed comment at ${lt}`;
      at = end + 3;
      continue;
    }
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (m === null) return `malformed tag at ${lt}: ${xml.slice(lt, lt + 40)}`;
    const [, close, name, attrs, selfClose] = m;
    if (close) {
      if (attrs || selfClose) return `malformed end tag </${name}> at ${lt}`;
      const open = stack.pop();
      if (open !== name) return `</${name}> at ${lt} closes <${open ?? 'nothing'}>`;
    } else {
      if (stack.length === 0 && ++roots > 1) return `second root <${name}> at ${lt}`;
      const seen = new Set<string>();
      for (const a of attrs!.matchAll(attr)) {
        if (seen.has(a[1]!)) return `duplicate attribute ${a[1]} on <${name}>`;
        seen.add(a[1]!);
        if (REF.test(a[2] ?? a[3] ?? '')) return `bare '&' in attribute ${a[1]} of <${name}>`;
      }
      if (!selfClose) stack.push(name!);
    }
    at = tag.lastIndex;
  }
  if (stack.length > 0) return `unclosed <${stack.at(-1)}>`;
  return roots === 1 ? null : 'no root element';
}

/** What the tests read of a parsed element (the test config has no DOM lib). */
interface XmlElement {
  readonly localName: string;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): XmlElement | null;
  querySelectorAll(selector: string): Iterable<XmlElement>;
}

interface Parsed {
  readonly root: XmlElement;
  texts(): string[];
}

/** A figure checked for well-formedness, then parsed as SVG for its contents. */
function parse(svg: string): Parsed {
  assert.equal(xmlProblem(svg), null);
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const root: XmlElement | null = doc.documentElement;
  assert.ok(root);
  return { root, texts: () => [...root.querySelectorAll('text')].map((t) => t.textContent ?? '') };
}

describe('comparison plots', () => {
  const data = sample();
  const plots = comparisonPlots(data);
  const workloads = Object.keys(RELATIVE);

  it('the well-formedness check rejects broken SVG (so the checks below can fail)', () => {
    const good = '<svg xmlns="http://www.w3.org/2000/svg"><g><text x="1">a &amp; b</text></g><rect/></svg>';
    assert.equal(xmlProblem(good), null);
    for (const broken of [
      '<svg xmlns="http://www.w3.org/2000/svg"><g></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><text>a < b</text></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><rect x=1/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><rect x="1" x="2"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"></svg><svg></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg">',
      plots.slowdown.slice(0, -20),
    ]) {
      assert.notEqual(xmlProblem(broken), null, broken.slice(0, 80));
    }
  });

  for (const name of ['slowdown', 'breakdown'] as const) {
    it(`${name}: a standalone SVG document with size, viewBox and title`, () => {
      const svg = plots[name];
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
      assert.doesNotMatch(svg, /<(figure|div|h2|span|legend)\b/, 'no HTML wrapper');
      assert.doesNotMatch(svg, /\bid="/, 'no ids to collide or drift');
      const { root, texts } = parse(svg);
      assert.equal(root.localName, 'svg');
      assert.equal(root.getAttribute('xmlns'), SVG_NS);
      const title = root.querySelector('title');
      assert.ok(title?.textContent?.includes(data.title));
      assert.ok(texts().some((t) => t.includes(data.title)), 'the title is drawn, not only named');
    });

    it(`${name}: names every workload and every series of its input`, () => {
      const texts = parse(plots[name]).texts();
      const series = name === 'slowdown' ? MODES : [...new Set(data.breakdown.map((r) => r.part))];
      for (const expected of [...workloads, ...series, ...(name === 'breakdown' ? MODES : [])]) {
        assert.ok(texts.includes(expected), `no text "${expected}" in ${name}`);
      }
    });
  }

  it('slowdown: one bar per (workload, mode), coloured by mode, taller for slower modes', () => {
    const bars = [...parse(plots.slowdown).root.querySelectorAll('g[aria-label="bar"] rect')];
    assert.equal(bars.length, workloads.length * MODES.length);
    const fills = new Set(bars.map((b) => b.getAttribute('fill')));
    assert.equal(fills.size, MODES.length);
    // Each bar carries its tooltip: check that the 42x interpreter bar is the cpu group's tallest.
    const cpu = bars.filter((b) => b.querySelector('title')?.textContent?.startsWith('cpu,'));
    const tallest = cpu.reduce((a, b) => (Number(b.getAttribute('height')) > Number(a.getAttribute('height')) ? b : a));
    assert.match(tallest.querySelector('title')?.textContent ?? '', /^cpu, interpret: 42x/);
  });

  it('breakdown: one stacked segment per (workload, mode, part) row', () => {
    const segments = [...parse(plots.breakdown).root.querySelectorAll('g[aria-label="bar"] rect')];
    assert.equal(segments.length, data.breakdown.length);
  });

  it('renders the same bytes for the same input', () => {
    const again = comparisonPlots(sample());
    assert.equal(again.slowdown, plots.slowdown);
    assert.equal(again.breakdown, plots.breakdown);
  });

  it('uses a log axis only past a 20x spread, and says so in the axis label', () => {
    assert.equal(LOG_SCALE_RATIO, 20);
    assert.equal(slowdownScale([1, 42, 1.03, 1.02]), 'log');
    assert.equal(slowdownScale([1, 9.5, 14.2, 2.3]), 'linear');
    assert.equal(slowdownScale([1, 20]), 'linear');
    assert.equal(slowdownScale([0.5, 10.1]), 'log');
    assert.equal(slowdownScale([0, 50]), 'linear', 'zero has no logarithm');
    assert.equal(slowdownScale([]), 'linear');
    const log = parse(plots.slowdown).texts();
    assert.ok(log.some((t) => t.includes('(log scale)')));
    const linear = parse(comparisonPlots(sample((m) => m !== 'interpret')).slowdown).texts();
    assert.ok(linear.some((t) => t.includes('time relative to native')));
    assert.ok(!linear.some((t) => t.includes('log scale')));
  });

  it('escapes names and survives missing and empty input', () => {
    const odd = { ...data, title: 'a <b> & "c"', slowdown: data.slowdown.map((r) => ({ ...r, workload: `${r.workload} & <x>` })) };
    const { texts } = parse(comparisonPlots(odd).slowdown);
    assert.ok(texts().includes('cpu & <x>'));
    const failed = { ...data, slowdown: data.slowdown.map((r, i) => (i === 1 ? { ...r, relative: Number.NaN } : r)) };
    const bars = [...parse(comparisonPlots(failed).slowdown).root.querySelectorAll('g[aria-label="bar"] rect')];
    assert.equal(bars.length, data.slowdown.length - 1, 'a run without a time gets no bar');
    const empty = comparisonPlots({ ...data, slowdown: [], breakdown: [] });
    assert.ok(parse(empty.slowdown).texts().includes('no data'));
    assert.ok(parse(empty.breakdown).texts().includes('no data'));
  });
});

describe('svgToPng', () => {
  const svg = comparisonPlots(sample()).slowdown;

  it('draws a PNG at twice the SVG size with the DejaVu font', { skip: !existsSync(DEJAVU) && `${DEJAVU} is not installed` }, async () => {
    const out = await svgToPng(svg, { fontFile: DEJAVU });
    assert.ok('png' in out, 'skipped' in out ? out.skipped : '');
    assert.deepEqual([...out.png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const ihdr = new DataView(out.png.buffer, out.png.byteOffset);
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    assert.equal(ihdr.getUint32(16), width * 2);
    // The default font list finds the same file here, and initialising twice is harmless.
    const again = await svgToPng(svg);
    assert.ok('png' in again);
  });

  it('skips with a reason when the font file is missing', async () => {
    const out = await svgToPng(svg, { fontFile: '/nonexistent/NoSuchFont.ttf' });
    assert.ok('skipped' in out);
    assert.match(out.skipped, /NoSuchFont\.ttf/);
  });
});
