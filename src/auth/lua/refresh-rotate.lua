-- Rotates a refresh token of a family, or detects its reuse (RFC 9700 §4.14.2), atomically: of
-- two concurrent refreshes of one token exactly one rotates it.
-- KEYS: 2
--   KEYS[1]  the family hash: cur (hash of the valid token), prev (hash of the one it replaced),
--            rot (when, ms), exp (the family's end, ms)
--   KEYS[2]  the user's set of family ids
-- ARGV[1]    hash of the presented token
-- ARGV[2]    hash of its replacement
-- ARGV[3]    reuse grace, ms
-- ARGV[4]    the family id
-- Returns    { 1, family end ms }  rotated: the replacement is now the valid token
--            { 0 }                 no such family (expired, revoked or never issued)
--            { 2 }                 the previous token again, within the grace: refused, family kept
--            { 3 }                 an older or unknown token: reuse, the family is revoked
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local f = redis.call('HMGET', KEYS[1], 'cur', 'prev', 'rot', 'exp')
if not f[1] then return { 0 } end
local expires = tonumber(f[4]) or 0
if expires <= now then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[4])
  return { 0 }
end
if f[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'prev', ARGV[1], 'rot', now)
  return { 1, expires }
end
if f[2] == ARGV[1] and now - (tonumber(f[3]) or 0) < tonumber(ARGV[3]) then
  return { 2 }
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[4])
return { 3 }
