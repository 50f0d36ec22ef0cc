import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { decodeUtf8, encodeUtf8 } from './utf8.ts';

it('encodes like the platform TextEncoder and round-trips any string', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), (s) => {
      const mine = encodeUtf8(s);
      assert.deepEqual(mine, new TextEncoder().encode(s));
      assert.equal(decodeUtf8(mine), s);
    }),
  );
});

it('decodes arbitrary bytes like TextDecoder (malformed input becomes U+FFFD)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      assert.equal(decodeUtf8(bytes), new TextDecoder().decode(bytes));
    }),
  );
});
