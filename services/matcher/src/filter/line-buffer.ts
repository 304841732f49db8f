/**
 * Which buffered lines a multi-line match used (fail2ban's Regex.search with orgLines): the lines
 * from the one the match starts in to the one it ends in, minus the lines <SKIPLINES> stepped over.
 * The others stay in the buffer for the next line.
 */
export interface LineSplit {
  matched: string[];
  unmatched: string[];
}

export function matchedLineSplit(org: readonly string[], searched: string, start: number, end: number, skipped: readonly string[]): LineSplit {
  if (org.length <= 1) return { matched: [...org], unmatched: [] };
  const lineStart = searched.lastIndexOf('\n', start) + 1;
  // Python's str.index("\n", end - 1): a negative start counts from the end.
  const from = end - 1 < 0 ? searched.length + (end - 1) : end - 1;
  const nl = searched.indexOf('\n', from);
  const lineEnd = nl < 0 ? searched.length : nl + 1;
  const count1 = countNewlines(searched, lineStart);
  const count2 = countNewlines(searched, lineEnd);
  const matched = org.slice(count1, count2);
  const unmatched = org.slice(0, count1);
  let n = 0;
  for (const skippedLine of skipped) {
    for (let m = 0; m < matched.length - n; m++) {
      if (matched[n + m] === skippedLine) {
        unmatched.push(...matched.splice(n + m, 1));
        n += m;
        break;
      }
    }
  }
  unmatched.push(...org.slice(count2));
  return { matched, unmatched };
}

function countNewlines(s: string, end: number): number {
  let c = 0;
  for (let i = s.indexOf('\n'); i >= 0 && i < end; i = s.indexOf('\n', i + 1)) c++;
  return c;
}
