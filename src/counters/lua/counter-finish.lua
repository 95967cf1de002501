-- Ends a flush: deletes the batch, only if it is still the one this flusher applied.
-- KEYS: 1
--   KEYS[1]  the flushing batch
-- ARGV[1]    the batch id
-- Returns    1 deleted, 0 not (another batch, or already gone)
if redis.call('HGET', KEYS[1], '__batch') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
