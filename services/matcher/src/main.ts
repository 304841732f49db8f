#!/usr/bin/env node
import { bootstrapService, connectRedis, onShutdown } from '@portcullis/shared';
import { startMatcher } from './matcher.js';

const boot = await bootstrapService('matcher', process.argv.slice(2));
// Redis holds multi-line state between batches, so any number of matcher instances can run.
const redis = await connectRedis(boot.redisUrl, boot.ctx.log);
const service = await startMatcher(boot.ctx, { redis });
onShutdown(async () => {
  await service.stop();
  redis.disconnect();
  await boot.close();
}, boot.ctx.log);
