-- Renew: move the deadline of one reservation's holds and concurrency slots (long streams).
-- Mirrors MemoryStore.renew in doorman/limits/memory.py.
--
-- KEYS: two per limit (state key, holds key).
-- ARGV: now, lease_id, deadline, kinds: "kind;kind;..." (one per limit).
-- Returns the number of leases that were still held (expired ones are not brought back).

local now = tonumber(ARGV[1])
local lease = ARGV[2]
local deadline = tonumber(ARGV[3])
local kinds = {}
for k in string.gmatch(ARGV[4], "[^;]+") do kinds[#kinds + 1] = k end
local n = #kinds
local held = 0

local function fmt(x)
  return string.format("%.6f", x)
end

for i = 1, n do
  local kind = kinds[i]
  local key = KEYS[2 * i - 1]
  local hkey = KEYS[2 * i]
  local zkey = nil
  if kind == "window" then zkey = hkey elseif kind == "concurrency" then zkey = key end
  if zkey then
    local score = redis.call("ZSCORE", zkey, lease)
    if score and tonumber(score) > now then
      redis.call("ZADD", zkey, "XX", fmt(deadline), lease)
      local ttl = redis.call("PTTL", zkey)
      local want = math.ceil((deadline - now) * 1000) + 60000
      if ttl >= 0 and ttl < want then redis.call("PEXPIRE", zkey, want) end
      held = held + 1
    end
  end
end
return held
