-- After the SMTP server accepted the message: writes the sent marker and drops the claim
-- (only if it is still this attempt's), in one step.
-- KEYS: 2
--   KEYS[1]  the sent marker of the key
--   KEYS[2]  the claim
-- ARGV[1]    this attempt's token
-- ARGV[2]    the Message-ID
-- ARGV[3]    the marker's TTL (ms)
-- Returns    1
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
