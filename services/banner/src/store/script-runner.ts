import { createHash } from 'node:crypto';
import { describeError, PortcullisError, type Redis } from '@portcullis/shared';

export interface LuaScript {
  name: string;
  source: string;
  sha: string;
}

export function defineScript(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * EVALSHA, and on NOSCRIPT (first use, or a Redis restart emptied the script cache) SCRIPT LOAD and
 * retry once; if the cache was emptied again in between, EVAL the source.
 */
export async function runScript(redis: Redis, script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    try {
      return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!isNoScript(e)) throw e;
    }
    await redis.script('LOAD', script.source);
    try {
      return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!isNoScript(e)) throw e;
    }
    return await redis.eval(script.source, keys.length, ...keys, ...args);
  } catch (e) {
    throw redisError(e, `script ${script.name}`);
  }
}

/** Wraps a Redis failure: a reply error is our bug (bad script, wrong key type); anything else is the connection. */
export function redisError(e: unknown, what: string): PortcullisError {
  if (e instanceof PortcullisError) return e;
  if (isReplyError(e)) return new PortcullisError('PC_INTERNAL', `Redis rejected ${what}: ${describeError(e)}`, { cause: e });
  return new PortcullisError('PC_REDIS_UNAVAILABLE', `Redis unavailable during ${what}: ${describeError(e)}`, { cause: e });
}

export async function withRedis<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw redisError(e, what);
  }
}

function isReplyError(e: unknown): e is Error {
  return e instanceof Error && e.name === 'ReplyError';
}

function isNoScript(e: unknown): boolean {
  return isReplyError(e) && e.message.startsWith('NOSCRIPT');
}
