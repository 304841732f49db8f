import { LUA_PRELUDE } from './lua-prelude.js';
import { defineScript } from './script-runner.js';

/** Address matching in Lua: every address as eight 16-bit groups, IPv4 in its mapped (::ffff:a.b.c.d) form. */
const LUA_NET = `
local function ip_groups(ip)
  if not string.find(ip, ':', 1, true) then
    local a, b, c, d = string.match(ip, '^(%d+)%.(%d+)%.(%d+)%.(%d+)$')
    if not a then return nil end
    return {0, 0, 0, 0, 0, 65535, tonumber(a) * 256 + tonumber(b), tonumber(c) * 256 + tonumber(d)}
  end
  local function split(s)
    local out = {}
    for g in string.gmatch(s, '[^:]+') do out[#out + 1] = tonumber(g, 16) end
    return out
  end
  local groups
  local dbl = string.find(ip, '::', 1, true)
  if dbl then
    local h, t = split(string.sub(ip, 1, dbl - 1)), split(string.sub(ip, dbl + 2))
    groups = {}
    for _, g in ipairs(h) do groups[#groups + 1] = g end
    for _ = 1, 8 - #h - #t do groups[#groups + 1] = 0 end
    for _, g in ipairs(t) do groups[#groups + 1] = g end
  else
    groups = split(ip)
  end
  if #groups ~= 8 then return nil end
  return groups
end

local function in_net(groups, net, prefix)
  for i = 1, 8 do
    local bits = math.min(16, math.max(0, prefix - 16 * (i - 1)))
    if bits == 0 then return true end
    local div = 2 ^ (16 - bits)
    if math.floor(groups[i] / div) ~= math.floor(net[i] / div) then return false end
  end
  return true
end
`;

/**
 * "Move to trusted": adds a trusted entry fleet-wide and, in the same atomic step, removes every ban
 * (running or expired-but-unswept) and every failure window of a matching address in every jail,
 * writing the trust and each unban to the audit log. Publishes the new trust version.
 * KEYS: trusted, trustVersion, audit, registry
 * ARGV: entry, meta JSON, now, origin, by ('' none), reason, auditMaxLen, decidedBy, key prefix,
 *       default historyTtl (ms), historyTtl per jail JSON {jail: ms}, channel, prefix length,
 *       then the 8 network groups
 * Returns {version, {removed record JSON...}}
 */
export const trustAndUnbanScript = defineScript(
  'trust-and-unban',
  `${LUA_PRELUDE}${LUA_NET}
local trusted, trust_ver, audit, registry = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local entry, meta, now, origin, by, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local audit_max, decided_by, prefix, ttl_default = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local ttls, channel, plen = cjson.decode(ARGV[11]), ARGV[12], tonumber(ARGV[13])
local net = {}
for i = 1, 8 do net[i] = tonumber(ARGV[13 + i]) end

redis.call('HSET', trusted, entry, meta)
local ver = redis.call('INCR', trust_ver)
local t = {kind = 'trust', jail = '*', ip = entry, at = tonumber(now), origin = origin, reason = reason}
if by ~= '' then t.by = by end
if decided_by ~= '' then t.decidedBy = decided_by end
audit_add(audit, audit_max, t)

local removed = {}
for _, j in ipairs(redis.call('SMEMBERS', registry)) do
  local base = prefix .. '{' .. j .. '}:'
  local bans, due, failing = base .. 'bans', base .. 'due', base .. 'failing'
  local ttl = ttls[j] or ttl_default
  for _, ip in ipairs(redis.call('HKEYS', bans)) do
    local g = ip_groups(ip)
    if g and in_net(g, net, plen) then
      removed[#removed + 1] = redis.call('HGET', bans, ip)
      redis.call('HDEL', bans, ip)
      redis.call('ZREM', due, ip)
      clear_failures(base .. 'fail:' .. ip, base .. 'match:' .. ip, failing, ip)
      local off = base .. 'off:' .. ip
      redis.call('HSET', off, 'lastUnbanAt', now, 'lastUnbanOrigin', origin, 'lastUnbanBy', by)
      redis.call('PEXPIRE', off, ttl)
      audit_unban(audit, audit_max, j, ip, now, origin, reason, by, decided_by)
    end
  end
  -- a trusted address's failures no longer count either
  for _, ip in ipairs(redis.call('ZRANGE', failing, 0, -1)) do
    local g = ip_groups(ip)
    if g and in_net(g, net, plen) then clear_failures(base .. 'fail:' .. ip, base .. 'match:' .. ip, failing, ip) end
  end
end
redis.call('PUBLISH', channel, ver)
return {ver, removed}
`,
);

/**
 * Removes a trusted entry (bans are not restored) and records it.
 * KEYS: trusted, trustVersion, audit
 * ARGV: entry, now, origin, by ('' none), reason, auditMaxLen, decidedBy, channel
 * Returns {removed 0|1, version}
 */
export const untrustScript = defineScript(
  'untrust',
  `${LUA_PRELUDE}
local trusted, trust_ver, audit = KEYS[1], KEYS[2], KEYS[3]
local entry, now, origin, by, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('HDEL', trusted, entry) == 0 then return {0, tonumber(redis.call('GET', trust_ver) or '0')} end
local ver = redis.call('INCR', trust_ver)
local e = {kind = 'untrust', jail = '*', ip = entry, at = tonumber(now), origin = origin, reason = reason}
if by ~= '' then e.by = by end
if ARGV[7] ~= '' then e.decidedBy = ARGV[7] end
audit_add(audit, ARGV[6], e)
redis.call('PUBLISH', ARGV[8], ver)
return {1, ver}
`,
);
