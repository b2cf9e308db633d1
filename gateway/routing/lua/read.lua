-- Read-only views. ARGV[5] = view, ARGV[6] = task or tenant id.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local view, id = ARGV[5], ARGV[6]

if view == 'position' then
  local T = task(id)
  if not T or (T.st ~= 'queued' and T.st ~= 'offered') then return false end
  local rank = redis.call('ZRANK', qkey(T), id)
  if not rank then return false end
  return {rank + 1, redis.call('ZCARD', qkey(T))}
end

if view == 'snapshot' then
  local out = {}
  local band = 2199023255552
  for _, queue in ipairs(redis.call('SMEMBERS', P .. 'qs:' .. id)) do
    local key = P .. 'q:' .. id .. '|' .. queue
    local n = redis.call('ZCARD', key)
    local oldest = false
    if n > 0 then
      -- the oldest enqueued time: the head of each priority band
      for p = 9, 0, -1 do
        local lo = (9 - p) * band
        local r = redis.call('ZRANGEBYSCORE', key, I(lo), '(' .. I(lo + band), 'WITHSCORES', 'LIMIT', 0, 1)
        if r[1] then
          local enq = tonumber(r[2]) - lo
          if not oldest or enq < oldest then oldest = enq end
        end
      end
    end
    out[queue] = {n, oldest}
  end
  return cjson.encode(out)
end

if view == 'agents' then
  local out = {}
  for _, aid in ipairs(redis.call('SMEMBERS', P .. 'ta:' .. id)) do
    local a = agent(aid)
    if a then
      local load, cap = {}, {}
      for f, v in pairs(a) do
        if string.sub(f, 1, 2) == 'l:' then load[string.sub(f, 3)] = tonumber(v) end
        if string.sub(f, 1, 2) == 'c:' then cap[string.sub(f, 3)] = tonumber(v) end
      end
      local tasks = {}
      for _, tid in ipairs(redis.call('SMEMBERS', P .. 'at:' .. aid)) do
        local T = task(tid)
        if T and T.tn == id then tasks[#tasks + 1] = {tid, T.st, T.ch} end
      end
      out[aid] = {a.pr, load, cap, tasks, num(a.idle), num(a.miss)}
    end
  end
  return cjson.encode(out)
end

if view == 'agent' then
  local a = agent(id)
  if not a then return false end
  local load, cap, tenants = {}, {}, {}
  for f, v in pairs(a) do
    if string.sub(f, 1, 2) == 'l:' then load[string.sub(f, 3)] = tonumber(v) end
    if string.sub(f, 1, 2) == 'c:' then cap[string.sub(f, 3)] = tonumber(v) end
    if string.sub(f, 1, 3) == 'sk:' then tenants[#tenants + 1] = string.sub(f, 4) end
  end
  local tasks = redis.call('SMEMBERS', P .. 'at:' .. id)
  table.sort(tasks)
  table.sort(tenants)
  return cjson.encode({a.pr, load, cap, tasks, num(a.idle), num(a.miss), tenants})
end

if view == 'task' then
  local T = task(id)
  if not T then return false end
  local x = redis.call('SMEMBERS', P .. 'tx:' .. id)
  table.sort(x)
  return cjson.encode({T.st, T.tn or '', T.ch or '', T.q or '', T.ag or '', T.res or '', T.rk or '', x,
    num(T.p), num(T.enq), num(T.exp), num(T.wd)})
end

return redis.error_reply('WECC_CONFLICT bad_view ' .. view)
