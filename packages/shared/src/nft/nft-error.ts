import { PortcullisError } from '../errors.js';
import { describeCommand, type NftDocument } from './nft-json.js';

export type NftTransport = 'libnftables' | 'nft-binary';

/** What nft itself reported; kept as the `cause` of the PortcullisError callers see. */
export class NftCommandError extends Error {
  constructor(
    readonly transport: NftTransport,
    readonly rc: number,
    readonly errorText: string,
  ) {
    super(`nft (${transport}) exited with ${rc}: ${errorText.trim() || 'no error text'}`);
    this.name = 'NftCommandError';
  }
}

/** How many commands an error message names before it says "and N more". */
const DESCRIBED_COMMANDS = 4;

export function nftFailure(transport: NftTransport, doc: NftDocument, rc: number, errorText: string): PortcullisError {
  const text = cleanErrorText(errorText) || `exit status ${rc}`;
  const cmds = doc.nftables.slice(0, DESCRIBED_COMMANDS).map(describeCommand);
  const more = doc.nftables.length - cmds.length;
  const what = cmds.join('; ') + (more > 0 ? `; and ${more} more` : '');
  return new PortcullisError('PC_FIREWALL', `nft transaction failed (${transport}): ${text} [${what}]`, {
    cause: new NftCommandError(transport, rc, errorText),
  });
}

/**
 * libnftables prefixes JSON-input errors with a meaningless "internal:0:0-0:" location and
 * separates messages with blank lines; keep one line per message.
 */
function cleanErrorText(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/^internal:0:0-0:\s*/, '').trim())
    .filter(Boolean)
    .join(' | ');
}
