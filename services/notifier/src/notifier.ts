import { CONTRACTS, consumeDurable, type Consumption, type Service, type ServiceContext } from '@portcullis/shared';

/**
 * The notifier consumes ban decisions and flood alerts from JetStream. Until its channels
 * (email, webhooks) land, it records each event in its log so an operator sees what it would send.
 */
export async function startNotifier(ctx: ServiceContext): Promise<Service> {
  const { bus, log } = ctx;
  const consumptions: Consumption[] = [];
  consumptions.push(
    await consumeDurable(bus, {
      stream: 'decisions',
      durable: 'notifier',
      deliver: 'new',
      contract: CONTRACTS.decision,
      spanName: 'notifier.decision',
      handler: async (d) => {
        log.info({ kind: d.kind, jail: d.jail, ip: d.ip, until: d.until ?? null, origin: d.origin, reason: d.reason }, `notify: ${d.kind} ${d.ip} in ${d.jail}`);
      },
    }),
  );
  consumptions.push(
    await consumeDurable(bus, {
      stream: 'flowAlerts',
      durable: 'notifier',
      deliver: 'new',
      contract: CONTRACTS.flowAlert,
      spanName: 'notifier.flow-alert',
      handler: async (a) => {
        log.info({ phase: a.phase, attack: a.attack, rate: a.rate, baseline: a.baseline, host: a.host }, `notify: flood ${a.phase} ${a.attack}`);
      },
    }),
  );
  log.info('notifier started');
  return {
    name: 'notifier',
    stop: async () => {
      await Promise.all(consumptions.map((c) => c.stop()));
    },
  };
}
