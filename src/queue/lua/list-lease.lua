-- ListQueue: leases a job a consumer has just moved with BLMOVE ready -> processing.
-- BLMOVE blocks, so it cannot run inside a script: between the move and this script a consumer
-- may die. Nothing is lost: list-reap.lua gives every processing entry without a lease a
-- deadline ("adoption"), so an orphan returns to ready after the visibility timeout.
-- KEYS: 4
--   KEYS[1]  processing list
--   KEYS[2]  leases sorted set (id -> deadline ms)
--   KEYS[3]  lease tokens hash (id -> token)
--   KEYS[4]  jobs hash (id -> job JSON)
-- ARGV[1]    job id
-- ARGV[2]    this delivery's token
-- ARGV[3]    visibility timeout, ms
-- Returns    {1, job JSON} leased; {0} not ours: another delivery holds it, or the reaper
--            already returned it to ready (this consumer stalled past the timeout)
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  return {0}
end
if not redis.call('LPOS', KEYS[1], ARGV[1]) then
  return {0}
end
local json = redis.call('HGET', KEYS[4], ARGV[1])
if not json then
  redis.call('LREM', KEYS[1], 1, ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {0}
end
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], deadline, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return {1, json}
