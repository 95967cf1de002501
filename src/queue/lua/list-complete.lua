-- ListQueue: finishes a job, only if the caller's delivery still holds the lease. A late
-- completion (the lease expired, the job went back to ready and was delivered again) must not
-- remove the new delivery: its token differs, so this returns 0 and changes nothing.
-- KEYS: 5
--   KEYS[1]  processing list
--   KEYS[2]  leases sorted set
--   KEYS[3]  lease tokens hash
--   KEYS[4]  jobs hash
--   KEYS[5]  stalls hash (id -> times its lease expired)
-- ARGV[1]    job id
-- ARGV[2]    the holder's token
-- Returns    1 completed (job deleted), 0 lease not held
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
return 1
