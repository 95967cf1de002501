-- Keeps a claim alive while its SMTP send is still running (only the holder's token extends it).
-- KEYS: 1
--   KEYS[1]  the claim
-- ARGV[1]    the holder's token
-- ARGV[2]    the new TTL (ms)
-- Returns    1 extended, 0 the claim is gone or another's
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
