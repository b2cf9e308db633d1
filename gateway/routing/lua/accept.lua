-- accept(task, agent): offered -> assigned. Resets the agent's count of missed offers.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local T = task(ARGV[5])
local aid = ARGV[6]
if not T then return redis.error_reply('WECC_CONFLICT unknown_task unknown task ' .. ARGV[5]) end
if T.st ~= 'offered' or T.ag ~= aid then
  return redis.error_reply('WECC_CONFLICT not_offered task ' .. T._id .. ' is not offered to ' .. aid)
end
tset(T, 'st', 'assigned')
tdel(T, 'exp')
redis.call('ZREM', P .. 'tm:offer', T._id)
redis.call('ZREM', qkey(T), T._id)
redis.call('HSET', P .. 'a:' .. aid, 'miss', '0')
emit('accepted', T._id, T.tn, aid, {channel = T.ch, queue_id = T.q})
return result()
