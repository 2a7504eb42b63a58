-- Settle (or release): the actual usage replaces the reservation; the difference is refunded.
-- Mirrors MemoryStore.settle in doorman/limits/memory.py.
--
-- KEYS: two per limit (state key, holds key).
-- ARGV: now, lease_id, limits: "kind,capacity,reserved,actual,period,ttl;..." per limit.
-- A release is a settle with actual = 0 everywhere.

local now = tonumber(ARGV[1])
local lease = ARGV[2]
local limits = {}
for rec in string.gmatch(ARGV[3], "[^;]+") do
  local f = {}
  for x in string.gmatch(rec, "[^,]+") do f[#f + 1] = x end
  limits[#limits + 1] = f
end
local n = #limits

local function fmt(x)
  return string.format("%.6f", x)
end

for i = 1, n do
  local f = limits[i]
  local kind = f[1]
  local cap = tonumber(f[2])
  local reserved = tonumber(f[3])
  local actual_s = f[4]
  local actual = tonumber(actual_s)
  local period = tonumber(f[5])
  local ttl = math.ceil(tonumber(f[6]))
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
