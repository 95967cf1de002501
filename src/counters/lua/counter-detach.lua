-- Starts a flush: moves the pending increments aside, atomically, under a new batch id. If a
-- batch is still there (a flusher died, or another one is busy), returns it instead so it is
-- finished first; increments keep landing in a fresh pending hash meanwhile.
-- KEYS: 2
--   KEYS[1]  pending increments      KEYS[2]  the flushing batch
-- ARGV[1]    a new batch id
-- Returns    { batch id, 1 if it is an existing batch else 0 } or false when there is nothing to flush
local existing = redis.call('HGET', KEYS[2], '__batch')
if existing then return { existing, 1 } end
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], '__batch', ARGV[1])
return { ARGV[1], 0 }
