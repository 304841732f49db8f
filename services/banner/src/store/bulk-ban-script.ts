import { LUA_PRELUDE } from './lua-prelude.js';
import { defineScript } from './script-runner.js';

/**
 * Manual ban of many addresses of one jail in one call, each decided exactly as manual-ban
 * (ban-scripts.ts) would: a running ban is extended when the new end is later, else left alone; a
 * new ban clears the address' failures and gets the next ban count. An address whose new ban would
 * escalate (previous bans > 0 with escalation on) is left to the single-address script, which
 * computes its ban time for that count: reply 'n'.
 *
 * What only the record of the past needs (offence history counts and one audit entry per address,
 * four commands per address: most of this script's time when it wrote them too) is appended as one
 * journal entry to the pending list in the same atomic step, and written by bulkBanSettleScript
 * right after (or by any banner's sweep, should this one die first): every ban gets its audit entry
 * and its history, exactly once, a moment later. The ban itself (record, end, cleared failures,
 * totals) is complete when this returns, so it is enforced without waiting for the rest.
 *
 * A new ban's record and audit entry are the caller's JSON heads (everything but the address and
 * its ban count, without the closing brace) with those two appended as text. Addresses are
 * canonical (hex digits, ':' and '.' only: nothing to escape), checked here.
 *
 * KEYS: bans, due, stats, failing, trustVersion, pending
 * ARGV: now, until score ('+inf' = permanent), historyTtl (ms), escalates '1'|'0',
 *       overalljails '1'|'0', key prefix, jail, trust version seen (-1: none), record head,
 *       'ban' audit entry head, 'extend' audit entry head, then the addresses
 * Returns {'stale'} when the trust list is outdated (nothing written), else a flat list of
 * status, payload per address: 'c' created + its ban count (the record is the head with ip and
 * banCount), 'e' extended + record JSON, 'u' unchanged + record JSON, 'n' needs escalation +
 * previous bans; then 1 when a journal entry was appended, else 0.
 */
export const bulkBanScript = defineScript(
  'bulk-ban',
  `${LUA_PRELUDE}
local bans, due, stats, failing, trust_ver, pending = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now_s, until_score, history_ttl = ARGV[1], ARGV[2], ARGV[3]
local escalates, overall, prefix, jail, trust_seen = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local rec_head, ban_head, extend_head = ARGV[9], ARGV[10], ARGV[11]
local now, until_num = tonumber(now_s), tonumber(until_score)
local kp = prefix .. '{' .. jail .. '}:'
local FIRST = 12

if trust_stale(trust_ver, trust_seen) then return {'stale'} end

local ips = {}
for i = FIRST, #ARGV do
  local ip = ARGV[i]
  if not string.find(ip, '^[%x:.]+$') then return redis.error_reply('bulk-ban: not a canonical address: ' .. ip) end
  ips[#ips + 1] = ip
end

local rec = cjson.decode(rec_head .. '}')
local new_until = rec['until']
local new_bantime = rec.bantime

-- every address' current ban, read in a few variadic calls
local scores, current = {}, {}
each_chunk(ips, function(...)
  for _, v in ipairs(redis.call('ZMSCORE', due, ...)) do scores[#scores + 1] = v end
  for _, v in ipairs(redis.call('HMGET', bans, ...)) do current[#current + 1] = v end
end)

local out = {}
local records, dues, cleared, failkeys = {}, {}, {}, {}
-- the journal: what bulk-ban-settle writes for each new and extended ban
local created, counts, extended, ext_counts = {}, {}, {}, {}
local done = {}
for i, ip in ipairs(ips) do
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
      extended[#extended + 1] = ip
      ext_counts[#ext_counts + 1] = existing.banCount or -1
      done[ip] = json
      out[#out + 1] = 'e'
      out[#out + 1] = json
    end
  else
    local off = kp .. 'off:' .. ip
    local prev
    if escalates == '1' then prev = prev_ban_count(prefix, jail, ip, off, overall) end
    if prev and prev ~= 0 then
      out[#out + 1] = 'n'
      out[#out + 1] = tostring(prev)
    else
      -- (with escalation on, prev is 0 here: no bans before, in this jail or any)
      if escalates ~= '1' then prev = tonumber(redis.call('HGET', off, 'count') or '0') end
      local count = prev + 1
      failkeys[#failkeys + 1] = kp .. 'fail:' .. ip
      failkeys[#failkeys + 1] = kp .. 'match:' .. ip
      cleared[#cleared + 1] = ip
      local json = rec_head .. ',"ip":"' .. ip .. '","banCount":' .. count .. '}'
      records[#records + 1] = ip
      records[#records + 1] = json
      dues[#dues + 1] = until_score
      dues[#dues + 1] = ip
      created[#created + 1] = ip
      counts[#counts + 1] = count
      done[ip] = json
      out[#out + 1] = 'c'
      out[#out + 1] = count
    end
  end
end
-- the writes, variadic (each_chunk passes 1000 arguments: whole pairs)
each_chunk(records, function(...) redis.call('HSET', bans, ...) end)
each_chunk(dues, function(...) redis.call('ZADD', due, ...) end)
each_chunk(failkeys, function(...) redis.call('DEL', ...) end)
each_chunk(cleared, function(...) redis.call('ZREM', failing, ...) end)
if #created > 0 then redis.call('HINCRBY', stats, 'totalBanned', #created) end
if #created + #extended == 0 then
  out[#out + 1] = 0
  return out
end
redis.call('RPUSH', pending, cjson.encode({
  jail = jail, now = now_s, ttl = history_ttl, ban = ban_head, extend = extend_head,
  created = created, counts = counts, extended = extended, extCounts = ext_counts,
}))
out[#out + 1] = 1
return out
`,
);

