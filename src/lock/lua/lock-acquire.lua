-- Acquires a lock and issues its fencing token in one step.
-- KEYS: 2
--   KEYS[1]  the lock key (value: the holder's random token)
--   KEYS[2]  the resource's last fencing token
-- ARGV[1]    the holder's token (>= 128 random bits)
-- ARGV[2]    lease in ms
-- ARGV[3]    how long the last token is remembered, ms (longer than the lease)
-- Returns    the fencing token (> 0) when acquired, 0 when held by someone else
--
-- The token is max(last token + 1, Redis time in microseconds). The clock floor keeps tokens
-- increasing when Redis loses the last token (restart without persistence, FLUSHALL, a
-- failover that lost writes, a new key prefix against the same database): the next token is
-- still above every token issued before, as long as the server clock does not go back. It
-- also lets the last-token key expire, so no resource leaves a key behind for ever.
--
-- The floor is written and the last token read in one command (SET ... GET, Redis >= 6.2);
-- only when the last token is not below the floor (two acquisitions within a microsecond, a
-- clock that went back) is last + 1 written over it. The script is atomic: nobody sees the
-- floor in between.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 0
end
local t = redis.call('TIME')
local token = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(redis.call('SET', KEYS[2], string.format('%.0f', token), 'PX', ARGV[3], 'GET') or '0')
if last >= token then
  token = last + 1
  redis.call('SET', KEYS[2], string.format('%.0f', token), 'PX', ARGV[3])
end
return token
