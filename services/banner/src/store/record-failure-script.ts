import { LUA_PRELUDE } from './lua-prelude.js';
import { defineScript } from './script-runner.js';

/**
 * One failure, atomically: dedupe, slide the findtime window, count, and decide the ban at most once,
 * with its audit entry.
 *
 * Escalation: the ban time depends on the address's previous bans, which only this script can read
 * atomically with the decision. The caller passes the previous-ban count it computed the ban time
 * for (`expected`); when the failure would decide a ban and the count differs (or the caller does
 * not know it yet, -2), the script changes nothing and replies {2, count}: the caller computes the
 * ban time for that count and calls again. Concurrent deciders thus agree on count and ban time.
 *
 * KEYS: fail, match, seen, failing, bans, due, stats, off, audit, trustVersion
 * ARGV: ip, eventId, time (ms, already min(at, now)), now, maxretry, findtime (ms), seenUntil (ms),
 *       matches JSON ('' for none), base record JSON, until score ('+inf' = permanent), maxMatches,
 *       historyTtl (ms), auditMaxLen, decidedBy ('' for none), expected previous bans (-1: no
 *       escalation, -2: unknown), overalljails '1'|'0', key prefix, jail, trust version seen (-1: none),
 *       known-offender weighting '1'|'0'
 *
 * Known offenders (bantime.increment, fail2ban's observer.failureFound): a failure of an address
 * banned n > 0 times before in this jail, newer than its last ban, counts as
 * min(2^(min(n, 20)) / 2 + 1, maxretry) failures (2, 3, 5, 9, ...). The extra weight is stored as
 * extra members `id NUL 2` .. `id NUL w` with the failure's time, so they leave the window with it.
 *
 * Returns {0|1 counted, failures, banJSON?} | {2, previousBans} | {3} (trust list outdated)
 */
export const recordFailureScript = defineScript(
  'record-failure',
  `${LUA_PRELUDE}
local fail, match, seen, failing, bans, due, stats, off = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local audit, trust_ver = KEYS[9], KEYS[10]
local ip, id = ARGV[1], ARGV[2]
local t, now = tonumber(ARGV[3]), tonumber(ARGV[4])
local maxretry, findtime, seen_until = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local matches, base, until_score = ARGV[8], ARGV[9], ARGV[10]
local max_matches, history_ttl = tonumber(ARGV[11]), ARGV[12]
local audit_max, decided_by, expected = ARGV[13], ARGV[14], tonumber(ARGV[15])
local overall, prefix, jail, trust_seen = ARGV[16], ARGV[17], ARGV[18], ARGV[19]
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

local weight = 1
if ARGV[20] == '1' then
  local n = tonumber(redis.call('HGET', off, 'count') or '0')
  local last_ban = tonumber(redis.call('HGET', off, 'lastBanAt') or '0')
  if n > 0 and t > last_ban then weight = math.min(2 ^ (math.min(n, 20) - 1) + 1, maxretry) end
end

-- checks that must pass before anything is written, for a failure that would decide a ban
if redis.call('ZCARD', fail) + weight >= maxretry and not active_until(due, bans, ip, now) then
  if trust_stale(trust_ver, trust_seen) then return {3} end
  if expected ~= -1 then
    local prev = prev_ban_count(prefix, jail, ip, off, overall)
    if prev ~= expected then return {2, prev} end
  end
end

redis.call('ZADD', seen, seen_until, id)
expire_with_last(seen, now)
redis.call('ZADD', fail, t, id)
for w = 2, weight do redis.call('ZADD', fail, t, id .. '\\0' .. w) end
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
local json = store_ban(rec, bans, due, stats, off, ip, until_score, ARGV[4], history_ttl)
audit_ban(audit, audit_max, cjson.decode(json), 'ban', now, decided_by)
return {1, count, json}
`,
);
