-- enqueue(task JSON): a new waiting task; offered at once when an agent fits. Idempotent per id.
if not_ready() then return redis.error_reply('WECC_NOTREADY routing state missing: rebuild') end
local s = cjson.decode(ARGV[5])
if redis.call('EXISTS', P .. 't:' .. s.id) == 1 then return result() end
local T = create_task(s, true)
redis.call('ZADD', qkey(T), T.sc, T._id)
local a = sticky_target(T)
if a then
  tset(T, 'res', a._id, 'rk', 's')
end
local pick = pick_agent(T)
if pick then offer(T, pick) else enwait(T) end
return result()
