-- Settle (or release): the actual usage replaces the reservation; the difference is refunded.
-- Mirrors MemoryStore.settle in doorman/limits/memory.py.
--
-- KEYS: two per limit (state key, holds key).
-- ARGV: now, lease_id, then six per limit: kind, capacity, reserved, actual, period, ttl.
-- A release is a settle with actual = 0 everywhere.

local now = tonumber(ARGV[1])
local lease = ARGV[2]
local n = (#ARGV - 2) / 6

local function fmt(x)
  return string.format("%.6f", x)
end

for i = 1, n do
  local b = 2 + (i - 1) * 6
  local kind = ARGV[b + 1]
  local cap = tonumber(ARGV[b + 2])
  local reserved = tonumber(ARGV[b + 3])
  local actual_s = ARGV[b + 4]
  local actual = tonumber(actual_s)
  local period = tonumber(ARGV[b + 5])
  local ttl = math.ceil(tonumber(ARGV[b + 6]))
  local key = KEYS[2 * i - 1]
  local hkey = KEYS[2 * i]

  if kind == "rate" then
    local delta = actual - reserved
    if delta ~= 0 and cap > 0 then
      local interval = period / cap
      local cur = redis.call("GET", key)
      if delta < 0 then
        if cur then
          local new = tonumber(cur) + delta * interval
          if new <= now then
            redis.call("DEL", key)
          else
            redis.call("SET", key, fmt(new), "PX", math.ceil((new - now) * 1000) + 1000)
          end
        end
      else
        local base = tonumber(cur or now)
        if base < now then base = now end
        local new = base + delta * interval
        redis.call("SET", key, fmt(new), "PX", math.ceil((new - now) * 1000) + 1000)
      end
    end
  elseif kind == "window" then
    local amt = redis.call("HGET", key, "h:" .. lease)
    if amt then
      redis.call("HINCRBY", key, "held", "-" .. amt)
      redis.call("HDEL", key, "h:" .. lease)
      redis.call("ZREM", hkey, lease)
    end
    if actual > 0 then
      redis.call("HINCRBY", key, "used", actual_s)
      if redis.call("TTL", key) < 0 then redis.call("EXPIRE", key, ttl) end
    end
  else
    redis.call("ZREM", key, lease)
  end
end
return 1
