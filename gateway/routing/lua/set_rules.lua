-- set_tenant_rules(tenant, JSON {channel: [channels whose active work blocks it]}): the tenant's
-- blending rules. Agents of the tenant are re-scored now and matched by the next tick().
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local t = ARGV[5]
redis.call('HSET', P .. 'rules', t, ARGV[6])
for _, aid in ipairs(redis.call('SMEMBERS', P .. 'ta:' .. t)) do
  local a = agent(aid)
  if a then
    refresh(a)
    redis.call('SADD', P .. 'dirty', aid)
  end
end
return result()
