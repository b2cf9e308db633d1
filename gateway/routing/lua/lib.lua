-- WECC routing engine: shared library. engine.script_source() puts the definitions an operation
-- uses (directly or not) in front of that operation's script (lua/<operation>.lua).
--
-- All routing state lives under one key prefix (ARGV[1]) and changes only through these scripts,
-- so every decision is atomic however many gateway processes share the Redis. The scripts compute
-- their key names from the prefix instead of declaring them in KEYS: Redis Cluster is NOT
-- supported (one Redis, or a primary with replicas, holds all routing state).
--
-- ARGV: [1] prefix, [2] now (ms), [3] ring time (ms), [4] misses in a row before "away",
-- [5..] the operation's own arguments. The engine never reads a clock: "now" is always given.
--
-- Key layout (P = prefix; t = tenant, c = channel, g = skill signature "skill=level,..." sorted,
-- "" when no skills are required; tenant and channel ids never contain "|"):
--   P.epoch               string  present while the state is complete; missing = flushed/lost: rebuild
--   P.lock                string  rebuild lock (SET NX PX), value = the rebuilding process's token
--   P.rules               hash    tenant -> JSON {channel: [channels whose active work blocks it]}; "*" = default
--   P.dirty               set     agents whose eligibility grew outside a match (rules changed): tick() matches them
--   P.agents              set     every agent id
--   P.t:<task>            hash    tn ch q p enq sc sig pref stk rng st ag exp wd res rk wq (rng: its
--                                 ring time in ms when not the default)
--                                 (tombstone after a terminal state: st tn only, expires after a day)
--   P.tx:<task>           set     agents excluded from this task (rejected or missed its offer)
--   P.a:<agent>           hash    pr idle miss  c:<ch> capacity  l:<ch> load  sk:<t> JSON skills in tenant t
--                                 e:<t>|<c> its current score in that eligible set (absent = not eligible)
--   P.aq:<agent>          hash    <t>|<c> -> JSON list of the signatures the agent qualifies for there
--   P.at:<agent>          set     the agent's offered/assigned/wrapup tasks (its load)
--   P.ax:<agent>          set     tasks this agent is excluded from (mirror of tx)
--   P.r:<agent>           zset    queued tasks reserved for this agent (sticky window or transfer), by rank
--   P.ta:<t>              set     agents serving tenant t
--   P.sigs:<t>|<c>        set     signatures seen for (tenant, channel)
--   P.chs:<t>             set     channels with signatures in tenant t
--   P.qa:<t>|<c>|<g>      set     agents serving t who qualify for g (changes only with skills/new signatures)
--   P.w:<t>|<c>|<g>       zset    queued, unreserved tasks, by rank score
--   P.wh:<t>|<c>          zset    signature -> rank score of the head of its w: set (non-empty sets only)
--   P.e:<t>|<c>           zset    eligible agents: available, serving t, free capacity on c, not blocked
--                                 by blending; score = load on c * 2^42 + idle_since (lower first).
--                                 One set per (tenant, channel), not per signature, so an agent's
--                                 change of load or presence costs O(tenants x channels); a task
--                                 finds its agent by walking e: and testing qa: (or, when few
--                                 agents qualify, by scoring the qa: members in e:)
--   P.q:<t>|<queue>       zset    waiting tasks (queued + offered) of one queue, by rank: position()
--   P.qs:<t>              set     queue ids seen in tenant t
--   P.tm:offer / tm:sticky / tm:wrap   zset  offer expiries, sticky-window ends, wrap-up deadlines
--   P.rb:pending          zset    during a rebuild only: the waiting tasks to match, by rank
--
-- Matching: a task that arrives (or comes back) looks only at its own e:<t>|<c> set (filtered by
-- qa:<t>|<c>|<g> and its exclusions); an agent that gains room looks only at the heads of the w:
-- sets of the signatures it qualifies for, in head order (wh:), and at its r: set.
--
-- Rank score of a task = (9 - priority) * 2^41 + enqueued_ms: lower is better (higher priority, then
-- older). Equal scores are broken by task id.

local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local RING = tonumber(ARGV[3])
local MAXMISS = tonumber(ARGV[4])
local TWO42 = 4398046511104
local TOMBSTONE_MS = 86400000

