-- assign(task JSON, agent): work the agent takes up themselves (a call they place): created
-- assigned to them and counted in their load, whatever their presence; refused when they have no
-- room for it (capacity on its channel, or blending: a live call blocks another).
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local s = cjson.decode(ARGV[5])
local aid = ARGV[6]
if redis.call('EXISTS', P .. 't:' .. s.id) == 1 then
  return redis.error_reply('WECC_CONFLICT exists task ' .. s.id .. ' exists already')
end
local a = agent(aid)
if not a or a['sk:' .. s.tn] == nil then
  return redis.error_reply('WECC_CONFLICT not_member ' .. aid .. ' does not serve the tenant')
end
if num(a['l:' .. s.ch]) >= num(a['c:' .. s.ch]) then
  return redis.error_reply('WECC_CONFLICT no_room ' .. aid .. ' has no room for more ' .. s.ch .. ' work')
end
for _, b in ipairs(blockers(s.tn)[s.ch] or {}) do
  if num(a['l:' .. b]) > 0 then
    return redis.error_reply('WECC_CONFLICT no_room ' .. aid .. ' is busy with ' .. b .. ' work')
  end
end
local T = create_task(s, true)
tset(T, 'st', 'assigned', 'ag', aid)
ahincr(a, 'l:' .. T.ch, 1)
redis.call('SADD', P .. 'at:' .. aid, T._id)
refresh(a, T.ch)
emit('accepted', T._id, T.tn, aid, {channel = T.ch, queue_id = T.q})
return result()
