import { sweepStaleNetns } from './harness/netns.js';

const log = (msg: string): void => console.warn(`[global-setup] ${msg}`);

/** Deletes `pct*` namespaces left by crashed runs, before the run and again after it. */
export async function setup(): Promise<void> {
  await sweepStaleNetns({ log });
}

export async function teardown(): Promise<void> {
  await sweepStaleNetns({ log });
}
