-- Acquires a lock and issues its fencing token in one step.
-- KEYS: 2
--   KEYS[1]  the lock key (value: the holder's random token)
--   KEYS[2]  the resource's fencing counter (never expires; only grows)
-- ARGV[1]    the holder's token (>= 128 random bits)
-- ARGV[2]    lease in ms
-- Returns    the fencing token (> 0) when acquired, 0 when held by someone else
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
