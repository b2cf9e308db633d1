-- rebuild steps, run by the one process holding P.lock (ARGV[5] = its token):
--   ARGV[6] = 'wipe'   ARGV[7] = SCAN cursor ('0' first): delete the epoch, then every key under the prefix
--   ARGV[6] = 'rules'  ARGV[7] = JSON {tenant: {channel: [blocking channels]}} (with "*" = default)
--   ARGV[6] = 'agents' ARGV[7] = JSON [{id, tenants, capacity, presence, idle, miss}]
--   ARGV[6] = 'tasks'  ARGV[7] = JSON [{id, tn, ch, q, p, enq, sig, pref, sticky, state, agent, wd, excl}]
--   ARGV[6] = 'qualify' ARGV[7] = JSON [agent id]: qualified sets of these agents (after all tasks
--                      are in, so every signature is known)
--   ARGV[6] = 'finish' eligibility of every agent, set the epoch, match every waiting task best
--                      first; returns the offers made
--   ARGV[6] = 'unlock' release the lock
local token, step = ARGV[5], ARGV[6]
local lock = P .. 'lock'
if redis.call('GET', lock) ~= token then
  if step == 'unlock' then return result() end
  return redis.error_reply('WECC_CONFLICT lock_lost another process took over the rebuild')
end
redis.call('PEXPIRE', lock, 60000)

if step == 'unlock' then
  redis.call('DEL', lock)
  return result()
end

if step == 'wipe' then
  local cursor = ARGV[7]
  if cursor == '0' then redis.call('DEL', P .. 'epoch') end
  local r = redis.call('SCAN', cursor, 'MATCH', ARGV[8], 'COUNT', 1000)
  for _, key in ipairs(r[2]) do
    if key ~= lock then redis.call('DEL', key) end
  end
  return r[1]
end

if step == 'rules' then
  for t, rule in pairs(cjson.decode(ARGV[7])) do
    redis.call('HSET', P .. 'rules', t, cjson.encode(rule))
  end
  return result()
end

if step == 'agents' then
  for _, s in ipairs(cjson.decode(ARGV[7])) do
    local key = P .. 'a:' .. s.id
    redis.call('DEL', key)
    redis.call('HSET', key, 'pr', s.presence, 'idle', I(s.idle), 'miss', I(s.miss or 0))
    redis.call('SADD', P .. 'agents', s.id)
    for t, skills in pairs(s.tenants) do
      redis.call('HSET', key, 'sk:' .. t, cjson.encode(skills))
      redis.call('SADD', P .. 'ta:' .. t, s.id)
    end
    for ch, n in pairs(s.capacity) do redis.call('HSET', key, 'c:' .. ch, I(n)) end
  end
  return result()
end

if step == 'tasks' then
  for _, s in ipairs(cjson.decode(ARGV[7])) do
    if redis.call('EXISTS', P .. 't:' .. s.id) == 0 then
      local T = create_task(s, false)
      local a = agent(s.agent)
      if a and a['sk:' .. T.tn] == nil then a = false end
      local placed = false
      if s.state == 'assigned' or s.state == 'wrapup' then
        if a then
          tset(T, 'st', s.state, 'ag', a._id)
          ahincr(a, 'l:' .. T.ch, 1)
          redis.call('SADD', P .. 'at:' .. a._id, T._id)
          if s.state == 'wrapup' and s.wd > 0 then
            tset(T, 'wd', s.wd)
            redis.call('ZADD', P .. 'tm:wrap', I(s.wd), T._id)
          end
          placed = true
        elseif s.state == 'wrapup' then
          finish(T, 'done', s.agent ~= '' and s.agent or nil, {reason = 'agent_unknown'})
          placed = true
        else
          emit('requeued', T._id, T.tn, s.agent ~= '' and s.agent or nil, {reason = 'agent_unknown', queue_id = T.q})
        end
      end
      if not placed then
        for _, aid in ipairs(s.excl or {}) do exclude(T, aid) end
        -- queued, offered (offers are transient: back to queued) or assigned to an unknown agent
        redis.call('ZADD', qkey(T), T.sc, T._id)
        if s.state == 'queued' and a then
          tset(T, 'res', a._id, 'rk', 't')          -- a transfer target recorded by the service
        else
          local sa = sticky_target(T)
          if sa then tset(T, 'res', sa._id, 'rk', 's') end
        end
        enwait(T)
        redis.call('ZADD', P .. 'rb:pending', T.sc, T._id)
      end
    end
  end
  return result()
end

if step == 'qualify' then
  for _, aid in ipairs(cjson.decode(ARGV[7])) do
    local a = agent(aid)
    if a then build_qualifications(a) end
  end
  return result()
end

if step == 'finish' then
  for _, aid in ipairs(redis.call('SMEMBERS', P .. 'agents')) do
    refresh(agent(aid))
  end
  redis.call('SET', P .. 'epoch', I(NOW))
  local pending = redis.call('ZRANGE', P .. 'rb:pending', 0, -1)
  redis.call('DEL', P .. 'rb:pending')
  for _, id in ipairs(pending) do
    local T = task(id)
    if T and T.st == 'queued' then
      local a = pick_agent(T)
      if a then offer(T, a) end
    end
  end
  return result()
end

return redis.error_reply('WECC_CONFLICT bad_step ' .. step)
