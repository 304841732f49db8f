import { spawn } from 'node:child_process';
import { access, constants, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { PortcullisError } from '../errors.js';

/** Where system daemons live on Debian even when PATH (e.g. of a non-login root shell) omits sbin. */
export const SYSTEM_BIN_DIRS: readonly string[] = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin'];

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; resolves with its exit code, rejects only if it cannot be started. */
export type CommandRunner = (cmd: string, args: readonly string[]) => Promise<CommandResult>;

export interface EnsureExecutableOptions {
  /** Install the apt package when the binary is missing (needs root). Default false: never touch the system unasked. */
  install?: boolean;
  log?: (msg: string) => void;
  /** Directories searched after PATH. Default SYSTEM_BIN_DIRS. */
  searchDirs?: readonly string[];
  /** Runs apt-get; injectable so the install flow can be exercised without changing the machine. */
  run?: CommandRunner;
}

/** The absolute path of `binary` found on PATH or in `searchDirs`, or undefined. */
export async function findExecutable(binary: string, searchDirs: readonly string[] = SYSTEM_BIN_DIRS): Promise<string | undefined> {
  if (binary.includes('/')) return (await isExecutableFile(binary)) ? binary : undefined;
  const pathDirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  for (const dir of [...pathDirs, ...searchDirs]) {
    const candidate = join(dir, binary);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The path of `binary`, installing `aptPackage` first when allowed. Throws PC_LOCAL_SERVER with the exact
 * command the user should run when the binary is missing and cannot be installed here.
 */
export async function ensureExecutable(binary: string, aptPackage: string, opts: EnsureExecutableOptions = {}): Promise<string> {
  const searchDirs = opts.searchDirs ?? SYSTEM_BIN_DIRS;
  const found = await findExecutable(binary, searchDirs);
  if (found !== undefined) return found;

  const isRoot = process.getuid?.() === 0;
  if (!opts.install) {
    throw new PortcullisError(
      'PC_LOCAL_SERVER',
      `${binary} was not found on PATH or in ${searchDirs.join(', ')}; install it with: ${isRoot ? '' : 'sudo '}apt-get install -y ${aptPackage}`,
    );
  }
  if (!isRoot) {
    throw new PortcullisError(
      'PC_LOCAL_SERVER',
      `${binary} was not found and installing it needs root; install it with: sudo apt-get install -y ${aptPackage}`,
    );
  }

  const run = opts.run ?? runCommand;
  opts.log?.(`${binary} not found; installing apt package ${aptPackage}`);
  let result = await aptGet(run, ['install', '-y', '--no-install-recommends', aptPackage], aptPackage);
  if (result.code !== 0 && packageListsLookStale(result)) {
    opts.log?.(`apt does not know ${aptPackage}; running apt-get update and retrying`);
    const update = await aptGet(run, ['update'], aptPackage);
    if (update.code !== 0) throw aptFailure('apt-get update', update, aptPackage);
    result = await aptGet(run, ['install', '-y', '--no-install-recommends', aptPackage], aptPackage);
  }
  if (result.code !== 0) throw aptFailure(`apt-get install ${aptPackage}`, result, aptPackage);

  const installed = await findExecutable(binary, searchDirs);
  if (installed === undefined) {
    throw new PortcullisError(
      'PC_LOCAL_SERVER',
      `apt package ${aptPackage} was installed but ${binary} is still not found on PATH or in ${searchDirs.join(', ')}`,
    );
  }
  opts.log?.(`installed ${aptPackage}: ${installed}`);
  return installed;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function aptGet(run: CommandRunner, args: string[], aptPackage: string): Promise<CommandResult> {
  try {
    return await run('apt-get', args);
  } catch (cause) {
    throw new PortcullisError(
      'PC_LOCAL_SERVER',
      `cannot run apt-get to install ${aptPackage} (${(cause as Error).message}); install ${aptPackage} with your package manager`,
      { cause },
    );
  }
}

/** True when apt failed because its package lists are missing or out of date (fresh containers). */
function packageListsLookStale(result: CommandResult): boolean {
  return /Unable to locate package|has no installation candidate|Failed to fetch|404\s+Not Found/i.test(result.stdout + result.stderr);
}

function aptFailure(what: string, result: CommandResult, aptPackage: string): PortcullisError {
  const output = tail(`${result.stdout}\n${result.stderr}`.trim(), 1500);
  return new PortcullisError(
    'PC_LOCAL_SERVER',
    `${what} failed with exit code ${result.code}; install ${aptPackage} manually (apt-get install -y ${aptPackage}). apt output:\n${output}`,
  );
}

function tail(text: string, max: number): string {
  return text.length <= max ? text : `...${text.slice(text.length - max)}`;
}

/** Default CommandRunner: non-interactive, output captured, never rejects on a non-zero exit. */
export function runCommand(cmd: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}
