-- transfer(task, queue, agent): back to waiting with its priority and original enqueued time,
-- into another queue (same skills) and/or reserved for one agent until that agent takes or
-- rejects it. Clears the task's exclusions, then excludes the agent who had it (unless it is the
-- target) so a transfer never bounces straight back.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local T = task(ARGV[5])
local queue, target = ARGV[6], ARGV[7]
if not T then return redis.error_reply('WECC_CONFLICT unknown_task unknown task ' .. ARGV[5]) end
local st = T.st
if st ~= 'queued' and st ~= 'offered' and st ~= 'assigned' and st ~= 'wrapup' then
  return redis.error_reply('WECC_CONFLICT finished task ' .. T._id .. ' already ' .. st)
end
local ta = nil
if target ~= '' then
  ta = agent(target)
  if not ta then return redis.error_reply('WECC_CONFLICT unknown_agent unknown agent ' .. target) end
  if ta['sk:' .. T.tn] == nil then
    return redis.error_reply('WECC_CONFLICT not_serving agent ' .. target .. ' does not serve tenant ' .. T.tn)
  end
end
local prev = nil
if st == 'queued' then
  unqueue(T)
else
  prev = T.ag
  release(T, agent(prev))
end
clear_exclusions(T)
if prev and prev ~= target then exclude(T, prev) end
local from_queue = T.q
if queue ~= '' and queue ~= T.q then
  redis.call('ZREM', qkey(T), T._id)
  tset(T, 'q', queue)
  redis.call('SADD', P .. 'qs:' .. T.tn, queue)
end
if ta then tset(T, 'res', target, 'rk', 't') end
requeue(T, nil)
emit('requeued', T._id, T.tn, prev, {reason = 'transfer', queue_id = T.q, from_queue_id = from_queue,
  to_agent_id = target ~= '' and target or false, from_state = st})
settle()
return result()
