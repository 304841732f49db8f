import { PortcullisError } from '../errors.js';
import { execNft, execNftDocument, findNftBinary } from './exec-nft.js';
import { loadLibnftables, LIBNFTABLES_SONAME, type LibnftablesContext, type NftRunResult } from './libnftables.js';
import { nftFailure, type NftTransport } from './nft-error.js';
import type { NftCommand, NftDocument, NftElement, NftListTarget, NftObject } from './nft-json.js';

export type { NftTransport } from './nft-error.js';

export interface NftClient {
  readonly transport: NftTransport;
  /** Applies all commands as one atomic nft transaction (one JSON document); all or nothing. */
  run(commands: NftCommand[]): Promise<void>;
  /** Lists one object (table, set, chain, tables, ruleset); the metainfo entry is left out. */
  list(what: NftListTarget): Promise<NftObject[]>;
  close(): void;
}

const LIST_ATTEMPTS = 5;

function hasRepeatedElement(elems: readonly NftElement[]): boolean {
  const seen = new Set<string>();
  for (const e of elems) {
    const key = JSON.stringify(typeof e === 'object' && 'elem' in e ? e.elem.val : e);
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}

export interface CreateNftClientOptions {
  /** Which transport to try first; the other is the fallback. Default: libnftables. */
  prefer?: NftTransport;
  libraryPath?: string;
  nftPath?: string;
  /** Told why the preferred transport was not used. */
  onFallback?: (reason: string) => void;
}

/**
 * An nft client on the preferred transport, falling back to the other one when the preferred one
 * cannot be used (library not loadable, binary missing). Throws PC_FIREWALL_UNAVAILABLE when neither works.
 */
export async function createNftClient(opts: CreateNftClientOptions = {}): Promise<NftClient> {
  const order: NftTransport[] = opts.prefer === 'nft-binary' ? ['nft-binary', 'libnftables'] : ['libnftables', 'nft-binary'];
  const failures: string[] = [];
  for (const transport of order) {
    try {
      const client = transport === 'libnftables' ? openLibnftablesClient(opts.libraryPath) : await openBinaryClient(opts.nftPath);
      if (failures.length > 0) opts.onFallback?.(failures.join('; '));
      return client;
    } catch (e) {
      failures.push(`${transport}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new PortcullisError('PC_FIREWALL_UNAVAILABLE', `neither libnftables nor the nft binary is usable (${failures.join('; ')})`);
}

/** In-process client. Calls run on a worker thread, one at a time (see LibnftablesContext). */
export function openLibnftablesClient(libraryPath: string = LIBNFTABLES_SONAME): NftClient {
  let ctx: LibnftablesContext;
  try {
    ctx = loadLibnftables(libraryPath).newContext();
  } catch (e) {
    throw new Error(`${libraryPath}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return new DocumentClient('libnftables', (doc) => ctx.run(doc), () => ctx.free());
}

/** Client that runs `nft -j -f <file>` per transaction. Checks that the binary runs before returning. */
export async function openBinaryClient(nftPath: string | undefined = findNftBinary()): Promise<NftClient> {
  if (!nftPath) throw new Error('nft not found on PATH or in /usr/sbin, /sbin');
  let probe: NftRunResult;
  try {
    probe = await execNft(nftPath, ['--version'], undefined, { timeoutMs: 10_000 });
  } catch (e) {
    throw new Error(`${nftPath}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (probe.rc !== 0) throw new Error(`${nftPath} --version exited with ${probe.rc}: ${probe.error.trim()}`);
  return new DocumentClient('nft-binary', (doc) => execNftDocument(nftPath, doc), () => undefined);
}

type Runner = (doc: string) => Promise<NftRunResult>;

class DocumentClient implements NftClient {
  private closed = false;

  constructor(
    readonly transport: NftTransport,
    private readonly runner: Runner,
    private readonly onClose: () => void,
  ) {}

  async run(commands: NftCommand[]): Promise<void> {
    if (commands.length === 0) return;
    await this.exec({ nftables: commands });
  }

  /**
   * A netlink dump of a large set can come back inconsistent when the kernel interrupts it (seen
   * here under load: 50,000 elements with some listed twice and others missing). A set listing with
   * a repeated element is such a dump: read again, and fail rather than return a wrong listing.
   */
  async list(what: NftListTarget): Promise<NftObject[]> {
    const doc: NftDocument = { nftables: [{ list: what }] };
    for (let attempt = 1; ; attempt++) {
      const objects = parseListOutput(this.transport, await this.exec(doc));
      const torn = objects.find((o) => o.set?.elem && hasRepeatedElement(o.set.elem));
      if (!torn) return objects;
      if (attempt >= LIST_ATTEMPTS) {
        throw new PortcullisError('PC_FIREWALL', `nft (${this.transport}) listed set ${torn.set!.name} inconsistently ${LIST_ATTEMPTS} times in a row`);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  private async exec(doc: NftDocument): Promise<string> {
    if (this.closed) throw new PortcullisError('PC_FIREWALL', `nft client (${this.transport}) is closed`);
    let result: NftRunResult;
    try {
      result = await this.runner(JSON.stringify(doc));
    } catch (e) {
      throw new PortcullisError('PC_FIREWALL', `nft (${this.transport}) could not run: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    if (result.rc !== 0) throw nftFailure(this.transport, doc, result.rc, result.error);
    return result.output;
  }
}

function parseListOutput(transport: NftTransport, output: string): NftObject[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch (e) {
    throw new PortcullisError('PC_FIREWALL', `nft (${transport}) printed output that is not JSON: ${output.slice(0, 200)}`, { cause: e });
  }
  const items = (parsed as { nftables?: unknown }).nftables;
  if (!Array.isArray(items)) {
    throw new PortcullisError('PC_FIREWALL', `nft (${transport}) output has no "nftables" array: ${output.slice(0, 200)}`);
  }
  return (items as NftObject[]).filter((o) => o.metainfo === undefined);
}
