-- One failed authentication from a client address; locks the address out on a burst.
-- KEYS[1] failures counter, KEYS[2] lock flag, KEYS[3] lock-out counter (all share a hash tag)
-- ARGV[1] window ms, ARGV[2] failures before lock-out, ARGV[3] base lock ms, ARGV[4] max lock ms
-- Returns {failures, lock_ms, lockouts}; lock_ms > 0 when this failure started a lock-out.
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
if n >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  local l = redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], math.floor(tonumber(ARGV[4]) * 2))
  local d = math.min(tonumber(ARGV[3]) * (2 ^ (l - 1)), tonumber(ARGV[4]))
  d = math.floor(d)
  redis.call('SET', KEYS[2], '1', 'PX', d)
  return {n, d, l}
end
return {n, 0, 0}
