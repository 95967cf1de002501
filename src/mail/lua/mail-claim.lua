-- Before an SMTP send: has this key been sent already, or is another attempt sending it now?
-- If neither, takes the claim (SET NX PX) so no second attempt sends concurrently.
-- KEYS: 2
--   KEYS[1]  the sent marker of the key (string: Message-ID)
--   KEYS[2]  the claim (string: the sending attempt's random token)
-- ARGV[1]    this attempt's token
-- ARGV[2]    the claim's TTL (ms)
-- Returns    { 0, Message-ID } already sent, { 1, '' } claimed, { 2, PTTL of the claim } another attempt holds it
local sent = redis.call('GET', KEYS[1])
if sent then return { 0, sent } end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return { 1, '' } end
return { 2, tostring(redis.call('PTTL', KEYS[2])) }
