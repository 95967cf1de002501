-- ListQueue: pushes a lease's deadline back, only for the delivery that holds it.
-- KEYS: 2
--   KEYS[1]  leases sorted set (id -> deadline ms)
--   KEYS[2]  lease tokens hash (id -> token)
-- ARGV[1]    job id
-- ARGV[2]    the holder's token
-- ARGV[3]    visibility timeout, ms (new deadline = Redis time + this)
-- Returns    1 extended, 0 not held any more (expired and reclaimed, or completed)
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then
  return 0
end
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'XX', deadline, ARGV[1])
return 1
