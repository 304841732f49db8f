#!/usr/bin/env node
import { bootstrapService, onShutdown } from '@portcullis/shared';
import { startMatcher } from './matcher.js';

const boot = await bootstrapService('matcher', process.argv.slice(2));
const service = await startMatcher(boot.ctx);
onShutdown(async () => {
  await service.stop();
  await boot.close();
}, boot.ctx.log);
