/**
 * JSON string content straight from UTF-8 bytes: writes what `JSON.stringify(bytes.toString('utf8'))`
 * writes between its quotes, encoded as UTF-8, without building the string. For lines that are not
 * valid UTF-8 (junk, binary, a character cut at maxLineBytes): the rest, nearly all, goes through the
 * much faster json-escaper.ts, which copies UTF-8 as it is and so needs it valid.
 *
 * The output is the same byte for byte, which the tests check on random bytes:
 * - `"` and `\` are escaped, and so is every control character below 0x20 (\b \t \n \f \r by name,
 *   the others as \u00xx in lower-case hex); DEL and everything else is written as it is;
 * - valid UTF-8 is copied;
 * - invalid UTF-8 becomes U+FFFD (EF BF BD), one per maximal subpart of an ill-formed sequence, as
 *   the WHATWG decoder (and so Buffer#toString) does. Lone surrogates cannot come out of a decoder,
 *   so JSON.stringify's \udxxx escapes never apply.
 */

/** Worst case of output bytes per input byte: a control character becomes \u00xx. */
export const JSON_BYTES_PER_BYTE = 6;

const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/**
 * Writes src[s, e) as JSON string content into out at o; returns the new end. `out` must have
 * room for JSON_BYTES_PER_BYTE * (e - s) bytes from o.
 */
export function writeJsonStringBytes(src: Uint8Array, s: number, e: number, out: Uint8Array, o: number): number {
  let i = s;
  while (i < e) {
    const c = src[i] as number;
    // Printable ASCII other than " and \: nearly every byte of a log line.
    if (c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x5c) {
      out[o++] = c;
      i++;
    } else if (c < 0x80) {
      o = writeEscape(c, out, o);
      i++;
    } else {
      const n = utf8Sequence(src, i, e);
      if (n > 0) {
        for (let k = 0; k < n; k++) out[o + k] = src[i + k] as number;
        o += n;
        i += n;
      } else {
        out[o] = 0xef;
        out[o + 1] = 0xbf;
        out[o + 2] = 0xbd;
        o += 3;
        i -= n;
      }
    }
  }
  return o;
}

function writeEscape(c: number, out: Uint8Array, o: number): number {
  out[o] = 0x5c;
  let named = 0;
  if (c === 0x22 || c === 0x5c) named = c;
  else if (c === 0x08) named = 0x62; // b
  else if (c === 0x09) named = 0x74; // t
  else if (c === 0x0a) named = 0x6e; // n
  else if (c === 0x0c) named = 0x66; // f
  else if (c === 0x0d) named = 0x72; // r
  if (named !== 0) {
    out[o + 1] = named;
    return o + 2;
  }
  out[o + 1] = 0x75; // u
  out[o + 2] = 0x30;
  out[o + 3] = 0x30;
  out[o + 4] = HEX[c >> 4] as number;
  out[o + 5] = HEX[c & 15] as number;
  return o + 6;
}

/**
 * At a byte >= 0x80: the length of the well-formed sequence starting there (positive), or minus
 * the length of the ill-formed maximal subpart to replace by one U+FFFD (Unicode 3.9, table 3-7).
 */
function utf8Sequence(b: Uint8Array, i: number, e: number): number {
  const c = b[i] as number;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 1;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else {
    return -1;
  }
  let j = i + 1;
  for (let k = 0; k < need; k++, j++) {
    if (j >= e) return i - j;
    const d = b[j] as number;
    if (d < lo || d > hi) return i - j;
    lo = 0x80;
    hi = 0xbf;
  }
  return need + 1;
}
