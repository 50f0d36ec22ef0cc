/**
 * SVG to PNG for the Node front-ends, with resvg compiled to WebAssembly (no native addon, no
 * install script). resvg draws text only with the fonts it is handed and the figures are mostly
 * labels, so a system DejaVu or Liberation Sans is loaded; without one the PNG is skipped with a
 * reason instead of being drawn without its text.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Resvg, initWasm } from '@resvg/resvg-wasm';

/** Where distributions put a sans-serif font the figures' `font-family` names, first found wins. */
export const FONT_FILES: readonly string[] = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', // Debian, Ubuntu: fonts-dejavu-core
  '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf', // Fedora: dejavu-sans-fonts
  '/usr/share/fonts/TTF/DejaVuSans.ttf', // Arch: ttf-dejavu
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf', // Debian, Ubuntu: fonts-liberation
  '/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf', // Fedora: liberation-sans-fonts
];

/** Output pixels per SVG unit: sharp on high-density screens and in slides. */
const SCALE = 2;

/**
 * The wasm module can be initialised once per process (a second initWasm throws), so every call
 * shares this promise; a failed start is kept too, since retrying the same bytes cannot help.
 */
let ready: Promise<void> | undefined;

function startResvg(): Promise<void> {
  const wasm = readFileSync(createRequire(import.meta.url).resolve('@resvg/resvg-wasm/index_bg.wasm'));
  return initWasm(wasm);
}

/**
 * Renders an SVG document to PNG at twice its size, with `fontFile` (default: the first of
 * FONT_FILES that exists) for all text. Returns `skipped` with a reason when there is no font;
 * throws on an SVG that is not well-formed.
 */
export async function svgToPng(svg: string, options?: { fontFile?: string }): Promise<{ png: Uint8Array } | { skipped: string }> {
  const fontFile = options?.fontFile ?? FONT_FILES.find((f) => existsSync(f));
  if (fontFile === undefined) {
    return { skipped: `no font file found (install fonts-dejavu-core or fonts-liberation); looked in ${FONT_FILES.join(', ')}` };
  }
  if (!existsSync(fontFile)) return { skipped: `font file ${fontFile} not found` };
  const font = readFileSync(fontFile);
  await (ready ??= startResvg());
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: SCALE },
    // The wasm build sees no system fonts: the one file given is every family there is.
    font: { fontBuffers: [font] },
  });
  try {
    const image = resvg.render();
    try {
      return { png: image.asPng() };
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}
