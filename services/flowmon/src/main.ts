#!/usr/bin/env node
import { bootstrapService, onShutdown } from '@portcullis/shared';
import { startFlowmon } from './flowmon.js';

const boot = await bootstrapService('flowmon', process.argv.slice(2));
const service = await startFlowmon(boot.ctx);
onShutdown(async () => {
  await service.stop();
  await boot.close();
}, boot.ctx.log);
