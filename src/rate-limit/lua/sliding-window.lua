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
-- ARGV[5]    optional n >= 1 (default 1): reserve up to n requests at once (the approximate
--            mode's lease): as many as fit, at least 1, or the request is refused as for n = 1
-- Returns    { allowed (1/0), totalHits, resetMs, retryAfterMs, granted }
--   totalHits     allowed: the estimate including the granted requests, rounded up (<= limit);
--                 refused: limit + 1 (as @nestjs/throttler's storage reports)
--   granted       requests counted (1..n) when allowed; 0 when refused
-- Writes: the whole hash and its TTL (2 windows) when a window starts; within a window an
-- admission is one HINCRBY (the TTL set at the window's start covers the next window too).
--   resetMs       ms until the current window ends (1..window)
--   retryAfterMs  refused: ms until a request will be allowed if none is counted before
--                 (for limit <= 0, never: the window or the block); allowed: 0
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = math.floor(tonumber(ARGV[1]))
local limit = math.floor(tonumber(ARGV[2]))
local block = math.max(0, math.floor(tonumber(ARGV[3])))
local peek = ARGV[4] == '1'
local n = math.max(1, math.floor(tonumber(ARGV[5] or '1') or 1))
if w < 1 then
  return redis.error_reply('ERR sliding-window: window must be at least 1 ms')
end

local h = redis.call('HMGET', KEYS[1], 'ws', 'cur', 'prev', 'bu')
local ws = tonumber(h[1]) or 0
local cur = tonumber(h[2]) or 0
local prev = tonumber(h[3]) or 0
local bu = tonumber(h[4]) or 0

local start = now - (now % w)
local rolled = start ~= ws
if rolled then
  if start - ws == w then prev = cur else prev = 0 end
  cur = 0
  ws = start
end
local e = now - ws
local resetMs = w - e

if limit < 1 then
  return { 0, 1, resetMs, math.max(resetMs, block), 0 }
end

if bu > now then
  return { 0, limit + 1, resetMs, bu - now, 0 }
end

-- The most requests that fit now: prev * (w - e) + (cur + k) * w <= limit * w.
local k = math.min(n, math.floor((limit * w - prev * (w - e)) / w) - cur)
if k >= 1 then
  if not peek then
    if rolled then
      redis.call('HSET', KEYS[1], 'ws', ws, 'cur', cur + k, 'prev', prev, 'bu', 0)
      redis.call('PEXPIRE', KEYS[1], 2 * w)
    else
      redis.call('HINCRBY', KEYS[1], 'cur', k)
    end
  end
  return { 1, math.ceil((prev * (w - e) + (cur + k) * w) / w), resetMs, 0, k }
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
return { 0, limit + 1, resetMs, retry, 0 }
