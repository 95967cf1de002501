-- Reads a session and, at most once per touch interval, pushes its idle deadline back: one call
-- per request whatever happens.
-- KEYS: 1
--   KEYS[1]  the session hash (u user, e email, r roles, c created, s last seen, a absolute
--            end, ua, ip, d data), keyed by a hash of the session id
-- ARGV[1]    touch interval, ms
-- ARGV[2]    idle timeout, ms
-- Returns    nil when there is no such session or its absolute lifetime is over (then deleted);
--            else the hash as a flat list, `s` updated when it was touched now
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return nil end
local absIdx, seenIdx
for i = 1, #h, 2 do
  if h[i] == 'a' then absIdx = i + 1 elseif h[i] == 's' then seenIdx = i + 1 end
end
local absolute = tonumber(h[absIdx] or '0') or 0
if absolute <= now then
  redis.call('DEL', KEYS[1])
  return nil
end
local seen = tonumber(h[seenIdx] or '0') or 0
if now - seen >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 's', now)
  redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[2]), absolute - now))
  if seenIdx then h[seenIdx] = tostring(now) end
end
return h
