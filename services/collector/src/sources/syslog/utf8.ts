const decoder = new TextDecoder('utf-8', { fatal: false });

/** Invalid UTF-8 becomes U+FFFD: a line is never dropped for its encoding. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * The first `max` bytes of `bytes`, moved back so a multi-byte character is never cut in half (a cut
 * character would otherwise turn into U+FFFD at the end of every truncated message).
 */
export function cutUtf8(bytes: Buffer, max: number): Buffer {
  if (bytes.length <= max) return bytes;
  // bytes[max] is where the cut falls; a continuation byte (10xxxxxx) there means a character
  // straddles it: cut before that character's lead byte instead (at most 3 steps back in UTF-8).
  let end = max;
  while (end > 0 && max - end < 3 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  if (((bytes[end] as number) & 0xc0) === 0x80) end = max;
  return bytes.subarray(0, end);
}
