-- ListQueue: puts a dead-lettered job back in ready with its attempts reset.
-- KEYS: 3
--   KEYS[1]  failed hash
--   KEYS[2]  jobs hash
--   KEYS[3]  ready list
-- ARGV[1]    job id
-- ARGV[2]    the job JSON with attempts 0 (written by TypeScript from the failed record)
-- Returns    1 requeued, 0 no such failed job (unknown, or requeued meanwhile)
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('LPUSH', KEYS[3], ARGV[1])
return 1
