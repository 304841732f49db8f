import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PortcullisError } from '../errors.js';
import { INCLUDES_SECTION, mergeIni, parseIni } from './ini.js';
import { interpolate, sectionLookup } from './interpolation.js';
import type { IniSections } from './types.js';

/** What fail2ban reads for one configuration name (e.g. `jail`, `filter.d/sshd`). */
export interface ConfigStack {
  /** All files merged in read order, with `KNOWN/<section>` holding overridden values. */
  sections: IniSections;
  /** The files read, in order (includes expanded); empty when nothing exists for the name. */
  files: string[];
  /** `[INCLUDES]` entries that name files which do not exist (fail2ban skips them silently). */
  missing: string[];
}

/**
 * The top-level files fail2ban's ConfigReader reads for `name` under `dir`, in its order:
 * name.conf, name.d/*.conf (sorted), name.local, name.d/*.local (sorted); existing files only.
 */
export function configStackFiles(dir: string, name: string): string[] {
  const base = path.join(dir, name);
  const dropIn = `${base}.d`;
  return [`${base}.conf`, ...sortedDropIns(dropIn, '.conf'), `${base}.local`, ...sortedDropIns(dropIn, '.local')].filter(isFile);
}

/**
 * Reads `name` the way fail2ban does: the stack of files above, each preceded by its
 * `[INCLUDES] before =` files and followed by its `after =` files (recursively, each include also
 * pulling in its own `.local`), merged in that order. An include cycle is an error.
 */
export function readConfigStack(dir: string, name: string): ConfigStack {
  const reader = new StackReader();
  const order = reader.withLocals(configStackFiles(dir, name)).flatMap((f) => reader.includesOf(f, []));
  const sections: IniSections = new Map();
  for (const file of order) mergeIni(sections, reader.parse(file));
  return { sections, files: order, missing: reader.missing };
}

/** Parses each file once per stack (a file included from two places is merged twice, as in fail2ban). */
class StackReader {
  readonly missing: string[] = [];
  private readonly parsed = new Map<string, IniSections>();

  parse(file: string): IniSections {
    const cached = this.parsed.get(file);
    if (cached) return cached;
    const sections = parseIni(readText(file), file);
    this.parsed.set(file, sections);
    return sections;
  }

  /** fail2ban's _expandConfFilesWithLocal: `x.conf` is followed by `x.local` when that exists. */
  withLocals(files: string[]): string[] {
    const out: string[] = [];
    for (const file of files) {
      out.push(file);
      const local = file.slice(0, file.length - path.extname(file).length) + '.local';
      if (!files.includes(local) && isFile(local)) out.push(local);
    }
    return out;
  }

  includesOf(file: string, ancestors: string[]): string[] {
    if (!isFile(file)) {
      this.missing.push(file);
      return [];
    }
    const sections = this.parse(file);
    const includes = sections.get(INCLUDES_SECTION);
    const lists: Record<'before' | 'after', string[]> = { before: [], after: [] };
    if (includes) {
      const chain = [...ancestors, file];
      for (const option of ['before', 'after'] as const) {
        const entry = includes.get(option);
        if (!entry) continue;
        // Include lists are interpolated within the including file alone, as fail2ban does.
        const value = interpolate(entry.value, sectionLookup(sections, INCLUDES_SECTION), entry.ref, {
          option,
          section: INCLUDES_SECTION,
        });
        for (const item of value.split(/\s+/).filter((s) => s !== '')) {
          const target = path.isAbsolute(item) ? item : path.join(path.dirname(file), item);
          // A file's .local comes along with it, so it can close a cycle too.
          for (const f of this.withLocals([target])) {
            const resolved = path.resolve(f);
            const loopStart = chain.findIndex((c) => path.resolve(c) === resolved);
            if (loopStart >= 0) {
              const last = f === target ? path.basename(f) : `${path.basename(target)}, which brings ${path.basename(f)}`;
              const loop = [...chain.slice(loopStart).map((c) => path.basename(c)), last].join(' -> ');
              throw new PortcullisError('PC_CONFIG_INVALID', `[INCLUDES] ${option} = ${item} makes an include cycle (${loop}): remove one of these includes`, {
                location: entry.ref,
              });
            }
            lists[option].push(...this.includesOf(f, chain));
          }
        }
      }
    }
    return [...lists.before, file, ...lists.after];
  }
}

function sortedDropIns(dir: string, ext: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  // glob('*.conf') skips dot files; Python's sorted() compares code points, as does a plain sort.
  return names
    .filter((n) => !n.startsWith('.') && n.endsWith(ext))
    .map((n) => path.join(dir, n))
    .sort();
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function readText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new PortcullisError('PC_CONFIG_NOT_FOUND', `cannot read ${file}: ${(e as Error).message}`, { cause: e, location: { file } });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new PortcullisError('PC_CONFIG_PARSE', 'the file is not valid UTF-8: save it as UTF-8', { cause: e, location: { file } });
  }
}