/**
 * Writes one journal entry of bulkBanScript (the oldest): for each new ban its offence history
 * (count + 1, lastBanAt, lifetime) and its audit entry, for each extension its audit entry, as
 * manual-ban writes them. The entry is taken and written in one atomic step, so it is written
 * once whoever runs this. Audit ids are the decision time, raised to the stream's last id.
 *
 * KEYS: pending, audit
 * ARGV: key prefix, auditMaxLen
 * Returns the number of addresses written (0: nothing was pending).
 */
export const bulkBanSettleScript = defineScript(
  'bulk-ban-settle',
  `
local pending, audit = KEYS[1], KEYS[2]
local prefix, audit_max = ARGV[1], ARGV[2]
local item = redis.call('LPOP', pending)
if not item then return 0 end
local j = cjson.decode(item)
local kp = prefix .. '{' .. j.jail .. '}:'

local audit_ms = math.floor(tonumber(j.now))
local top = redis.call('XREVRANGE', audit, '+', '-', 'COUNT', 1)
if top[1] then
  local tms = tonumber(string.match(top[1][1], '^(%d+)'))
  if tms and tms > audit_ms then audit_ms = tms end
end
local audit_id = string.format('%.0f-*', audit_ms)

local n = 0
for i, ip in ipairs(j.created) do
  local off = kp .. 'off:' .. ip
  redis.call('HINCRBY', off, 'count', 1)
  redis.call('HSET', off, 'lastBanAt', j.now)
  redis.call('PEXPIRE', off, j.ttl)
  local e = j.ban .. ',"ip":"' .. ip .. '","banCount":' .. string.format('%.0f', j.counts[i]) .. '}'
  redis.call('XADD', audit, 'MAXLEN', '~', audit_max, audit_id, 'kind', 'ban', 'jail', j.jail, 'ip', ip, 'e', e)
  n = n + 1
end
for i, ip in ipairs(j.extended) do
  local c = j.extCounts[i]
  local e = j.extend .. ',"ip":"' .. ip .. '"' .. (c >= 0 and (',"banCount":' .. string.format('%.0f', c)) or '') .. '}'
  redis.call('XADD', audit, 'MAXLEN', '~', audit_max, audit_id, 'kind', 'extend', 'jail', j.jail, 'ip', ip, 'e', e)
  n = n + 1
end
return n
`,
);
