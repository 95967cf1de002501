-- Records one message in the development outbox exactly once per key: the entry and its
-- "sent" marker are written together, so a retried job (its worker crashed after this script
-- ran) finds the marker and adds nothing.
-- KEYS: 2
--   KEYS[1]  the sent marker of the key (string: Message-ID)
--   KEYS[2]  the outbox (list of JSON entries, newest first)
-- ARGV[1]    the entry (JSON)
-- ARGV[2]    the outbox's length cap (the last n messages are kept)
-- ARGV[3]    the marker's TTL (ms)
-- ARGV[4]    the Message-ID
-- Returns    { 1, Message-ID } recorded now, { 0, Message-ID of the first time } already sent
local existing = redis.call('GET', KEYS[1])
if existing then return { 0, existing } end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[3])
return { 1, ARGV[4] }
