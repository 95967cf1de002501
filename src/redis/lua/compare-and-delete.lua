-- Deletes a key only when it still holds the expected value (owner-checked release).
-- KEYS: 1
--   KEYS[1]  the key
-- ARGV[1]    the expected value (e.g. a lock token)
-- Returns    1 when deleted, 0 when the key is missing or holds another value.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
