import { LUA_PRELUDE } from './lua-prelude.js';
import { defineScript } from './script-runner.js';

/**
 * Manual ban of many addresses of one jail in one call, each exactly as manual-ban (ban-scripts.ts)
 * would: a running ban is extended when the new end is later, else left alone; a new ban clears
 * the address' failures, counts in its offence history and gets an audit entry. An address whose
 * new ban would escalate (previous bans > 0 with escalation on) is left to the single-address
 * script, which computes its ban time for that count: reply 'n'.
 *
 * KEYS: bans, due, stats, failing, audit, trustVersion
 * ARGV: now, record JSON (without ip and banCount), until score ('+inf' = permanent), historyTtl (ms),
 *       auditMaxLen, decidedBy, escalates '1'|'0', overalljails '1'|'0', key prefix, jail,
 *       trust version seen (-1: none), then the addresses
 * Returns {'stale'} when the trust list is outdated (nothing written), else a flat list of
 * status, payload per address: 'c' created + record JSON, 'e' extended + record JSON,
 * 'u' unchanged + record JSON, 'n' needs escalation + previous bans.
 */
export const bulkBanScript = defineScript(
  'bulk-ban',
  `${LUA_PRELUDE}
local bans, due, stats, failing, audit, trust_ver = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now_s, base, until_score, history_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local audit_max, decided_by, escalates, overall = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local prefix, jail, trust_seen = ARGV[9], ARGV[10], ARGV[11]
local now, until_num = tonumber(now_s), tonumber(until_score)
local kp = prefix .. '{' .. jail .. '}:'
local FIRST = 12

if trust_stale(trust_ver, trust_seen) then return {'stale'} end

-- audit ids: one time for the whole call, raised to the stream's last id (see audit_add); equal
-- milliseconds get increasing sequence numbers from XADD itself
local audit_ms = math.floor(now)
local top = redis.call('XREVRANGE', audit, '+', '-', 'COUNT', 1)
if top[1] then
  local tms = tonumber(string.match(top[1][1], '^(%d+)'))
  if tms and tms > audit_ms then audit_ms = tms end
end
local audit_id = string.format('%.0f-*', audit_ms)

local rec = cjson.decode(base)
local entry = {}
for k, v in pairs(rec) do entry[k] = v end
entry.kind = 'ban'
entry.at = now
if decided_by ~= '' then entry.decidedBy = decided_by end
local new_until = rec['until']
local new_bantime = rec.bantime

local ips = {}
for i = FIRST, #ARGV do ips[#ips + 1] = ARGV[i] end
-- every address' current ban, read in a few variadic calls
local scores, current = {}, {}
each_chunk(ips, function(...)
  for _, v in ipairs(redis.call('ZMSCORE', due, ...)) do scores[#scores + 1] = v end
  for _, v in ipairs(redis.call('HMGET', bans, ...)) do current[#current + 1] = v end
end)

local out = {}
local created = 0
local records, dues, cleared, failkeys = {}, {}, {}, {}
local done = {}
for i, ip in ipairs(ips) do
  local off = kp .. 'off:' .. ip
  local cur = nil
  local s = scores[i]
  if s and current[i] then
    local u = tonumber(s)
    if u > now then cur = u end
  end
  if done[ip] then
    -- the same address twice in one call: the first occurrence decided
    out[#out + 1] = 'u'
    out[#out + 1] = done[ip]
  elseif cur then
    if until_num <= cur then
      out[#out + 1] = 'u'
      out[#out + 1] = current[i]
    else
      local existing = cjson.decode(current[i])
      existing['until'] = new_until
      existing.bantime = new_bantime
      local json = cjson.encode(existing)
      records[#records + 1] = ip
      records[#records + 1] = json
      dues[#dues + 1] = until_score
      dues[#dues + 1] = ip
      entry.kind = 'extend'
      entry.ip = ip
      entry.banCount = existing.banCount
      redis.call('XADD', audit, 'MAXLEN', '~', audit_max, audit_id, 'kind', 'extend', 'jail', jail, 'ip', ip, 'e', cjson.encode(entry))
      done[ip] = json
      out[#out + 1] = 'e'
      out[#out + 1] = json
    end
  else
    local prev = 0
    if escalates == '1' then prev = prev_ban_count(prefix, jail, ip, off, overall) end
    if prev ~= 0 then
      out[#out + 1] = 'n'
      out[#out + 1] = tostring(prev)
    else
      failkeys[#failkeys + 1] = kp .. 'fail:' .. ip
      failkeys[#failkeys + 1] = kp .. 'match:' .. ip
      cleared[#cleared + 1] = ip
      local count = redis.call('HINCRBY', off, 'count', 1)
      redis.call('HSET', off, 'lastBanAt', now_s)
      redis.call('PEXPIRE', off, history_ttl)
      rec.ip = ip
      rec.banCount = count
      local json = cjson.encode(rec)
      records[#records + 1] = ip
      records[#records + 1] = json
      dues[#dues + 1] = until_score
      dues[#dues + 1] = ip
      entry.kind = 'ban'
      entry.ip = ip
      entry.banCount = count
      redis.call('XADD', audit, 'MAXLEN', '~', audit_max, audit_id, 'kind', 'ban', 'jail', jail, 'ip', ip, 'e', cjson.encode(entry))
      created = created + 1
      done[ip] = json
      out[#out + 1] = 'c'
      out[#out + 1] = json
    end
  end
end
-- the writes, variadic (each_chunk passes 1000 arguments: whole pairs)
each_chunk(records, function(...) redis.call('HSET', bans, ...) end)
each_chunk(dues, function(...) redis.call('ZADD', due, ...) end)
each_chunk(failkeys, function(...) redis.call('DEL', ...) end)
each_chunk(cleared, function(...) redis.call('ZREM', failing, ...) end)
if created > 0 then redis.call('HINCRBY', stats, 'totalBanned', created) end
return out
`,
);
