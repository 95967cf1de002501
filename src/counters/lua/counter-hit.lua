-- Counts one event and reads what the live value needs, in one round trip.
-- KEYS: 2
--   KEYS[1]  pending increments (hash: id -> n)
--   KEYS[2]  the batch being flushed, if any (hash: id -> n, plus __batch -> batch id)
-- ARGV[1]    the id
-- ARGV[2]    increment (0 only reads)
-- Returns    { pending n for the id after the increment, n in the flushing batch, that batch's id or false }
local pending
if tonumber(ARGV[2]) ~= 0 then
  pending = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
else
  pending = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
end
local flushing = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
return { pending, flushing, redis.call('HGET', KEYS[2], '__batch') }
