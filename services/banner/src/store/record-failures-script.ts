import { LUA_PRELUDE } from './lua-prelude.js';
import { defineScript } from './script-runner.js';

/**
 * Many failures of one jail, atomically, with the outcome the record-failure script would give them
 * one after the other in the same order (see record-failure-script.ts for the rules: dedupe, the
 * findtime window, known-offender weight, the ban decided at most once, the escalation and
 * trust-version checks), and the same keys written. The one difference: a ban's matched lines come
 * in time order with lines of the same time in the order they arrived (one by one they follow the
 * event ids at equal times).
 *
 * What a batch saves is repetition, which is most of the cost: an address never seen before is
 * recognised with one read (EXISTS), an known one's window and replay memory are read once (whole:
 * both hold only that address' recent failures), its new failures are written once at the end and
 * not at all when it is banned in the same call (the ban clears them), every address' ban end is
 * read with one command, and the jail-wide keys (bans, due, failing, stats) and the audit stream's
 * last id are written or read once per call. Nothing another address' decision reads is deferred:
 * an address appears once per call, and what is read across addresses (offence history, for
 * overalljails) is written at once.
 *
 * Failures come grouped by address (an address' failures in their order). When an address' next
 * failure would decide a ban and the caller's previous-ban count is wrong (or unknown, -2), or its
 * trust version is outdated, the script stops that address there, keeps what it recorded before,
 * and replies {2, count} / {3} for it: the caller recomputes and sends the rest of that address'
 * failures again. Other addresses go on.
 *
 * KEYS: failing, bans, due, stats, audit, trustVersion
 * ARGV: now, maxretry, findtime (ms), maxMatches, historyTtl (ms), auditMaxLen, decidedBy ('' for
 *       none), overalljails '1'|'0', key prefix, jail, trust version seen (-1: none), known-offender
 *       weighting '1'|'0', max future (ms), replay grace (ms), reason, S = number of sources, then
 *       S x (origin, host), then per address: ip, expected previous bans (-1: no escalation, -2:
 *       unknown), bantime (s), until score ('+inf' = permanent), N, then N x (event id, log time
 *       (ms), matches JSON ('' for none), source number (1..S))
 *
 * Returns per address, in order: {code (0 done, 2 needs the ban count, 3 trust list outdated),
 * P = failures processed, previous bans (for 2, else 0)}, then P x {1|0 counted, failures, ban JSON
 * or ''}.
 */
