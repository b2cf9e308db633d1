-- upsert_agent(agent JSON {id, tenants: {t: {skill: level}}, capacity: {ch: n}}): a new agent
-- (presence offline) or new skills / tenants / capacity for a known one.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local s = cjson.decode(ARGV[5])
local a = agent(s.id)
if not a then
  redis.call('HSET', P .. 'a:' .. s.id, 'pr', 'offline', 'idle', I(NOW), 'miss', '0')
  redis.call('SADD', P .. 'agents', s.id)
  AG[s.id] = nil
  a = agent(s.id)
end
drop_qualifications(a)
-- tenants and skills
for f, _ in pairs(a) do
  if type(f) == 'string' and string.sub(f, 1, 3) == 'sk:' and s.tenants[string.sub(f, 4)] == nil then
    redis.call('SREM', P .. 'ta:' .. string.sub(f, 4), a._id)
    adel(a, f)
  end
end
a._sk = nil
for t, skills in pairs(s.tenants) do
  aset(a, 'sk:' .. t, cjson.encode(skills))
  redis.call('SADD', P .. 'ta:' .. t, a._id)
end
-- capacity (a channel left out has capacity 0)
for f, _ in pairs(a) do
  if type(f) == 'string' and string.sub(f, 1, 2) == 'c:' and s.capacity[string.sub(f, 3)] == nil then adel(a, f) end
end
for ch, n in pairs(s.capacity) do aset(a, 'c:' .. ch, n) end
build_qualifications(a)
refresh(a)
-- offers still ringing for a tenant it no longer serves go back (without excluding it); work it
-- already took stays with it
local held = redis.call('SMEMBERS', P .. 'at:' .. a._id)
table.sort(held)
for _, id in ipairs(held) do
  local T = task(id)
  if T and T.st == 'offered' and a['sk:' .. T.tn] == nil then
    release(T, a)
    requeue(T, nil)
    emit('requeued', T._id, T.tn, a._id, {reason = 'agent_changed', queue_id = T.q})
  end
end
-- reservations it can no longer honour end: a sticky task it does not qualify for, any task of a
-- tenant it no longer serves
release_reservations(a, function(T)
  if a['sk:' .. T.tn] == nil then return true end
  if T.rk == 's' then return not qualifies(a, T.tn, parse_sig(T.sig)) end
  return false
end)
REL[#REL + 1] = a
settle()
return result()
