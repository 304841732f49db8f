import { isPortcullisError } from '@portcullis/shared/client';

/** Exit statuses a script can rely on (documented in docs/cli.md). */
export const EXIT = {
  OK: 0,
  /** The command ran but did not do everything asked (e.g. a trusted address was refused). */
  PARTIAL: 1,
  /** Bad usage or invalid configuration. */
  USAGE: 2,
  /** `regex`: the filter cannot be run at all. */
  FILTER: 3,
  /** No running Portcullis could be reached. */
  NOT_RUNNING: 4,
  /** Any other failure. */
  FAILURE: 5,
} as const;

export function exitCodeFor(e: unknown): number {
  if (isPortcullisError(e)) {
    switch (e.code) {
      case 'PC_CONFIG_PARSE':
      case 'PC_CONFIG_INVALID':
      case 'PC_CONFIG_INTERPOLATION':
      case 'PC_CONFIG_NOT_FOUND':
      case 'PC_JAIL_UNKNOWN':
      case 'PC_ADDRESS_INVALID':
        return EXIT.USAGE;
      case 'PC_FILTER_NOT_FOUND':
      case 'PC_FILTER_INVALID':
        return EXIT.FILTER;
      case 'PC_STACK_NOT_RUNNING':
      case 'PC_NATS_UNAVAILABLE':
        return EXIT.NOT_RUNNING;
      default:
        return EXIT.FAILURE;
    }
  }
  return EXIT.FAILURE;
}
