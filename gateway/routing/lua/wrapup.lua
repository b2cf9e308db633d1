-- wrapup(task, agent, auto_done_ms): assigned -> wrapup; still counts against the agent's load.
-- auto_done_ms is a duration: tick() completes the wrap-up at now + auto_done_ms (0: never).
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local T = task(ARGV[5])
local aid = ARGV[6]
local dur = tonumber(ARGV[7])
if not T then return redis.error_reply('WECC_CONFLICT unknown_task unknown task ' .. ARGV[5]) end
if T.st ~= 'assigned' or T.ag ~= aid then
  return redis.error_reply('WECC_CONFLICT not_assigned task ' .. T._id .. ' is not assigned to ' .. aid)
end
local data = {}
if dur > 0 then
  local deadline = NOW + dur
  tset(T, 'st', 'wrapup', 'wd', deadline)
  redis.call('ZADD', P .. 'tm:wrap', I(deadline), T._id)
  data.auto_done_at_ms = deadline
else
  tset(T, 'st', 'wrapup')
end
emit('wrapup', T._id, T.tn, aid, data)
return result()
