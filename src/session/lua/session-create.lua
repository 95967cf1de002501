-- Stores a new session with Redis TIME as its clock (the touch script uses the same clock).
-- KEYS: 1
--   KEYS[1]  the session hash (keyed by a hash of the new session id)
-- ARGV[1]    idle timeout, ms
-- ARGV[2]    absolute lifetime, ms
-- ARGV[3..]  field, value pairs (u, e, r, ua, ip, d)
-- Returns    { created at, absolute end } in ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local absolute = now + tonumber(ARGV[2])
local fields = { 'c', now, 's', now, 'a', absolute }
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[1]), tonumber(ARGV[2])))
return { now, absolute }
