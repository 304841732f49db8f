import { isAbsolute } from 'node:path';
import { PortcullisError } from '@portcullis/shared';
import { glob, isDynamicPattern } from 'tinyglobby';

export interface FilePattern {
  /** A `logpath` value: an absolute path, possibly with glob characters (`/var/log/*\/access.log`). */
  glob: string;
  jails: string[];
  /** Read existing content on first start instead of starting at the end. */
  fromStart: boolean;
}

export interface PatternPlan extends FilePattern {
  /** The longest leading directory without glob characters: watched for new entries. */
  base: string;
  /** The glob relative to base, or null when the pattern is a plain path. */
  rest: string | null;
}

export interface FileMatch {
  path: string;
  jails: string[];
  fromStart: boolean;
  /** Named literally by some pattern: kept while absent, waiting for it to appear. */
  literal: boolean;
}

export function planPatterns(patterns: FilePattern[]): PatternPlan[] {
  return patterns.map((p) => {
    if (!isAbsolute(p.glob)) {
      throw new PortcullisError('PC_CONFIG_INVALID', `logpath must be an absolute path, got "${p.glob}"`);
    }
    const parts = p.glob.split('/');
    const firstDynamic = parts.findIndex((s) => isDynamicPattern(s));
    if (firstDynamic === -1) return { ...p, base: parts.slice(0, -1).join('/') || '/', rest: null };
    return { ...p, base: parts.slice(0, firstDynamic).join('/') || '/', rest: parts.slice(firstDynamic).join('/') };
  });
}

/** Expands every pattern now. A path matched by several patterns gets the union of their jails. */
export async function expandPatterns(plans: PatternPlan[]): Promise<Map<string, FileMatch>> {
  const out = new Map<string, FileMatch>();
  const add = (path: string, plan: PatternPlan, literal: boolean): void => {
    const m = out.get(path);
    if (!m) {
      out.set(path, { path, jails: [...plan.jails], fromStart: plan.fromStart, literal });
      return;
    }
    for (const j of plan.jails) if (!m.jails.includes(j)) m.jails.push(j);
    m.fromStart ||= plan.fromStart;
    m.literal ||= literal;
  };
  for (const plan of plans) {
    if (plan.rest === null) {
      add(plan.glob, plan, true);
      continue;
    }
    let paths: string[];
    try {
      paths = await glob(plan.rest, { cwd: plan.base, absolute: true, followSymbolicLinks: true, expandDirectories: false, onlyFiles: true });
    } catch {
      // The base directory does not exist (yet): nothing matches now; the next scan tries again.
      paths = [];
    }
    for (const p of paths) add(p, plan, false);
  }
  return out;
}
