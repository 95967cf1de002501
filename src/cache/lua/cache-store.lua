-- Stores a cache entry unless the key was evicted after the load began (a tombstone newer
-- than the load's start). Without this check a load that read the database before a write
-- could store the old value after the write's eviction and serve it for the whole TTL.
-- KEYS: 1
--   KEYS[1]  the entry key
-- ARGV[1]    the entry (a line of JSON metadata, a newline, the value's text; see cache-store.ts)
-- ARGV[2]    PX in ms
-- ARGV[3]    when the load began (ms epoch)
-- Returns    1 stored, 0 refused (evicted since the load began)
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, 1) == '!' and tonumber(string.sub(cur, 2)) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
