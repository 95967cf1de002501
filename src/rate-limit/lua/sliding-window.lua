-- Sliding-window counter (Cloudflare's approximation) for one client of one route, atomically,
-- with Redis TIME as the clock. One hash key holds the window start, this window's count, the
-- previous window's count and an optional block deadline, so there is no INCR-then-EXPIRE gap
-- and the TTL is set in the same call. A rejected request is not counted.
-- KEYS: 1
--   KEYS[1]  the client's hash: ws (window start ms), cur, prev, bu (blocked until ms)
-- ARGV[1]    window length in ms
-- ARGV[2]    limit (requests per window)
-- ARGV[3]    block duration in ms after the limit is hit (0: none, the window alone decides)
-- Returns    { allowed (1/0), used (estimate incl. this request), resetMs, retryAfterMs }
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local block = tonumber(ARGV[3])

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
local resetMs = ws + w - now

if bu > now then
  return { 0, limit, resetMs, bu - now }
end

local elapsed = (now - ws) / w
local estimate = prev * (1 - elapsed) + cur
if estimate + 1 > limit then
  -- When will one more request fit (estimate <= limit - 1)?
  local retry
  if prev > 0 and cur <= limit - 1 then
    local e = 1 - (limit - 1 - cur) / prev
    retry = math.max(1, math.ceil(e * w - (now - ws)))
  else
    local x = 0
    if cur > limit - 1 then x = w * (1 - (limit - 1) / cur) end
    retry = math.max(1, math.ceil(resetMs + x))
  end
  if block > 0 then
    bu = now + block
    retry = math.max(retry, block)
    redis.call('HSET', KEYS[1], 'ws', ws, 'cur', cur, 'prev', prev, 'bu', bu)
    redis.call('PEXPIRE', KEYS[1], math.max(2 * w, block))
  end
  return { 0, limit, resetMs, retry }
end

cur = cur + 1
redis.call('HSET', KEYS[1], 'ws', ws, 'cur', cur, 'prev', prev, 'bu', 0)
redis.call('PEXPIRE', KEYS[1], 2 * w)
return { 1, math.ceil(estimate + 1), resetMs, 0 }
