-- Pushes a session's idle deadline back when a touch is due. SessionStore.read runs it only when
-- its plain HGETALL shows the last touch is at least the touch interval old (judged on the app
-- clock corrected by the offset this script reports), so a request costs one command, and a
-- session one write per touch interval.
-- KEYS: 1
--   KEYS[1]  the session hash (see session-create.lua)
-- ARGV[1]    touch interval, ms
-- ARGV[2]    idle timeout, ms
-- Returns    nil when there is no such session or its absolute lifetime is over (then deleted);
--            else { Redis time in ms, last seen in ms after this call }
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'a', 's')
if not h[1] then return nil end
local absolute = tonumber(h[1]) or 0
if absolute <= now then
  redis.call('DEL', KEYS[1])
  return nil
end
local seen = tonumber(h[2] or '0') or 0
if now - seen >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 's', now)
  redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[2]), absolute - now))
  seen = now
end
return { now, seen }
