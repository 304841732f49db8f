import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PortcullisError, type Logger } from '@portcullis/shared';
import { decodeJailName, encodeJailName } from '../names.js';

/** One address a command action has banned (its actionban ran, or was skipped as `norestored`). */
export interface AppliedBan {
  /** Epoch ms the ban ends, null = permanent. */
  until: number | null;
  /** Applied by a reconcile after a restart (fail2ban's "restored" ticket). */
  restored: boolean;
}

interface StateFile {
  v: 1;
  jail: string;
  action: string;
  applied: Record<string, AppliedBan>;
}

/** `<stateDir>/actions`: one directory per jail, one file per command action. */
export function actionStateRoot(stateDir: string): string {
  return path.join(stateDir, 'actions');
}

/**
 * What a command action has applied, kept on disk: a command action cannot be asked what it holds
 * (unlike the kernel), and bans outlive a banner restart, so the next start must know which
 * addresses to unban and which not to ban twice. Written atomically after every change.
 */
export class ActionState {
  readonly applied = new Map<string, AppliedBan>();

  private constructor(
    readonly file: string,
    private readonly jail: string,
    private readonly action: string,
  ) {}

  static load(stateDir: string, jail: string, action: string, log: Logger): ActionState {
    const file = path.join(actionStateRoot(stateDir), encodeJailName(jail), `${encodeJailName(action)}.json`);
    const state = new ActionState(file, jail, action);
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new PortcullisError('PC_FIREWALL', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
    }
    if (text !== undefined) {
      try {
        const parsed = JSON.parse(text) as StateFile;
        for (const [ip, b] of Object.entries(parsed.applied ?? {})) {
          if (b && (b.until === null || typeof b.until === 'number')) state.applied.set(ip, { until: b.until, restored: b.restored === true });
        }
      } catch (e) {
        // A damaged file must not stop the banner: the next reconcile bans again what is missing.
        log.warn({ file, err: (e as Error).message }, 'command action state unreadable; starting from empty');
      }
    }
    return state;
  }

  save(): void {
    const body: StateFile = { v: 1, jail: this.jail, action: this.action, applied: Object.fromEntries(this.applied) };
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(body));
      renameSync(tmp, this.file);
    } catch (e) {
      throw new PortcullisError('PC_FIREWALL', `cannot write ${this.file}: ${(e as Error).message}`, { cause: e });
    }
  }

  remove(): void {
    rmSync(this.file, { force: true });
  }
}

/** State files on disk as (jail, action) pairs, for finding those of actions no longer configured. */
export function listActionStates(stateDir: string): { jail: string; action: string; file: string }[] {
  const root = actionStateRoot(stateDir);
  const out: { jail: string; action: string; file: string }[] = [];
  let jails: string[];
  try {
    jails = readdirSync(root);
  } catch {
    return out;
  }
  for (const dir of jails) {
    const jail = decodeJailName(dir);
    if (jail === undefined) continue;
    let files: string[];
    try {
      files = readdirSync(path.join(root, dir));
    } catch {
      continue;
    }
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      const action = decodeJailName(f.slice(0, -'.json'.length));
      if (action !== undefined) out.push({ jail, action, file: path.join(root, dir, f) });
    }
  }
  return out;
}
