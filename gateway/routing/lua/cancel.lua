-- cancel(task, reason): abandoned | timed_out | cancelled from queued or offered; cancelled also
-- from assigned. The task ends in that terminal state.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local T = task(ARGV[5])
local reason = ARGV[6]
if reason ~= 'abandoned' and reason ~= 'timed_out' and reason ~= 'cancelled' then
  return redis.error_reply('WECC_CONFLICT invalid_reason ' .. reason)
end
if not T then return redis.error_reply('WECC_CONFLICT unknown_task unknown task ' .. ARGV[5]) end
local st = T.st
local ok = st == 'queued' or st == 'offered' or (st == 'assigned' and reason == 'cancelled')
if not ok then
  if st == 'done' or st == 'abandoned' or st == 'timed_out' or st == 'cancelled' then
    return redis.error_reply('WECC_CONFLICT finished task ' .. T._id .. ' already ' .. st)
  end
  return redis.error_reply('WECC_CONFLICT bad_state task ' .. T._id .. ' is ' .. st)
end
local aid = nil
if st ~= 'queued' then
  aid = T.ag
  release(T, agent(aid))
end
finish(T, reason, aid, {from_state = st})
settle()
return result()