export const recordFailuresScript = defineScript(
  'record-failures',
  `${LUA_PRELUDE}
local failing, bans, due, stats, audit, trust_ver = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now_s = ARGV[1]
local now = tonumber(now_s)
local maxretry, findtime = tonumber(ARGV[2]), tonumber(ARGV[3])
local max_matches, history_ttl, audit_max, decided_by = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local overall, prefix, jail, trust_seen = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local weighted = ARGV[12] == '1'
local max_future, grace, reason = tonumber(ARGV[13]), tonumber(ARGV[14]), ARGV[15]
local nsrc = tonumber(ARGV[16])
local sources = {}
for s = 1, nsrc do sources[s] = {ARGV[15 + 2 * s], ARGV[16 + 2 * s]} end
local a = 17 + 2 * nsrc
local since = now - findtime
local base = prefix .. '{' .. jail .. '}:'

redis.call('ZREMRANGEBYSCORE', failing, '-inf', '(' .. now_s)

local stale = nil
local function is_stale()
  if stale == nil then stale = trust_stale(trust_ver, trust_seen) end
  return stale
end

-- audit_add with the stream's last id read once (nothing else writes the stream while this runs),
-- and the entry's JSON made from the record's: the entry is the record with kind and decidedBy
-- added, its host named seenOn, at = now like the record's (a key inside a JSON string has its
-- quotes escaped, so the only unescaped "host": is the key)
local audit_ms = nil
local decided_json = ''
if decided_by ~= '' then decided_json = ',"decidedBy":' .. cjson.encode(decided_by) end
local function audit_ban_entry(ip, json)
  if audit_ms == nil then
    audit_ms = -1
    local top = redis.call('XREVRANGE', audit, '+', '-', 'COUNT', 1)
    if top[1] then audit_ms = tonumber(string.match(top[1][1], '^(%d+)')) or -1 end
  end
  local ms = math.floor(now)
  if audit_ms > ms then ms = audit_ms end
  local e = string.gsub(json, '"host":', '"seenOn":', 1)
  e = string.sub(e, 1, -2) .. ',"kind":"ban"' .. decided_json .. '}'
  redis.call('XADD', audit, 'MAXLEN', '~', audit_max, string.format('%.0f-*', ms), 'kind', 'ban', 'jail', jail, 'ip', ip, 'e', e)
  audit_ms = ms
end

local function call_all(cmd, key, list)
  each_chunk(list, function(...) redis.call(cmd, key, ...) end)
end

-- the jail-wide writes, done once at the end
local ban_pairs, due_pairs, failing_add, failing_set, failing_rm = {}, {}, {}, {}, {}
local banned_total, counted_total = 0, 0
local out = {}

-- every address' ban end in one read
local due_score = {}
do
  local ips, k = {}, a
  while k <= #ARGV do
    ips[#ips + 1] = ARGV[k]
    k = k + 5 + 4 * tonumber(ARGV[k + 4])
  end
  local scores = {}
  each_chunk(ips, function(...)
    for _, v in ipairs(redis.call('ZMSCORE', due, ...)) do scores[#scores + 1] = v end
  end)
  for i, ip in ipairs(ips) do due_score[ip] = scores[i] end
end

while a <= #ARGV do
  local ip, expected, bantime, until_score, n = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3], tonumber(ARGV[a + 4])
  local first = a + 5
  a = first + 4 * n
  local fail, match, seen, off = base .. 'fail:' .. ip, base .. 'match:' .. ip, base .. 'seen:' .. ip, base .. 'off:' .. ip
  local until_value, ban_end = cjson.null, math.huge
  if until_score ~= '+inf' then
    until_value = tonumber(until_score)
    ban_end = until_value
  end

  -- an address never seen before (the common case in a mass attack) costs one read instead of three
  local fresh = redis.call('EXISTS', fail, seen, off) == 0
  -- the window ({score, member} in set order); failures that left it are forgotten with their lines
  local stored, old = {}, {}
  -- replay memory: ids whose time is up are forgotten
  local seen_ids, seen_last, expired = {}, nil, {}
  if not fresh then
    local raw = redis.call('ZRANGE', fail, 0, -1, 'WITHSCORES')
    for k = 1, #raw, 2 do
      local s = tonumber(raw[k + 1])
      if s < since then old[#old + 1] = raw[k] else stored[#stored + 1] = {s, raw[k]} end
    end
    if #old > 0 then
      call_all('ZREM', fail, old)
      call_all('HDEL', match, old)
    end
    raw = redis.call('ZRANGE', seen, 0, -1, 'WITHSCORES')
    for k = 1, #raw, 2 do
      local s = tonumber(raw[k + 1])
      if s < now then
        expired[#expired + 1] = raw[k]
      else
        seen_ids[raw[k]] = true
        seen_last = s
      end
    end
    if #expired > 0 then call_all('ZREM', seen, expired) end
  end

  local count = #stored
  local active_known, active = false, nil
  local function is_active()
    if not active_known then
      -- active_until, with the ban end read above
      local u = due_score[ip] and tonumber(due_score[ip])
      if u and u > now and redis.call('HEXISTS', bans, ip) == 1 then active = u end
      active_known = true
    end
    return active
  end
  local offences, last_ban = 0, 0
  -- false while the offence history is known to be empty (a fresh address not banned here yet)
  local has_history = not fresh
  if weighted and has_history then
    local h = redis.call('HMGET', off, 'count', 'lastBanAt')
    offences, last_ban = tonumber(h[1] or '0'), tonumber(h[2] or '0')
  end
  local prev = nil
  -- failures not written yet: replay memory (score, id pairs), window entries, their lines by id
  local new_seen, seen_max, pending, lines_of, line_pairs = {}, nil, {}, {}, {}
  local dropped = false
  local results = {}
  local code, code_arg, processed = 0, 0, 0

  for i = 1, n do
    local j = first + 4 * (i - 1)
    local id, at, matches, src = ARGV[j], tonumber(ARGV[j + 1]), ARGV[j + 2], tonumber(ARGV[j + 3])
    local t = math.min(at, now)
    if seen_ids[id] or t < since then
      results[#results + 1] = 0
      results[#results + 1] = count
      results[#results + 1] = ''
    else
      local weight = 1
      if weighted and offences > 0 and t > last_ban then weight = math.min(2 ^ (math.min(offences, 20) - 1) + 1, maxretry) end
      if count + weight >= maxretry and not is_active() then
        if is_stale() then code = 3 break end
        if expected ~= -1 then
          if prev == nil then
            if has_history or overall == '1' then prev = prev_ban_count(prefix, jail, ip, off, overall) else prev = 0 end
          end
          if prev ~= expected then
            code, code_arg = 2, prev
            break
          end
        end
      end
      seen_ids[id] = true
      local until_seen = math.min(math.max(at, now), now + max_future) + findtime + grace
      new_seen[#new_seen + 1] = until_seen
      new_seen[#new_seen + 1] = id
      if seen_max == nil or until_seen > seen_max then seen_max = until_seen end
      pending[#pending + 1] = {t, id}
      for w = 2, weight do pending[#pending + 1] = {t, id .. '\\0' .. w} end
      if matches ~= '' then
        lines_of[id] = matches
        line_pairs[#line_pairs + 1] = id
        line_pairs[#line_pairs + 1] = matches
      end
      counted_total = counted_total + 1
      count = count + weight

      if count < maxretry then
        results[#results + 1] = 1
        results[#results + 1] = count
        results[#results + 1] = ''
      else
        local banning = not is_active()
        local lines = {}
        if banning then
          -- the matched lines of the whole window, in the window's order
          local stored_lines = {}
          if #stored > 0 then
            local ids = {}
            for k, e in ipairs(stored) do ids[k] = e[2] end
            each_chunk(ids, function(...)
              for _, v in ipairs(redis.call('HMGET', match, ...)) do stored_lines[#stored_lines + 1] = v end
            end)
            for k, e in ipairs(stored) do lines_of[e[2]] = stored_lines[k] end
          end
          -- by time; at the same time the stored ones (earlier batches) first, then in arrival order
          local order = {}
          for k, e in ipairs(pending) do
            local at = #order
            while at > 0 and order[at][1] > e[1] do at = at - 1 end
            table.insert(order, at + 1, e)
          end
          local p, q = 1, 1
          while p <= #stored or q <= #order do
            local e
            if q > #order or (p <= #stored and stored[p][1] <= order[q][1]) then
              e = stored[p]
              p = p + 1
            else
              e = order[q]
              q = q + 1
            end
            local v = lines_of[e[2]]
            if v then
              for _, line in ipairs(cjson.decode(v)) do lines[#lines + 1] = line end
            end
          end
        end
        -- the window is cleared: by the ban, or (like fail2ban, a ticket for an address that is
        -- already banned is dropped with its failures) because it is banned already
        if #stored > 0 then redis.call('DEL', fail, match) end
        stored, pending, lines_of, line_pairs = {}, {}, {}, {}
        dropped = true
        if banning then
          local source = sources[src]
          local rec = {jail = jail, ip = ip, at = now, ['until'] = until_value, bantime = bantime, origin = source[1], reason = reason, host = source[2], failures = count}
          if #lines > 0 then
            local from = math.max(1, #lines - max_matches + 1)
            rec.matches = {unpack(lines, from, #lines)}
          end
          if has_history then
            rec.banCount = redis.call('HINCRBY', off, 'count', 1)
            redis.call('HSET', off, 'lastBanAt', now_s)
          else
            rec.banCount = 1
            redis.call('HSET', off, 'count', 1, 'lastBanAt', now_s)
            has_history = true
          end
          redis.call('PEXPIRE', off, history_ttl)
          local json = cjson.encode(rec)
          ban_pairs[#ban_pairs + 1] = ip
          ban_pairs[#ban_pairs + 1] = json
          due_pairs[#due_pairs + 1] = until_score
          due_pairs[#due_pairs + 1] = ip
          banned_total = banned_total + 1
          audit_ban_entry(ip, json)
          results[#results + 1] = 1
          results[#results + 1] = count
          results[#results + 1] = json
          offences, last_ban, prev = rec.banCount, now, nil
          active_known, active = true, ban_end
        else
          results[#results + 1] = 1
          results[#results + 1] = count
          results[#results + 1] = ''
        end
        count = 0
      end
    end
    processed = i
  end

  if #new_seen > 0 then
    call_all('ZADD', seen, new_seen)
    -- kept until its last member ends: only a later last member moves the expiry
    if seen_last == nil or seen_max > seen_last then redis.call('PEXPIRE', seen, math.max(1, math.floor(seen_max - now) + 1)) end
  end
  if #pending > 0 then
    local flat, newest = {}, nil
    for _, e in ipairs(pending) do
      flat[#flat + 1] = e[1]
      flat[#flat + 1] = e[2]
      if newest == nil or e[1] > newest then newest = e[1] end
    end
    call_all('ZADD', fail, flat)
    call_all('HSET', match, line_pairs)
    -- the window lasts until its newest failure leaves it: a failure no newer than the stored ones
    -- leaves the expiry where it is; lines added to the match hash (maybe new) get the window's
    local stored_newest = #stored > 0 and stored[#stored][1] or nil
    if stored_newest ~= nil and stored_newest >= newest then
      newest = stored_newest
    else
      redis.call('PEXPIRE', fail, newest + findtime - now + 1)
    end
    if #line_pairs > 0 then redis.call('PEXPIRE', match, newest + findtime - now + 1) end
    local window_end = newest + findtime
    -- a window cleared here starts over (one by one: removed, then added again)
    local into = failing_add
    if dropped then into = failing_set end
    into[#into + 1] = window_end
    into[#into + 1] = ip
  elseif dropped then
    failing_rm[#failing_rm + 1] = ip
  end

  out[#out + 1] = code
  out[#out + 1] = processed
  out[#out + 1] = code_arg
  for _, r in ipairs(results) do out[#out + 1] = r end
end

if banned_total > 0 then
  call_all('HSET', bans, ban_pairs)
  call_all('ZADD', due, due_pairs)
  redis.call('HINCRBY', stats, 'totalBanned', banned_total)
end
if #failing_rm > 0 then call_all('ZREM', failing, failing_rm) end
if #failing_add > 0 then
  each_chunk(failing_add, function(...) redis.call('ZADD', failing, 'GT', ...) end)
end
call_all('ZADD', failing, failing_set)
if counted_total > 0 then
  redis.call('HINCRBY', stats, 'totalFailed', counted_total)
  expire_with_last(failing, now)
end
return out
`,
);
