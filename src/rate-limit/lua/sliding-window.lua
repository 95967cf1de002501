-- Sliding-window counter (Cloudflare's approximation) for one client of one route and one
-- throttler, atomically, with Redis TIME as the clock. Windows are aligned to multiples of the
-- window length; the estimate of requests in the last window is prev * (w - e) / w + cur, where
-- e is the time into the current window. One hash key holds the window start, this window's
-- count, the previous window's count and an optional block deadline, so there is no
-- INCR-then-EXPIRE gap and the TTL is set in the same call. A refused request is not counted.
-- Comparisons are done in integers (prev * (w - e) + (cur + 1) * w <= limit * w), so the time
-- this script promises in retryAfterMs is exactly the time it will allow the next request.
-- KEYS: 1
--   KEYS[1]  the state hash: ws (window start ms), cur, prev, bu (blocked until ms)
-- ARGV[1]    window length in ms (>= 1)
-- ARGV[2]    limit (requests per window); 0 or less refuses every request
-- ARGV[3]    block duration in ms (0: none). When a request is refused, every request is refused
--            until max(now + block, the time the window has room again); refused requests
--            neither count nor extend the block.
-- ARGV[4]    optional '1': peek — decide as if this request came, but write nothing (a
--            caller that only counts some requests, e.g. failed logins, asks first)
-- Returns    { allowed (1/0), totalHits, resetMs, retryAfterMs }
--   totalHits     allowed: the estimate including this request, rounded up (<= limit);
--                 refused: limit + 1 (as @nestjs/throttler's storage reports)
--   resetMs       ms until the current window ends (1..window)
--   retryAfterMs  refused: ms until a request will be allowed if none is counted before
--                 (for limit <= 0, never: the window or the block); allowed: 0
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = math.floor(tonumber(ARGV[1]))
local limit = math.floor(tonumber(ARGV[2]))
local block = math.max(0, math.floor(tonumber(ARGV[3])))
local peek = ARGV[4] == '1'
if w < 1 then
  return redis.error_reply('ERR sliding-window: window must be at least 1 ms')
end

local h = redis.call('HMGET', KEYS[1], 'ws', 'cur', 'prev', 'bu')
local ws = tonumber(h[1]) or 0
local cur = tonumber(h[2]) or 0
local prev = tonumber(h[3]) or 0
local bu = tonumber(h[4]) or 0

local start = now - (now % w)
if start ~= ws then
  if start - ws == w then prev = cur else prev = 0 end
  cur = 0
  ws = start
end
local e = now - ws
local resetMs = w - e

if limit < 1 then
  return { 0, 1, resetMs, math.max(resetMs, block) }
end

if bu > now then
  return { 0, limit + 1, resetMs, bu - now }
end

local weighted = prev * (w - e) + (cur + 1) * w
if weighted <= limit * w then
  if not peek then
    cur = cur + 1
    redis.call('HSET', KEYS[1], 'ws', ws, 'cur', cur, 'prev', prev, 'bu', 0)
    redis.call('PEXPIRE', KEYS[1], 2 * w)
  end
  return { 1, math.ceil(weighted / w), resetMs, 0 }
end

-- Refused. When does one more request fit, if none is counted meanwhile? The estimate only
-- falls with time. In this window at offset x where prev * (w - x) <= room * w; else in the next
-- one (prev' = cur, cur' = 0) at offset y where cur * (w - y) <= (limit - 1) * w; y <= w, so at
-- the start of the window after that at the latest.
local room = limit - 1 - cur
local x = w
if room >= 0 and prev > 0 then x = w - math.floor(room * w / prev) end
local retry
if x < w then
  retry = x - e
else
  local y = 0
  if cur > 0 then y = math.max(0, w - math.floor((limit - 1) * w / cur)) end
  retry = resetMs + y
end

if block > 0 and not peek then
  -- The block ends when both the block and the window allow: a client that waits exactly
  -- retryAfterMs is let through, not blocked again.
  retry = math.max(retry, block)
  redis.call('HSET', KEYS[1], 'ws', ws, 'cur', cur, 'prev', prev, 'bu', now + retry)
  redis.call('PEXPIRE', KEYS[1], math.max(2 * w, retry))
end
return { 0, limit + 1, resetMs, retry }
