-- ListQueue maintenance, run by every consumer every few hundred ms. Idempotent and atomic, so
-- any number of consumers may run it at once: each step only acts on what is due now.
--  1. promotes delayed jobs whose due time has come to ready;
--  2. returns jobs whose lease expired (their consumer died, or stalled past the visibility
--     timeout) to ready, at the consumer end (they waited longest); a job whose lease expired
--     more than maxStalls times goes to the failed hash instead (a poison job that kills its
--     consumers must not circulate for ever);
--  3. adopts processing entries without a lease (a consumer died between BLMOVE and
--     list-lease.lua): they get a deadline now, so step 2 returns them later. A live consumer's
--     list-lease.lua replaces that deadline with its own lease.
-- KEYS: 8
--   KEYS[1]  ready list
--   KEYS[2]  processing list
--   KEYS[3]  leases sorted set (id -> deadline ms)
--   KEYS[4]  lease tokens hash
--   KEYS[5]  jobs hash
--   KEYS[6]  delayed sorted set (id -> due ms)
--   KEYS[7]  failed hash
--   KEYS[8]  stalls hash (id -> times its lease expired)
-- ARGV[1]    visibility timeout, ms
-- ARGV[2]    maxStalls
-- ARGV[3]    at most this many jobs per step (bounds the script's run time)
-- Returns    {promoted, reclaimed, dead-lettered, adopted}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[3])

local promoted = 0
local due = redis.call('ZRANGE', KEYS[6], '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[6], id)
  redis.call('LPUSH', KEYS[1], id)
  promoted = promoted + 1
end

local reclaimed, dead = 0, 0
local expired = redis.call('ZRANGE', KEYS[3], '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  if redis.call('LREM', KEYS[2], 1, id) > 0 then
    local json = redis.call('HGET', KEYS[5], id)
    local stalls = redis.call('HINCRBY', KEYS[8], id, 1)
    if not json then
      redis.call('HDEL', KEYS[8], id)
    elseif stalls > tonumber(ARGV[2]) then
      redis.call('HDEL', KEYS[5], id)
      redis.call('HDEL', KEYS[8], id)
      redis.call('HSET', KEYS[7], id, '{"job":' .. json .. ',"reason":' ..
        cjson.encode('lease expired ' .. stalls .. ' times (its consumer died or ran past the visibility timeout)') ..
        ',"failedAt":' .. now .. '}')
      dead = dead + 1
    else
      redis.call('RPUSH', KEYS[1], id)
      reclaimed = reclaimed + 1
    end
  end
end

local adopted = 0
-- From the tail: the oldest entries (consumers push at the head), where a dead consumer's
-- orphan ends up; one just moved by a live consumer is adopted harmlessly too.
local inflight = redis.call('LRANGE', KEYS[2], -limit, -1)
if #inflight > 0 then
  local scores = redis.call('ZMSCORE', KEYS[3], unpack(inflight))
  local deadline = now + tonumber(ARGV[1])
  for i, id in ipairs(inflight) do
    if not scores[i] then
      redis.call('ZADD', KEYS[3], 'NX', deadline, id)
      adopted = adopted + 1
    end
  end
end
return {promoted, reclaimed, dead, adopted}
