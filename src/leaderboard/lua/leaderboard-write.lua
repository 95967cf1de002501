-- Sets or increments a member's score on a board, within bounds anonymous clients cannot
-- exceed, and answers its rank and score in the same call.
-- KEYS: 2
--   KEYS[1]  the board (sorted set: member -> score)
--   KEYS[2]  the registry of boards (sorted set: board name -> last write, ms)
-- ARGV[1]    board name
-- ARGV[2]    member
-- ARGV[3]    score (set) or increment (incr)
-- ARGV[4]    'set' | 'incr'
-- ARGV[5]    most boards that may exist at once
-- ARGV[6]    most entries a board keeps (its top entries by score)
-- ARGV[7]    idle lifetime, ms: a board (and its registry entry) not written for this long expires
-- Returns    { rank (0-based, highest first), score as a string } on success;
--            { -1 } when the board is new and the board limit is reached;
--            { -2 } when the board is full and this score would not be among its top entries
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local idle = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - idle)
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
  return { -1 }
end
local maxEntries = tonumber(ARGV[6])
local current = redis.call('ZSCORE', KEYS[1], ARGV[2])
local score
if ARGV[4] == 'incr' then
  score = (tonumber(current) or 0) + tonumber(ARGV[3])
else
  score = tonumber(ARGV[3])
end
if not current and redis.call('ZCARD', KEYS[1]) >= maxEntries then
  local lowest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if score <= tonumber(lowest[2]) then
    return { -2 }
  end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
end
if ARGV[4] == 'incr' then
  redis.call('ZINCRBY', KEYS[1], ARGV[3], ARGV[2])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], idle)
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('PEXPIRE', KEYS[2], idle)
return { redis.call('ZREVRANK', KEYS[1], ARGV[2]), redis.call('ZSCORE', KEYS[1], ARGV[2]) }
