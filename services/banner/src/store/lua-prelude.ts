/**
 * Lua helpers shared by the ban-store scripts. Scripts never read the Redis clock: `now` comes from
 * the caller's Clock so every banner instance (and every test) decides with the same notion of time.
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
`;
