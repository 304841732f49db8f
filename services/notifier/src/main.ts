#!/usr/bin/env node
import { bootstrapService, describeError, onShutdown } from '@portcullis/shared';
import { startNotifier } from './notifier.js';

const boot = await bootstrapService('notifier', process.argv.slice(2));
let service;
try {
  service = await startNotifier(boot.ctx);
} catch (e) {
  // A bad [notifier] section is reported like any config error: file:line, exit status 2.
  process.stderr.write(`portcullis notifier: ${describeError(e)}\n`);
  await boot.close();
  process.exit(2);
}
const running = service;
onShutdown(async () => {
  await running.stop();
  await boot.close();
}, boot.ctx.log);
