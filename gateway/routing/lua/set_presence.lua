-- set_presence(agent, presence): becoming available starts a new idle period and resets the miss
-- count, and the agent is offered work at once; any other presence withdraws the offers still
-- ringing for it (they go back without excluding it); offline also ends its reservations.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local a = agent(ARGV[5])
if not a then return redis.error_reply('WECC_CONFLICT unknown_agent unknown agent ' .. ARGV[5]) end
local pr = ARGV[6]
if a.pr == pr then return result() end
if pr == 'available' then
  aset(a, 'pr', pr, 'idle', NOW, 'miss', 0)
  refresh(a)
  REL[#REL + 1] = a
else
  aset(a, 'pr', pr)
  refresh(a)
  withdraw_offers(a, 'agent_unavailable')
  if pr == 'offline' then release_reservations(a, nil) end
end
settle()
return result()
