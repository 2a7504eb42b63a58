-- Reserve: check every limit, then consume all of them only if every check passed (all or none).
-- Mirrors doorman/limits/memory.py; see doorman/limits/store.py for the three kinds of state.
--
-- KEYS: two per limit: the state key and the holds key (same hash tag, so same cluster slot).
-- ARGV: now, lease_id, deadline, dry_run ("1" = check only), limits:
--       limits packs five fields per limit, "kind,capacity,amount,period,ttl;..." (one argument
--       instead of five per limit: encoding arguments dominates the client's cost).
-- Amounts and capacities are integers (requests, tokens, nano-dollars); times are seconds.
-- Returns one string: "ok,retry,remaining,reset;..." per limit (retry -1 = never fits).

local now = tonumber(ARGV[1])
local lease = ARGV[2]
local deadline = tonumber(ARGV[3])
local dry = ARGV[4] == "1"
local limits = {}
for rec in string.gmatch(ARGV[5], "[^;]+") do
  local f = {}
  for x in string.gmatch(rec, "[^,]+") do f[#f + 1] = x end
  limits[#limits + 1] = f
end
local n = #limits
local SLACK = 0.5 -- units; see SLACK in doorman/limits/store.py

local function fmt(x)
  return string.format("%.6f", x)
end

local function int(x)
  return string.format("%d", x)
end

local checks = {}
local all_ok = true

for i = 1, n do
  local f = limits[i]
  local kind = f[1]
  local cap = tonumber(f[2])
  local amount = tonumber(f[3])
  local period = tonumber(f[4])
  local key = KEYS[2 * i - 1]
  local hkey = KEYS[2 * i]
  local c = {ok = false, retry = -1, remaining = 0, reset = 0}

  if kind == "rate" then
    local tat = tonumber(redis.call("GET", key) or now)
    if tat < now then tat = now end
    if cap <= 0 then
      c.ok = amount == 0
      c.retry = -1
    else
      local interval = period / cap
      local new_tat = tat + amount * interval
      if new_tat - now <= period + interval * SLACK then
        c.ok = true
        c.retry = 0
        c.new = new_tat
        c.remaining = math.max(0, math.floor((period - (new_tat - now)) / interval + SLACK))
        c.reset = new_tat - now
      else
        if amount > cap then c.retry = -1 else c.retry = new_tat - period - now end
        c.remaining = math.max(0, math.floor((period - (tat - now)) / interval + SLACK))
        c.reset = tat - now
      end
    end
  elseif kind == "window" then
    -- Reclaim holds whose lease ran out (a replica died before settling).
    local expired = redis.call("ZRANGEBYSCORE", hkey, "-inf", fmt(now))
    for _, id in ipairs(expired) do
      local amt = redis.call("HGET", key, "h:" .. id)
      if amt then
        redis.call("HINCRBY", key, "held", "-" .. amt)
        redis.call("HDEL", key, "h:" .. id)
      end
    end
    if #expired > 0 then redis.call("ZREMRANGEBYSCORE", hkey, "-inf", fmt(now)) end
    local used = tonumber(redis.call("HGET", key, "used") or "0")
    local held = tonumber(redis.call("HGET", key, "held") or "0")
    local total = used + held
    c.reset = period
    if total + amount <= cap then
      c.ok = true
      c.retry = 0
      c.remaining = cap - total - amount
    else
      c.remaining = math.max(0, cap - total)
      if amount > cap then
        c.retry = -1
      elseif used + amount <= cap then
        c.retry = math.min(period, 1)
      else
        c.retry = period
      end
    end
  else -- concurrency
    redis.call("ZREMRANGEBYSCORE", key, "-inf", fmt(now))
    local count = redis.call("ZCARD", key)
    if count + amount <= cap then
      c.ok = true
      c.retry = 0
      c.remaining = cap - count - amount
    else
      c.remaining = math.max(0, cap - count)
      if amount > cap then
        c.retry = -1
      else
        local first = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
        c.retry = math.min(1, math.max(0, tonumber(first[2]) - now))
      end
    end
  end
  if not c.ok then all_ok = false end
  checks[i] = c
end

if all_ok and not dry then
  for i = 1, n do
    local f = limits[i]
    local kind = f[1]
    local amount_s = f[3]
    local amount = tonumber(amount_s)
    local ttl = math.ceil(tonumber(f[5]))
    local key = KEYS[2 * i - 1]
    local hkey = KEYS[2 * i]
    local c = checks[i]
    if kind == "rate" then
      if amount > 0 then
        redis.call("SET", key, fmt(c.new), "PX", math.ceil((c.new - now) * 1000) + 1000)
      end
    elseif kind == "window" then
      if amount > 0 then
        redis.call("HINCRBY", key, "held", amount_s)
        redis.call("HSET", key, "h:" .. lease, amount_s)
        redis.call("ZADD", hkey, fmt(deadline), lease)
        redis.call("EXPIRE", hkey, ttl)
      end
      redis.call("EXPIRE", key, ttl)
    else
      redis.call("ZADD", key, fmt(deadline), lease)
      local last = redis.call("ZRANGE", key, -1, -1, "WITHSCORES")
      redis.call("PEXPIRE", key, math.ceil((tonumber(last[2]) - now) * 1000) + 60000)
    end
  end
end

local out = {}
for i = 1, n do
  local c = checks[i]
  out[i] = (c.ok and "1," or "0,") .. fmt(c.retry) .. "," .. int(c.remaining) .. "," .. fmt(c.reset)
end
return table.concat(out, ";")
