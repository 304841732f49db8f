/**
 * Lua helpers shared by the ban-store scripts. Scripts never read the Redis clock: `now` comes from
 * the caller's Clock so every banner instance (and every test) decides with the same notion of time.
 * Reply codes shared by the deciding scripts are in script-replies.ts.
 */
export const LUA_PRELUDE = `
-- unpack() is limited by the Lua C stack, so variadic commands get at most 1000 arguments at once
local function each_chunk(list, fn)
  local i, n = 1, #list
  while i <= n do
    local j = math.min(i + 999, n)
    fn(unpack(list, i, j))
    i = j + 1
  end
end

-- the end (ms, inf = permanent) of the address's ban if it is still running at now, else nil
local function active_until(due, bans, ip, now)
  local s = redis.call('ZSCORE', due, ip)
  if not s then return nil end
  local u = tonumber(s)
  if u <= now or redis.call('HEXISTS', bans, ip) == 0 then return nil end
  return u
end

local function clear_failures(fail, match, failing, ip)
  redis.call('DEL', fail, match)
  redis.call('ZREM', failing, ip)
end

-- keeps a ZSET whose scores are end times until its last member ends. Relative to now (not
-- PEXPIREAT) so a skew between our clock and Redis' clock does not shorten anything.
local function expire_with_last(key, now)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIRE', key, math.max(1, math.floor(tonumber(last[2]) - now) + 1)) end
end

-- stores a new ban from a decoded record (without banCount); returns its JSON
local function store_ban(rec, bans, due, stats, off, ip, until_score, now, history_ttl)
  local count = redis.call('HINCRBY', off, 'count', 1)
  redis.call('HSET', off, 'lastBanAt', now)
  redis.call('PEXPIRE', off, history_ttl)
  rec.banCount = count
  local json = cjson.encode(rec)
  redis.call('HSET', bans, ip, json)
  redis.call('ZADD', due, until_score, ip)
  redis.call('HINCRBY', stats, 'totalBanned', 1)
  return json
end

-- appends one audit entry; the id is the entry's time (ms), raised to the stream's last id when a
-- writer's clock is behind, so ids always increase and range queries work in decision time
local function audit_add(stream, maxlen, entry)
  local ms = math.floor(tonumber(entry.at))
  local top = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if top[1] then
    local tms = tonumber(string.match(top[1][1], '^(%d+)'))
    if tms and tms > ms then ms = tms end
  end
  return redis.call('XADD', stream, 'MAXLEN', '~', maxlen, string.format('%.0f-*', ms),
    'kind', entry.kind, 'jail', entry.jail, 'ip', entry.ip, 'e', cjson.encode(entry))
end

-- the audit entry of a ban record (kind 'ban' or 'extend', at = when that happened)
local function audit_ban(stream, maxlen, rec, kind, at, decided_by)
  local e = {}
  for k, v in pairs(rec) do e[k] = v end
  e.kind = kind
  e.at = tonumber(at)
  e.seenOn = rec.host
  e.host = nil
  if decided_by ~= '' then e.decidedBy = decided_by end
  audit_add(stream, maxlen, e)
end

local function audit_unban(stream, maxlen, jail, ip, at, origin, reason, by, decided_by)
  local e = {kind = 'unban', jail = jail, ip = ip, at = tonumber(at), origin = origin, reason = reason}
  if by ~= '' then e.by = by end
  if decided_by ~= '' then e.decidedBy = decided_by end
  audit_add(stream, maxlen, e)
end

-- bans of ip before this one: in this jail, or summed over every registered jail (overalljails,
-- fail2ban's "SELECT sum(bancount) FROM bips WHERE ip = ?"); other jails' keys are derived here
local function prev_ban_count(prefix, jail, ip, off, overall)
  local n = tonumber(redis.call('HGET', off, 'count') or '0')
  if overall ~= '1' then return n end
  for _, j in ipairs(redis.call('SMEMBERS', prefix .. 'jails')) do
    if j ~= jail then
      n = n + tonumber(redis.call('HGET', prefix .. '{' .. j .. '}:off:' .. ip, 'count') or '0')
    end
  end
  return n
end

-- true when the caller decided with a trust list older than the fleet's (seen < 0: no gate)
local function trust_stale(ver_key, seen)
  local s = tonumber(seen)
  if s < 0 then return false end
  return tonumber(redis.call('GET', ver_key) or '0') > s
end
`;
