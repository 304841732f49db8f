import { LUA_PRELUDE } from './lua-prelude.js';
import { defineScript } from './script-runner.js';

/**
 * One failure, atomically: dedupe, slide the findtime window, count, and decide the ban at most once.
 *
 * KEYS: fail, match, seen, failing, bans, due, stats, off (see keys.ts)
 * ARGV: ip, eventId, time (ms, already min(at, now)), now, maxretry, findtime (ms), seenUntil (ms),
 *       matches JSON ('' for none), base record JSON, until score ('+inf' = permanent), maxMatches,
 *       historyTtl (ms)
 * Returns {counted 0|1, failures, banJSON?}
 */
export const recordFailureScript = defineScript(
  'record-failure',
  `${LUA_PRELUDE}
local fail, match, seen, failing, bans, due, stats, off = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local ip, id = ARGV[1], ARGV[2]
local t, now = tonumber(ARGV[3]), tonumber(ARGV[4])
local maxretry, findtime, seen_until = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local matches, base, until_score = ARGV[8], ARGV[9], ARGV[10]
local max_matches, history_ttl = tonumber(ARGV[11]), ARGV[12]
local since = now - findtime

-- failures that left the window are forgotten with their matched lines
local old = redis.call('ZRANGEBYSCORE', fail, '-inf', '(' .. since)
each_chunk(old, function(...) redis.call('ZREM', fail, ...) end)
each_chunk(old, function(...) redis.call('HDEL', match, ...) end)
redis.call('ZREMRANGEBYSCORE', seen, '-inf', '(' .. ARGV[4])
redis.call('ZREMRANGEBYSCORE', failing, '-inf', '(' .. ARGV[4])

if redis.call('ZSCORE', seen, id) or t < since then
  return {0, redis.call('ZCARD', fail)}
end

redis.call('ZADD', seen, seen_until, id)
expire_with_last(seen, now)
redis.call('ZADD', fail, t, id)
if matches ~= '' then redis.call('HSET', match, id, matches) end
redis.call('HINCRBY', stats, 'totalFailed', 1)

local count = redis.call('ZCARD', fail)
local newest = tonumber(redis.call('ZRANGE', fail, -1, -1, 'WITHSCORES')[2])
local window_end = newest + findtime
redis.call('PEXPIRE', fail, window_end - now + 1)
redis.call('PEXPIRE', match, window_end - now + 1)
redis.call('ZADD', failing, 'GT', window_end, ip)
expire_with_last(failing, now)

if count < maxretry then return {1, count} end

-- like fail2ban, a ticket for an address that is already banned is dropped with its failures
if active_until(due, bans, ip, now) then
  clear_failures(fail, match, failing, ip)
  return {1, count}
end

local lines = {}
local ids = redis.call('ZRANGE', fail, 0, -1)
each_chunk(ids, function(...)
  local vals = redis.call('HMGET', match, ...)
  for _, v in ipairs(vals) do
    if v then
      for _, line in ipairs(cjson.decode(v)) do lines[#lines + 1] = line end
    end
  end
end)
clear_failures(fail, match, failing, ip)

local rec = cjson.decode(base)
rec.failures = count
if #lines > 0 then
  local first = math.max(1, #lines - max_matches + 1)
  rec.matches = {unpack(lines, first, #lines)}
end
return {1, count, store_ban(rec, bans, due, stats, off, ip, until_score, ARGV[4], history_ttl)}
`,
);
