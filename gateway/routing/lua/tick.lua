-- tick(): offers past their ring time, sticky windows that ended, wrap-ups past their deadline;
-- then everything freed is matched. At most LIMIT of each per call (the next tick does the rest).
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local LIMIT = 500
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'tm:offer', '-inf', I(NOW), 'LIMIT', 0, LIMIT)) do
  local T = task(id)
  if T and T.st == 'offered' then
    local a = agent(T.ag)
    local aid = T.ag
    release(T, a)
    requeue(T, aid)
    ahincr(a, 'miss', 1)
    local misses = num(a.miss)
    emit('offer_timed_out', T._id, T.tn, aid, {channel = T.ch, queue_id = T.q, misses = misses})
    if misses >= MAXMISS and a.pr == 'available' then
      aset(a, 'pr', 'away', 'miss', 0)
      refresh(a)
      emit('agent_away', '', T.tn, aid, {misses = misses, presence = 'away'})
      withdraw_offers(a, 'agent_away')
    end
  else
    redis.call('ZREM', P .. 'tm:offer', id)
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'tm:sticky', '-inf', I(NOW), 'LIMIT', 0, LIMIT)) do
  local T = task(id)
  redis.call('ZREM', P .. 'tm:sticky', id)
  if T and T.st == 'queued' and T.rk == 's' then unreserve(T) end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'tm:wrap', '-inf', I(NOW), 'LIMIT', 0, LIMIT)) do
  local T = task(id)
  if T and T.st == 'wrapup' then
    local aid = T.ag
    release(T, agent(aid))
    finish(T, 'done', aid, {reason = 'auto'})
  else
    redis.call('ZREM', P .. 'tm:wrap', id)
  end
end
-- agents whose eligibility grew outside a match (a tenant's blending rules changed)
for _, aid in ipairs(redis.call('SPOP', P .. 'dirty', LIMIT)) do
  local a = agent(aid)
  if a then refresh(a); REL[#REL + 1] = a end
end
settle()
return result()
