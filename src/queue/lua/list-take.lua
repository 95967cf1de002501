-- ListQueue: takes up to n ready jobs without blocking, each moved to the processing list and
-- leased in the same atomic step (no window in which a crash could leave a job unleased).
-- Consumers use it while jobs are waiting and fall back to BLMOVE (then list-lease.lua) to
-- wait for new ones on an empty queue.
-- KEYS: 5
--   KEYS[1]  ready list
--   KEYS[2]  processing list
--   KEYS[3]  leases sorted set (id -> lease deadline, ms of Redis time)
--   KEYS[4]  lease tokens hash (id -> token of the delivery that holds it)
--   KEYS[5]  jobs hash (id -> job JSON)
-- ARGV[1]    n, at most this many jobs
-- ARGV[2]    visibility timeout, ms
-- ARGV[3]    token base (random); the i-th job's token is base .. ':' .. i
-- Returns    flat array id1, token1, json1, id2, ... (empty when nothing is ready)
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2])
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not id then break end
  local json = redis.call('HGET', KEYS[5], id)
  if json then
    local token = ARGV[3] .. ':' .. i
    redis.call('ZADD', KEYS[3], deadline, id)
    redis.call('HSET', KEYS[4], id, token)
    out[#out + 1] = id
    out[#out + 1] = token
    out[#out + 1] = json
  else
    -- an id without a job (cannot happen through this API): drop it rather than deliver nothing
    redis.call('LREM', KEYS[2], 1, id)
  end
end
return out
