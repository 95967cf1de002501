-- Write-through for a derived list + counter hash (recent posts and post stats of a user),
-- atomically. Only structures that already exist are updated: pushing onto an evicted list or
-- incrementing an evicted hash would create a partial value that looks complete (a list with
-- one post, postCount = 1). Missing structures are rebuilt from the database on the next read.
-- KEYS: 2
--   KEYS[1]  the list (newest first)        KEYS[2]  the stats hash
-- ARGV[1]    the element to push            ARGV[2]  list length cap
-- ARGV[3]    hash field to increment        ARGV[4]  TTL in ms for both
-- Returns    { 1 if the list was updated else 0, 1 if the hash was updated else 0 }
local listUpdated, hashUpdated = 0, 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('LPUSH', KEYS[1], ARGV[1])
  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  listUpdated = 1
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  hashUpdated = 1
end
return { listUpdated, hashUpdated }
