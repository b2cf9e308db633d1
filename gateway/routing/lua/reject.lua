-- reject(task, agent): back to waiting in its place, never offered to this agent again (until a
-- transfer), offered to the next agent at once. A reject is deliberate: it is not a miss.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local T = task(ARGV[5])
local aid = ARGV[6]
if not T then return redis.error_reply('WECC_CONFLICT unknown_task unknown task ' .. ARGV[5]) end
if T.st ~= 'offered' or T.ag ~= aid then
  return redis.error_reply('WECC_CONFLICT not_offered task ' .. T._id .. ' is not offered to ' .. aid)
end
local a = agent(aid)
release(T, a)
requeue(T, aid)
emit('rejected', T._id, T.tn, aid, {channel = T.ch, queue_id = T.q})
settle()
return result()
