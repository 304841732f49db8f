import { LUA_PRELUDE } from './lua-prelude.js';
import { defineScript } from './script-runner.js';

/**
 * Manual ban (CLI/API). A running ban is extended when the new end is later, else left alone. A new
 * ban checks the trust version and the escalation count like record-failure-script.ts.
 * KEYS: bans, due, stats, off, fail, match, failing, audit, trustVersion
 * ARGV: ip, now, record JSON (without banCount), until score ('+inf' = permanent), historyTtl (ms),
 *       auditMaxLen, decidedBy, expected previous bans (-1: no escalation, -2: unknown),
 *       overalljails '1'|'0', key prefix, jail, trust version seen (-1: none)
 * Returns {'created'|'extended'|'unchanged', banJSON} | {'needs', previousBans} | {'stale'}
 */
export const manualBanScript = defineScript(
  'manual-ban',
  `${LUA_PRELUDE}
local bans, due, stats, off, fail, match, failing = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local audit, trust_ver = KEYS[8], KEYS[9]
local ip, now, base, until_score, history_ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local audit_max, decided_by, expected = ARGV[6], ARGV[7], tonumber(ARGV[8])
local overall, prefix, jail, trust_seen = ARGV[9], ARGV[10], ARGV[11], ARGV[12]

local cur = active_until(due, bans, ip, now)
if cur then
  local existing = redis.call('HGET', bans, ip)
  if tonumber(until_score) <= cur then return {'unchanged', existing} end
  local rec, new = cjson.decode(existing), cjson.decode(base)
  rec['until'] = new['until']
  rec.bantime = new.bantime
  local json = cjson.encode(rec)
  redis.call('HSET', bans, ip, json)
  redis.call('ZADD', due, until_score, ip)
  new.banCount = rec.banCount
  audit_ban(audit, audit_max, new, 'extend', ARGV[2], decided_by)
  return {'extended', json}
end

if trust_stale(trust_ver, trust_seen) then return {'stale'} end
if expected ~= -1 then
  local prev = prev_ban_count(prefix, jail, ip, off, overall)
  if prev ~= expected then return {'needs', prev} end
end
clear_failures(fail, match, failing, ip)
local json = store_ban(cjson.decode(base), bans, due, stats, off, ip, until_score, ARGV[2], history_ttl)
audit_ban(audit, audit_max, cjson.decode(json), 'ban', ARGV[2], decided_by)
return {'created', json}
`,
);

/**
 * Removes the ban of one address in one jail, expired-but-unswept included (the firewall still
 * holds it), forgets its failures and writes the unban to the audit log.
 * KEYS: bans, due, fail, match, failing, off, audit
 * ARGV: ip, now, origin, by ('' for none), historyTtl (ms), auditMaxLen, decidedBy, jail, reason
 * Returns the removed record JSON or nil.
 */
export const unbanScript = defineScript(
  'unban',
  `${LUA_PRELUDE}
local bans, due, fail, match, failing, off, audit = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local ip = ARGV[1]
local rec = redis.call('HGET', bans, ip)
redis.call('ZREM', due, ip)
if not rec then return false end
redis.call('HDEL', bans, ip)
clear_failures(fail, match, failing, ip)
redis.call('HSET', off, 'lastUnbanAt', ARGV[2], 'lastUnbanOrigin', ARGV[3], 'lastUnbanBy', ARGV[4])
redis.call('PEXPIRE', off, ARGV[5])
audit_unban(audit, ARGV[6], ARGV[8], ip, ARGV[2], ARGV[3], ARGV[9], ARGV[4], ARGV[7])
return rec
`,
);

/**
 * Claims up to `limit` bans whose end is <= now, writing an unban audit entry for each. Atomic, so
 * each expired ban is handed to exactly one caller however many banner instances sweep at once.
 * KEYS: bans, due, audit
 * ARGV: now, limit, jail, auditMaxLen, decidedBy
 * Returns record JSONs (a minimal one if the record itself went missing, so the unban still happens).
 */
export const expireDueScript = defineScript(
  'expire-due',
  `${LUA_PRELUDE}
local bans, due, audit = KEYS[1], KEYS[2], KEYS[3]
local ips = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local out = {}
for i = 1, #ips, 2 do
  local ip = ips[i]
  redis.call('ZREM', due, ip)
  local rec = redis.call('HGET', bans, ip)
  redis.call('HDEL', bans, ip)
  local origin = 'log'
  if rec then
    local ok, decoded = pcall(cjson.decode, rec)
    if ok and type(decoded) == 'table' and type(decoded.origin) == 'string' then origin = decoded.origin end
  else
    rec = cjson.encode({jail = ARGV[3], ip = ip, ['until'] = tonumber(ips[i + 1])})
  end
  audit_unban(audit, ARGV[4], ARGV[3], ip, ARGV[1], origin, 'bantime expired', '', ARGV[5])
  out[#out + 1] = rec
end
return out
`,
);

/**
 * Records of the bans running at now.
 * KEYS: bans, due
 * ARGV: now
 */
export const activeBansScript = defineScript(
  'active-bans',
  `${LUA_PRELUDE}
local bans, due = KEYS[1], KEYS[2]
local ips = redis.call('ZRANGEBYSCORE', due, '(' .. ARGV[1], '+inf')
local out = {}
each_chunk(ips, function(...)
  for _, v in ipairs(redis.call('HMGET', bans, ...)) do
    if v then out[#out + 1] = v end
  end
end)
return out
`,
);
