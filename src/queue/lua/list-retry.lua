-- ListQueue: a failed attempt. With the lease still held: either schedule the job again after a
-- delay (a sorted set of due times; list-reap.lua promotes it to ready when due) or, when its
-- retries are used up, move it to the failed hash with its reason (dead letter).
-- KEYS: 7
--   KEYS[1]  processing list
--   KEYS[2]  leases sorted set
--   KEYS[3]  lease tokens hash
--   KEYS[4]  jobs hash
--   KEYS[5]  delayed sorted set (id -> due time, ms of Redis time)
--   KEYS[6]  failed hash (id -> {"job":…,"reason":…,"failedAt":…})
--   KEYS[7]  stalls hash
-- ARGV[1]    job id
-- ARGV[2]    the holder's token
-- ARGV[3]    the job JSON with its attempts counted (written by TypeScript)
-- ARGV[4]    delay in ms before the next attempt; -1 = dead-letter now
-- ARGV[5]    reason (the error message)
-- Returns    {1, due time ms} scheduled, {2, failedAt ms} dead-lettered, {0} lease not held
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return {0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
local delay = tonumber(ARGV[4])
if delay < 0 then
  redis.call('HDEL', KEYS[4], ARGV[1])
  redis.call('HDEL', KEYS[7], ARGV[1])
  redis.call('HSET', KEYS[6], ARGV[1],
    '{"job":' .. ARGV[3] .. ',"reason":' .. cjson.encode(ARGV[5]) .. ',"failedAt":' .. now .. '}')
  return {2, now}
end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[5], now + delay, ARGV[1])
return {1, now + delay}
