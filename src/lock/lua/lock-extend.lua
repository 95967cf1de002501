-- Extends a lease only for its owner.
-- KEYS: 1
--   KEYS[1]  the lock key
-- ARGV[1]    the holder's token
-- ARGV[2]    new lease in ms
-- Returns    1 extended, 0 not the owner any more (expired or taken over)
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
