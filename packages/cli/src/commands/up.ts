import { describeError, loadConfig, onShutdown } from '@portcullis/shared';
import { startStack } from '../stack.js';

export async function upCommand(opts: { config: string; state: string; fromStart?: boolean }): Promise<void> {
  const config = loadConfig(opts.config);
  const stack = await startStack({ config, stateDir: opts.state, fromStart: opts.fromStart ?? false });
  onShutdown(async () => {
    await stack.stop();
  }, stack.log);
  process.on('uncaughtException', (e) => {
    stack.log.fatal({ err: describeError(e) }, 'uncaught exception; stopping');
    void stack.stop().finally(() => process.exit(5));
  });
}
