import { CONTRACTS, publishDurable, subjectFor, SUBJECTS, type BanDecisionV1, type Bus } from '@portcullis/shared';

export function publishDecision(bus: Bus, d: BanDecisionV1): Promise<void> {
  return publishDurable(bus, CONTRACTS.decision, subjectFor(SUBJECTS.decisions, d.jail), d, d.id);
}

/** Publishes many decisions with bounded concurrency (a mass ban must not open 50,000 requests at once). */
export async function publishDecisions(bus: Bus, ds: BanDecisionV1[], concurrency = 512): Promise<void> {
  for (let i = 0; i < ds.length; i += concurrency) {
    await Promise.all(ds.slice(i, i + concurrency).map((d) => publishDecision(bus, d)));
  }
}
