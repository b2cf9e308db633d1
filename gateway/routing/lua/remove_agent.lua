-- remove_agent(id): offers and assigned tasks go back to waiting (keeping their place), wrap-ups
-- are done, reservations end; the agent is forgotten. Unknown agent: nothing happens.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local a = agent(ARGV[5])
if not a then return result() end
local ids = redis.call('SMEMBERS', P .. 'at:' .. a._id)
table.sort(ids)
for _, id in ipairs(ids) do
  local T = task(id)
  if T then
    if T.st == 'wrapup' then
      release(T, a)
      finish(T, 'done', a._id, {reason = 'agent_removed'})
    else
      release(T, a)
      requeue(T, nil)
      emit('requeued', T._id, T.tn, a._id, {reason = 'agent_removed', queue_id = T.q})
    end
  end
end
release_reservations(a, nil)
drop_qualifications(a)
for f, _ in pairs(a) do
  if type(f) == 'string' and string.sub(f, 1, 3) == 'sk:' then redis.call('SREM', P .. 'ta:' .. string.sub(f, 4), a._id) end
end
for _, tid in ipairs(redis.call('SMEMBERS', P .. 'ax:' .. a._id)) do
  redis.call('SREM', P .. 'tx:' .. tid, a._id)
end
redis.call('DEL', P .. 'a:' .. a._id, P .. 'at:' .. a._id, P .. 'ax:' .. a._id, P .. 'r:' .. a._id)
redis.call('SREM', P .. 'agents', a._id)
redis.call('SREM', P .. 'dirty', a._id)
AG[a._id] = false
settle()
return result()
