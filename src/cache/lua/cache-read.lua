-- Reads a cache entry and its remaining lifetime in one round trip (XFetch needs both).
-- KEYS: 1
--   KEYS[1]  the entry key
-- Returns    { value or false, pttl in ms (-2 missing, -1 no expiry) }
return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }
