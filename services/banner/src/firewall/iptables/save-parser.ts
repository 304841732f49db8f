/** One `-A` line of `iptables-save`, with the parts ownership decisions need. */
export interface SavedRule {
  chain: string;
  /** The rule specification exactly as saved (after `-A <chain> `); `-D <chain> <spec>` deletes it. */
  spec: string;
  /** The `-j` / `-g` target. */
  target?: string;
  /** ipset names the rule matches (`-m set --match-set <name> ...`). */
  matchSets: string[];
  comment?: string;
}

export interface SavedTable {
  /** Every chain declared in the table (built-in and user). */
  chains: Set<string>;
  rules: SavedRule[];
}

/**
 * The filter table as `iptables-save -t filter` prints it. Only the one table's block is read;
 * other tables, counters and comments are ignored.
 */
export function parseIptablesSave(text: string, table = 'filter'): SavedTable {
  const out: SavedTable = { chains: new Set(), rules: [] };
  let inTable = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      inTable = line.slice(1) === table;
      continue;
    }
    if (!inTable) continue;
    if (line === 'COMMIT') {
      inTable = false;
      continue;
    }
    if (line.startsWith(':')) {
      const name = line.slice(1).split(/\s+/)[0];
      if (name) out.chains.add(name);
      continue;
    }
    const m = /^-A\s+(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    out.rules.push(describeRule(m[1]!, m[2]!));
  }
  return out;
}

function describeRule(chain: string, spec: string): SavedRule {
  const words = splitWords(spec);
  const rule: SavedRule = { chain, spec, matchSets: [] };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const next = words[i + 1];
    if (next === undefined) break;
    if (w === '-j' || w === '-g' || w === '--jump' || w === '--goto') rule.target = next;
    else if (w === '--match-set') rule.matchSets.push(next);
    else if (w === '--comment') rule.comment = next;
  }
  return rule;
}

/** iptables-save's quoting: words split at blanks, `"..."` groups, `\` escapes the next character. */
export function splitWords(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && /\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}
