import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { NftRunResult } from './libnftables.js';

/** Where `nft` lives when PATH lacks the sbin directories (services started by systemd usually have them). */
const SBIN_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

/** The first executable `nft` on PATH or in the sbin directories, or undefined. */
export function findNftBinary(pathEnv: string | undefined = process.env.PATH): string | undefined {
  const dirs = [...(pathEnv ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, 'nft');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export interface ExecNftOptions {
  /** Kill nft after this long; a transaction of 50,000 elements takes well under a second. */
  timeoutMs?: number;
}

/**
 * Runs `nft -j -f <file>` on a private temporary file holding `document`. Not `-f -`: nft opens
 * /dev/stdin by name, which fails (ENXIO) when stdin is a socket, as Node's child stdio pipes are.
 */
export async function execNftDocument(nftPath: string, document: string, opts: ExecNftOptions = {}): Promise<NftRunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-nft-'));
  try {
    const file = join(dir, 'transaction.json');
    await writeFile(file, document, { mode: 0o600 });
    return await execNft(nftPath, ['-f', file], undefined, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `nft -j <args>` with `input` on stdin. Resolves with the exit status and what nft printed;
 * rejects only when nft could not be started or was killed.
 */
export function execNft(nftPath: string, args: string[], input: string | undefined, opts: ExecNftOptions = {}): Promise<NftRunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(nftPath, ['-j', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => reject(new Error(`nft ${args.join(' ')} did not finish within ${timeoutMs} ms`)));
    }, timeoutMs);
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // nft may exit before reading all of stdin (e.g. on a parse error); its exit status tells the story.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => finish(() => reject(e)));
    child.on('close', (code, signal) => {
      finish(() => {
        if (code === null) {
          reject(new Error(`nft was killed by ${signal ?? 'a signal'}`));
          return;
        }
        resolve({ rc: code, output: Buffer.concat(out).toString('utf8'), error: Buffer.concat(err).toString('utf8') });
      });
    });
    child.stdin.end(input ?? '');
  });
}
