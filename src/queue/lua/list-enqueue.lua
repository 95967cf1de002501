-- ListQueue: adds a job (the from-scratch list queue next to BullMQ; see list-queue.ts).
-- KEYS: 2
--   KEYS[1]  ready list (job ids; LPUSH here, consumers take from the right: FIFO)
--   KEYS[2]  jobs hash (id -> job JSON)
-- ARGV[1]    job id
-- ARGV[2]    job JSON ({id, type, data, attempts, createdAt}, written by TypeScript only)
-- Returns    1 queued, 0 a job with this id exists already (nothing changed)
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('LPUSH', KEYS[1], ARGV[1])
return 1
