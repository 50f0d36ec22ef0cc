/**
 * UTF-8 encoding and decoding for strings crossing between the host and a guest program
 * (paths, argv, environment). Written here because the platform-neutral core may use neither
 * Node's Buffer nor the Web's TextEncoder.
 */

export function encodeUtf8(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

/**
 * Decodes UTF-8 with the WHATWG Encoding standard's algorithm (section 9.1.1), so malformed
 * input yields exactly the U+FFFD replacements TextDecoder would produce.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  let s = '';
  let needed = 0;
  let seen = 0;
  let cp = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for (let k = 0; k < bytes.length; k++) {
    const b = bytes[k]!;
    if (needed === 0) {
      if (b <= 0x7f) s += String.fromCharCode(b);
      else if (b >= 0xc2 && b <= 0xdf) {
        needed = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
        needed = 2;
        cp = b & 0xf;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
        needed = 3;
        cp = b & 0x7;
      } else s += '\ufffd';
      continue;
    }
    if (b < lower || b > upper) {
      // An unexpected byte ends the sequence; the byte itself is looked at again.
      needed = seen = cp = 0;
      lower = 0x80;
      upper = 0xbf;
      s += '\ufffd';
      k--;
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    cp = (cp << 6) | (b & 0x3f);
    if (++seen === needed) {
      s += String.fromCodePoint(cp);
      needed = seen = cp = 0;
    }
  }
  return needed !== 0 ? `${s}\ufffd` : s;
}
