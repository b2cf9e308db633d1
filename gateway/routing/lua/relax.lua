-- relax(task, signature): the skills a task requires change (a queue relaxes them after a while,
-- so more agents may take it). A waiting task keeps its place and is matched again at once; a
-- task being offered or handled keeps its agent, and the new skills apply if it waits again.
-- The same skills again: nothing happens.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local T = task(ARGV[5])
local sig = ARGV[6]
if not T then return redis.error_reply('WECC_CONFLICT unknown_task unknown task ' .. ARGV[5]) end
local st = T.st
if st ~= 'queued' and st ~= 'offered' and st ~= 'assigned' and st ~= 'wrapup' then
  return redis.error_reply('WECC_CONFLICT finished task ' .. T._id .. ' already ' .. st)
end
if T.sig == sig then return result() end
local from = T.sig
register_sig(T.tn, T.ch, sig, true)
if st == 'queued' and T.wq == 'w' then
  unqueue(T)
  tset(T, 'sig', sig)
  enwait(T)
  REQ[#REQ + 1] = T
else
  -- reserved (sticky or transfer) or with an agent: where it waits does not depend on skills
  tset(T, 'sig', sig)
end
emit('skills_changed', T._id, T.tn, nil, {from_skills = from, skills = sig, queue_id = T.q})
settle()
return result()