local OUT = {}   -- transitions, in order: {kind, task_id, tenant_id, agent_id|false, data}
local TK = {}    -- task cache: id -> table of fields (strings) | false
local AG = {}    -- agent cache: id -> table of fields (strings) | false
local RULES = {} -- tenant -> decoded rules
local REL = {}   -- agents whose eligibility may have grown in this script (released, available, ...)
local REQ = {}   -- tasks that became waiting in this script

local function I(n) return string.format('%d', n) end
local function num(v) return tonumber(v) or 0 end
local function str(v) if type(v) == 'number' then return I(v) end return v end

local function emit(kind, task_id, tenant, agent_id, data)
  OUT[#OUT + 1] = {kind, task_id, tenant or '', agent_id or false, data or {}}
end

local function result()
  return cjson.encode(OUT)
end

local function not_ready()
  return redis.call('EXISTS', P .. 'epoch') == 0
end

local function split2(s)
  local p = string.find(s, '|', 1, true)
  return string.sub(s, 1, p - 1), string.sub(s, p + 1)
end

-- ---------------------------------------------------------------- records

local function load_hash(key)
  local raw = redis.call('HGETALL', key)
  if #raw == 0 then return false end
  local h = {}
  for i = 1, #raw, 2 do h[raw[i]] = raw[i + 1] end
  return h
end

local function task(id)
  local T = TK[id]
  if T == nil then
    T = load_hash(P .. 't:' .. id)
    if T then T._id = id end
    TK[id] = T
  end
  return T
end

local function tset(T, ...)
  local args = {...}
  for i = 1, #args, 2 do
    args[i + 1] = str(args[i + 1])
    T[args[i]] = args[i + 1]
  end
  redis.call('HSET', P .. 't:' .. T._id, unpack(args))
end

local function tdel(T, ...)
  local args = {...}
  local present = {}
  for _, f in ipairs(args) do
    if T[f] ~= nil then present[#present + 1] = f; T[f] = nil end
  end
  if #present > 0 then redis.call('HDEL', P .. 't:' .. T._id, unpack(present)) end
end

local function agent(id)
  if id == nil or id == '' then return false end
  local a = AG[id]
  if a == nil then
    a = load_hash(P .. 'a:' .. id)
    if a then a._id = id end
    AG[id] = a
  end
  return a
end

local function aset(a, ...)
  local args = {...}
  for i = 1, #args, 2 do
    args[i + 1] = str(args[i + 1])
    -- a new field may be a new tenant or channel; a capacity going from 0 to more adds a channel
    if a[args[i]] == nil or string.sub(args[i], 1, 2) == 'c:' then a._cb = nil end
    a[args[i]] = args[i + 1]
  end
  redis.call('HSET', P .. 'a:' .. a._id, unpack(args))
end

local function adel(a, f)
  if a[f] ~= nil then
    a[f] = nil
    a._cb = nil
    redis.call('HDEL', P .. 'a:' .. a._id, f)
  end
end

local function ahincr(a, f, d)
  a[f] = I(redis.call('HINCRBY', P .. 'a:' .. a._id, f, d))
end

-- Tenants the agent serves, sorted.
local function tenants_of(a)
  local list = {}
  for f, _ in pairs(a) do
    if string.sub(f, 1, 3) == 'sk:' then list[#list + 1] = string.sub(f, 4) end
  end
  table.sort(list)
  return list
end

-- The (tenant|channel) combos the agent can ever be eligible in: tenants served x channels with
-- capacity, plus any combo it is still listed in; sorted.
local function combos_of(a)
  if a._cb then return a._cb end
  local list, seen = {}, {}
  local chans = {}
  for f, v in pairs(a) do
    if string.sub(f, 1, 2) == 'c:' and num(v) > 0 then chans[#chans + 1] = string.sub(f, 3) end
  end
  for _, t in ipairs(tenants_of(a)) do
    for _, c in ipairs(chans) do
      local combo = t .. '|' .. c
      seen[combo] = true
      list[#list + 1] = combo
    end
  end
  for f, _ in pairs(a) do
    if string.sub(f, 1, 2) == 'e:' and not seen[string.sub(f, 3)] then list[#list + 1] = string.sub(f, 3) end
  end
  table.sort(list)
  a._cb = list  -- until its tenants or capacities change (aset/adel of sk:, c:, e: fields)
  return list
end

-- Signatures the agent qualifies for in a combo: list and set.
local function qsigs(a, combo)
  a._q = a._q or {}
  local e = a._q[combo]
  if e == nil then
    local raw = redis.call('HGET', P .. 'aq:' .. a._id, combo)
    local list = raw and cjson.decode(raw) or {}
    local set = {}
    for _, g in ipairs(list) do set[g] = true end
    e = {list, set}
    a._q[combo] = e
  end
  return e[1], e[2]
end

local function skills_of(a, tenant)
  a._sk = a._sk or {}
  local s = a._sk[tenant]
  if s == nil then
    local raw = a['sk:' .. tenant]
    s = raw and cjson.decode(raw) or false
    a._sk[tenant] = s
  end
  return s
end

local SIGS = {}
local function parse_sig(sig)
  local req = SIGS[sig]
  if req == nil then
    req = {}
    for pair in string.gmatch(sig, '[^,]+') do
      local p = string.find(pair, '=', 1, true)
      req[#req + 1] = {string.sub(pair, 1, p - 1), tonumber(string.sub(pair, p + 1))}
    end
    SIGS[sig] = req
  end
  return req
end

-- For every required skill, the agent's level in THAT tenant is at least the minimum.
local function qualifies(a, tenant, req)
  local sk = skills_of(a, tenant)
  if not sk then return false end
  for _, r in ipairs(req) do
    local lvl = sk[r[1]]
    if lvl == nil or lvl < r[2] then return false end
  end
  return true
end

local function excl_of(a)
  if a._x == nil then
    a._x = {}
    for _, id in ipairs(redis.call('SMEMBERS', P .. 'ax:' .. a._id)) do a._x[id] = true end
  end
  return a._x
end

local function is_excluded(T, aid)
  local a = AG[aid]
  if a and a._x then return a._x[T._id] == true end
  return redis.call('SISMEMBER', P .. 'tx:' .. T._id, aid) == 1
end

local function exclude(T, aid)
  redis.call('SADD', P .. 'tx:' .. T._id, aid)
  redis.call('SADD', P .. 'ax:' .. aid, T._id)
  local a = AG[aid]
  if a and a._x then a._x[T._id] = true end
end

local function clear_exclusions(T)
  local key = P .. 'tx:' .. T._id
  for _, aid in ipairs(redis.call('SMEMBERS', key)) do
    redis.call('SREM', P .. 'ax:' .. aid, T._id)
    local a = AG[aid]
    if a and a._x then a._x[T._id] = nil end
  end
  redis.call('DEL', key)
end

-- ---------------------------------------------------------------- eligibility

-- tenant -> {channel -> list of channels whose active work blocks it} (the TASK's tenant's rules)
local function blockers(tenant)
  local r = RULES[tenant]
  if r == nil then
    local raw = redis.call('HGET', P .. 'rules', tenant) or redis.call('HGET', P .. 'rules', '*')
    r = raw and cjson.decode(raw) or {}
    RULES[tenant] = r
  end
  return r
end

-- The agent's score in the eligible sets of (tenant, channel), or nil when not eligible there:
-- available, serving the tenant, load below capacity on the channel, not blocked by blending.
local function combo_score(a, tenant, ch)
  if a.pr ~= 'available' or a['sk:' .. tenant] == nil then return nil end
  local load = num(a['l:' .. ch])
  if load >= num(a['c:' .. ch]) then return nil end
  local bl = blockers(tenant)[ch]
  if bl then
    for _, b in ipairs(bl) do
      if num(a['l:' .. b]) > 0 then return nil end
    end
  end
  return load * TWO42 + num(a.idle)
end

-- Bring the agent's membership (and score) in the eligible sets up to date: one ZADD or ZREM
-- per (tenant, channel) whose score changed.
local function refresh(a, loaded)
  local set, del = {}, {}
  for _, combo in ipairs(combos_of(a)) do
    local t, c = split2(combo)
    -- more load on channel `loaded` (idle unchanged) can only change that channel's combos and
    -- the channels it blocks
    local touched = loaded == nil or c == loaded
    if not touched then
      for _, b in ipairs(blockers(t)[c] or {}) do
        if b == loaded then touched = true; break end
      end
    end
    local s = touched and combo_score(a, t, c) or nil
    local old = a['e:' .. combo]
    old = old and tonumber(old)
    if touched and s ~= old then
      if s then
        local ss = I(s)
        redis.call('ZADD', P .. 'e:' .. combo, ss, a._id)
        a['e:' .. combo] = ss
        set[#set + 1] = 'e:' .. combo
        set[#set + 1] = ss
      else
        redis.call('ZREM', P .. 'e:' .. combo, a._id)
        a['e:' .. combo] = nil
        del[#del + 1] = 'e:' .. combo
      end
    end
  end
  if #set > 0 then redis.call('HSET', P .. 'a:' .. a._id, unpack(set)) end
  if #del > 0 then redis.call('HDEL', P .. 'a:' .. a._id, unpack(del)) end
end

-- Take the agent out of every eligible and qualified set.
local function drop_qualifications(a)
  for _, combo in ipairs(combos_of(a)) do
    if a['e:' .. combo] then
      redis.call('ZREM', P .. 'e:' .. combo, a._id)
      adel(a, 'e:' .. combo)
    end
  end
  local raw = redis.call('HGETALL', P .. 'aq:' .. a._id)
  for i = 1, #raw, 2 do
    for _, g in ipairs(cjson.decode(raw[i + 1])) do
      redis.call('SREM', P .. 'qa:' .. raw[i] .. '|' .. g, a._id)
    end
  end
  redis.call('DEL', P .. 'aq:' .. a._id)
  a._q = nil
end

-- Qualify the agent for every signature seen in the tenants it serves.
local function build_qualifications(a)
  for _, t in ipairs(tenants_of(a)) do
    for _, c in ipairs(redis.call('SMEMBERS', P .. 'chs:' .. t)) do
      local combo = t .. '|' .. c
      local list = {}
      local sigs = redis.call('SMEMBERS', P .. 'sigs:' .. combo)
      table.sort(sigs)
      for _, g in ipairs(sigs) do
        if qualifies(a, t, parse_sig(g)) then
          list[#list + 1] = g
          redis.call('SADD', P .. 'qa:' .. combo .. '|' .. g, a._id)
        end
      end
      if #list > 0 then redis.call('HSET', P .. 'aq:' .. a._id, combo, cjson.encode(list)) end
    end
  end
  a._q = nil
end

-- A signature seen for the first time in (tenant, channel): every agent of the tenant who
-- qualifies joins its qualified set. O(agents in tenant), once per signature. While a rebuild
-- loads (scan_agents false) qualifications are built afterwards.
local function register_sig(t, c, sig, scan_agents)
  if redis.call('SADD', P .. 'sigs:' .. t .. '|' .. c, sig) == 0 then return end
  redis.call('SADD', P .. 'chs:' .. t, c)
  if not scan_agents then return end
  local req = parse_sig(sig)
  local combo = t .. '|' .. c
  local qual = P .. 'qa:' .. combo .. '|' .. sig
  for _, aid in ipairs(redis.call('SMEMBERS', P .. 'ta:' .. t)) do
    local a = AG[aid]
    local ok
    if a then
      ok = qualifies(a, t, req)
    else
      local raw = redis.call('HGET', P .. 'a:' .. aid, 'sk:' .. t)
      ok = raw ~= false
      if ok then
        local sk = cjson.decode(raw)
        for _, r in ipairs(req) do
          local lvl = sk[r[1]]
          if lvl == nil or lvl < r[2] then ok = false; break end
        end
      end
    end
    if ok then
      redis.call('SADD', qual, aid)
      local raw = redis.call('HGET', P .. 'aq:' .. aid, combo)
      local list = raw and cjson.decode(raw) or {}
      list[#list + 1] = sig
      redis.call('HSET', P .. 'aq:' .. aid, combo, cjson.encode(list))
      if a and a._q then a._q[combo] = nil end
    end
  end
end

-- ---------------------------------------------------------------- waiting structures

local function wkey(T) return P .. 'w:' .. T.tn .. '|' .. T.ch .. '|' .. T.sig end
local function whkey(T) return P .. 'wh:' .. T.tn .. '|' .. T.ch end
local function qkey(T) return P .. 'q:' .. T.tn .. '|' .. T.q end

local function set_head(T, key)
  local h = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if h[1] then
    redis.call('ZADD', whkey(T), h[2], T.sig)
  else
    redis.call('ZREM', whkey(T), T.sig)
  end
end

-- Put a queued task where it waits: reserved for one agent (T.res) or matchable by anyone.
local function enwait(T)
  if T.res then
    redis.call('ZADD', P .. 'r:' .. T.res, T.sc, T._id)
    if T.rk == 's' then redis.call('ZADD', P .. 'tm:sticky', T.stk, T._id) end
    tset(T, 'wq', 'r')
  else
    local key = wkey(T)
    redis.call('ZADD', key, T.sc, T._id)
    set_head(T, key)
    tset(T, 'wq', 'w')
  end
end

-- Take a queued task out of where it waits; a reservation ends with it.
local function unqueue(T)
  if T.wq == 'w' then
    local key = wkey(T)
    local h = redis.call('ZRANGE', key, 0, 0)
    redis.call('ZREM', key, T._id)
    if h[1] == T._id then set_head(T, key) end
  elseif T.wq == 'r' then
    redis.call('ZREM', P .. 'r:' .. T.res, T._id)
    redis.call('ZREM', P .. 'tm:sticky', T._id)
  end
  tdel(T, 'wq', 'res', 'rk')
end

-- End a reservation of a waiting task: it becomes matchable by anyone.
local function unreserve(T)
  unqueue(T)
  enwait(T)
  REQ[#REQ + 1] = T
end

-- ---------------------------------------------------------------- offers and releases

local function offer(T, a)
  unqueue(T)
  local exp = NOW + (num(T.rng) > 0 and num(T.rng) or RING)
  tset(T, 'st', 'offered', 'ag', a._id, 'exp', exp)
  redis.call('ZADD', P .. 'tm:offer', I(exp), T._id)
  ahincr(a, 'l:' .. T.ch, 1)
  redis.call('SADD', P .. 'at:' .. a._id, T._id)
  refresh(a, T.ch)
  emit('offered', T._id, T.tn, a._id,
    {expires_ms = exp, channel = T.ch, queue_id = T.q, priority = tonumber(T.p)})
end

-- The agent no longer carries the task: load down, idle since now.
local function release(T, a)
  ahincr(a, 'l:' .. T.ch, -1)
  redis.call('SREM', P .. 'at:' .. a._id, T._id)
  aset(a, 'idle', NOW)
  refresh(a)
  REL[#REL + 1] = a
end

-- Back to waiting, with its original rank score (its place in line is kept).
local function requeue(T, excluded_agent)
  redis.call('ZREM', P .. 'tm:offer', T._id)
  redis.call('ZREM', P .. 'tm:wrap', T._id)
  tset(T, 'st', 'queued')
  tdel(T, 'ag', 'exp', 'wd')
  if excluded_agent then exclude(T, excluded_agent) end
  redis.call('ZADD', qkey(T), T.sc, T._id)
  enwait(T)
  REQ[#REQ + 1] = T
end

-- A terminal state: the task leaves every structure; a tombstone remembers the outcome so a
-- repeated enqueue stays a no-op and a late command gets a clear conflict.
local function finish(T, kind, agent_id, data)
  if T.st == 'queued' then
    unqueue(T)
  elseif T.st == 'offered' then
    redis.call('ZREM', P .. 'tm:offer', T._id)
  elseif T.st == 'wrapup' then
    redis.call('ZREM', P .. 'tm:wrap', T._id)
  end
  if T.st == 'queued' or T.st == 'offered' then redis.call('ZREM', qkey(T), T._id) end
  clear_exclusions(T)
  local key = P .. 't:' .. T._id
  redis.call('DEL', key)
  redis.call('HSET', key, 'st', kind, 'tn', T.tn)
  redis.call('PEXPIRE', key, TOMBSTONE_MS)
  T.st = kind
  emit(kind, T._id, T.tn, agent_id, data)
end

local function better(id, sc, bid, bsc)
  return bid == nil or sc < bsc or (sc == bsc and id < bid)
end

-- Can the agent take this task reserved for it right now?
local function can_take_reserved(a, T)
  if T.st ~= 'queued' or T.res ~= a._id then return false end
  if not combo_score(a, T.tn, T.ch) then return false end
  if T.rk == 't' then return true end              -- a transfer target needs no skills
  local _, set = qsigs(a, T.tn .. '|' .. T.ch)
  return set[T.sig] == true
end

-- The agent for a waiting task: the reserved agent if it can take it now; else the preferred
-- agent if eligible, qualified and not excluded; else the first eligible agent (least load on the
-- channel, then longest idle) who qualifies and is not excluded.
local function pick_agent(T)
  if T.res then
    local a = agent(T.res)
    if a and can_take_reserved(a, T) then return a end
    return nil
  end
  local ekey = P .. 'e:' .. T.tn .. '|' .. T.ch
  local qual = P .. 'qa:' .. T.tn .. '|' .. T.ch .. '|' .. T.sig
  local anyone = T.sig == ''
  if T.pref and T.pref ~= '' and redis.call('ZSCORE', ekey, T.pref)
      and (anyone or redis.call('SISMEMBER', qual, T.pref) == 1) and not is_excluded(T, T.pref) then
    return agent(T.pref)
  end
  local function score_qualified()
    -- score each qualified agent in the eligible set (one ZMSCORE): O(qualified agents)
    local ids = redis.call('SMEMBERS', qual)
    local scores = redis.call('ZMSCORE', ekey, unpack(ids))
    local bid, bsc = nil, nil
    for i, id in ipairs(ids) do
      local sc = scores[i] and tonumber(scores[i])
      if sc and better(id, sc, bid, bsc) and not is_excluded(T, id) then bid, bsc = id, sc end
    end
    return bid and agent(bid) or nil
  end
  if not anyone then
    local nq = redis.call('SCARD', qual)
    if nq == 0 then return nil end
    if nq <= 32 then return score_qualified() end
  end
  -- walk the eligible agents best first, testing qualification 8, then 32 at a time; after 136
  -- without a fit, score the qualified ones instead (never a walk over every agent)
  local start, size = 0, 8
  while anyone or start < 136 do
    local ids = redis.call('ZRANGE', ekey, start, start + size - 1)
    if #ids == 0 then return nil end
    local flags = anyone and nil or redis.call('SMISMEMBER', qual, unpack(ids))
    for i, id in ipairs(ids) do
      if (anyone or flags[i] == 1) and not is_excluded(T, id) then return agent(id) end
    end
    start, size = start + size, 32
  end
  return score_qualified()
end

-- First task of a waiting set the agent is not excluded from, if ranked at most `limit`.
local function first_open(key, a, limit)
  local x = excl_of(a)
  local start = 0
  while true do
    local r = redis.call('ZRANGE', key, start, start + 7, 'WITHSCORES')
    if #r == 0 then return nil end
    for i = 1, #r, 2 do
      local sc = tonumber(r[i + 1])
      if limit and sc > limit then return nil end
      if not x[r[i]] then return r[i], sc end
    end
    start = start + 8
  end
end

-- The best-ranked waiting task the agent may take now: over the heads of the waiting sets of the
-- signatures it qualifies for (in combos where it is eligible), and its reserved tasks.
local function best_for_agent(a)
  local bid, bsc = nil, nil
  for _, combo in ipairs(combos_of(a)) do
    local t, c = split2(combo)
    if combo_score(a, t, c) then
      local whk = P .. 'wh:' .. combo
      local start, done = 0, false
      while not done do
        local heads = redis.call('ZRANGE', whk, start, start + 15, 'WITHSCORES')
        if #heads == 0 then break end
        local _, qset = qsigs(a, combo)
        for i = 1, #heads, 2 do
          local g, hs = heads[i], tonumber(heads[i + 1])
          if bsc and hs > bsc then done = true; break end
          if qset[g] then
            local id, sc = first_open(P .. 'w:' .. combo .. '|' .. g, a, bsc)
            if id and better(id, sc, bid, bsc) then bid, bsc = id, sc end
          end
        end
        start = start + 16
      end
    end
  end
  local rs = redis.call('ZRANGE', P .. 'r:' .. a._id, 0, -1, 'WITHSCORES')
  for i = 1, #rs, 2 do
    local id, sc = rs[i], tonumber(rs[i + 1])
    if bsc and sc > bsc then break end
    local T = task(id)
    if T and can_take_reserved(a, T) then
      if better(id, sc, bid, bsc) then bid, bsc = id, sc end
      break
    end
  end
  return bid
end

-- Offer the agent the best task it can take, again and again while it has room.
local function match_agent(a)
  for _ = 1, 1000 do
    if a.pr ~= 'available' then return end
    local id = best_for_agent(a)
    if not id then return end
    offer(task(id), a)
  end
end

-- After any change: agents that gained room first take the best tasks they can; then every task
-- that became waiting, best first, goes to the best agent for it. Together with the matching done
-- at each arrival this keeps the invariant: no eligible agent idles while a task it may take waits.
local function settle()
  local seen = {}
  for _, a in ipairs(REL) do
    if not seen[a._id] then
      seen[a._id] = true
      if AG[a._id] then match_agent(a) end
    end
  end
  table.sort(REQ, function(x, y)
    local sx, sy = tonumber(x.sc), tonumber(y.sc)
    if sx ~= sy then return sx < sy end
    return x._id < y._id
  end)
  for _, T in ipairs(REQ) do
    if T.st == 'queued' then
      local a = pick_agent(T)
      if a then offer(T, a) end
    end
  end
  REL, REQ = {}, {}
end

-- Offers still ringing for an agent who stops being available go back (without excluding it).
local function withdraw_offers(a, reason)
  local ids = redis.call('SMEMBERS', P .. 'at:' .. a._id)
  table.sort(ids)
  for _, id in ipairs(ids) do
    local T = task(id)
    if T and T.st == 'offered' then
      release(T, a)
      requeue(T, nil)
      emit('requeued', T._id, T.tn, a._id, {reason = reason, queue_id = T.q})
    end
  end
end

-- Tasks reserved for the agent become matchable by anyone (filter(T) -> bool selects which).
local function release_reservations(a, filter)
  local ids = redis.call('ZRANGE', P .. 'r:' .. a._id, 0, -1)
  for _, id in ipairs(ids) do
    local T = task(id)
    if T and (filter == nil or filter(T)) then
      local kind = T.rk
      unreserve(T)
      if kind == 't' then
        emit('requeued', T._id, T.tn, nil, {reason = 'target_released', queue_id = T.q, from_agent_id = a._id})
      end
    end
  end
end

-- A task as put into Redis from its JSON description (enqueue and rebuild).
local function create_task(s, scan_agents)
  local sc = (9 - s.p) * 2199023255552 + s.enq
  local stk = 0
  if s.sticky and s.sticky > 0 and s.pref and s.pref ~= '' then stk = s.enq + s.sticky end
  local T = {_id = s.id, tn = s.tn, ch = s.ch, q = s.q, p = I(s.p), enq = I(s.enq), sc = I(sc), sig = s.sig,
    pref = s.pref or '', stk = I(stk), st = 'queued'}
  redis.call('HSET', P .. 't:' .. s.id, 'tn', T.tn, 'ch', T.ch, 'q', T.q, 'p', T.p, 'enq', T.enq, 'sc', T.sc,
    'sig', T.sig, 'pref', T.pref, 'stk', T.stk, 'st', 'queued')
  if s.ring and s.ring > 0 then tset(T, 'rng', I(s.ring)) end
  redis.call('SADD', P .. 'qs:' .. s.tn, s.q)
  register_sig(s.tn, s.ch, s.sig, scan_agents)
  TK[s.id] = T
  return T
end

-- A sticky window reserves the task for its preferred agent while it is open, if that agent is
-- known, serves the tenant, qualifies for the skills, is not offline and has not been excluded.
local function sticky_target(T)
  if num(T.stk) <= NOW or T.pref == nil or T.pref == '' then return nil end
  local a = agent(T.pref)
  if not a or a.pr == 'offline' then return nil end
  if not qualifies(a, T.tn, parse_sig(T.sig)) then return nil end
  if is_excluded(T, a._id) then return nil end
  return a
end
