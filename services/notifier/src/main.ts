#!/usr/bin/env node
import { bootstrapService, onShutdown } from '@portcullis/shared';
import { startNotifier } from './notifier.js';

const boot = await bootstrapService('notifier', process.argv.slice(2));
const service = await startNotifier(boot.ctx);
onShutdown(async () => {
  await service.stop();
  await boot.close();
}, boot.ctx.log);
