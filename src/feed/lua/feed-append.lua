-- Appends one activity to one user's feed, once per source activity (fan-out is at least once:
-- a claimed redelivery must not add it twice). Both keys share the user's hash slot.
-- KEYS: 2
--   KEYS[1]  the feed stream              KEYS[2]  the sorted set of source ids in that feed
-- ARGV[1]    MAXLEN of the feed (trimmed with ~ inside XADD)
-- ARGV[2]    source activity id (member)  ARGV[3]  its time in ms (score)
-- ARGV[4]    forget sources older than this (ms; 0 = none): the fan-out group's low-water mark,
--            below which no activity can be delivered again
-- ARGV[5]    most sources remembered (a safety bound on the set)
-- ARGV[6..]  field, value, … of the entry
-- Returns    the new entry id, or false (nil) when this source is already in the feed
if redis.call('ZSCORE', KEYS[2], ARGV[2]) then
  return false
end
local fields = {}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
if tonumber(ARGV[4]) > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
end
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if extra > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
return id
