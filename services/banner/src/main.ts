#!/usr/bin/env node
import { bootstrapService, connectRedis, onShutdown } from '@portcullis/shared';
import { startBanner } from './banner.js';

const boot = await bootstrapService('banner', process.argv.slice(2));
const redis = await connectRedis(boot.redisUrl, boot.ctx.log);
const service = await startBanner(boot.ctx, { redis });
onShutdown(async () => {
  await service.stop();
  redis.disconnect();
  await boot.close();
}, boot.ctx.log);
