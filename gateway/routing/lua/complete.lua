-- complete(task, agent): assigned|wrapup -> done; the agent's room is offered on at once.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local T = task(ARGV[5])
local aid = ARGV[6]
if not T then return redis.error_reply('WECC_CONFLICT unknown_task unknown task ' .. ARGV[5]) end
if (T.st ~= 'assigned' and T.st ~= 'wrapup') or T.ag ~= aid then
  return redis.error_reply('WECC_CONFLICT not_assigned task ' .. T._id .. ' is not assigned to ' .. aid)
end
release(T, agent(aid))
finish(T, 'done', aid, {reason = 'completed'})
settle()
return result()
