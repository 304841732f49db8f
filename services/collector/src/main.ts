#!/usr/bin/env node
import { bootstrapService, onShutdown } from '@portcullis/shared';
import { startCollector } from './collector.js';

const boot = await bootstrapService('collector', process.argv.slice(2));
const service = await startCollector(boot.ctx);
onShutdown(async () => {
  await service.stop();
  await boot.close();
}, boot.ctx.log);
