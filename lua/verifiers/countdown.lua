-- countdown: the Countdown numbers game, checked exactly.
--
-- task.meta.numbers: the numbers given (array of integers); task.meta.target: an integer.
-- The completion must combine some of the numbers, each at most once, with + - * / and
-- parentheses into an expression equal to the target.
--
-- Which expression is read (the rule):
--   1. If the completion contains "Answer:" (any case), the text after the last one, up
--      to the end of that line.
--   2. Otherwise the last non-empty line made only of digits, spaces, + - * / x × ÷ ( )
--      and = that contains at least one digit.
--   In the candidate, \boxed{...} and $ are unwrapped, x × ÷ read as * * /, a trailing "."
--   is dropped, and when there is an "=" the first side that contains an operator is
--   taken (so "(3+5)*3 = 24" and "24 = (3+5)*3" both read the expression).
-- Arithmetic is on integers: every division must be exact (the game's rule: no fractions
-- along the way), there is no unary minus, and values beyond 2^53 are refused.
--
-- Statuses: correct (reward 1), wrong (a valid expression with another value),
-- no_answer (nothing that looks like an expression), invalid (a syntax error, a number
-- not given or used more often than given, an inexact division or division by zero).
-- detail: expression, target, value (when evaluated), used (numbers in order), reason.

local LIMIT = 2 ^ 53

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local function candidate(text)
    local lower = text:lower()
    local last
    local from = 1
    while true do
        local i, j = lower:find("answer:", from, true)
        if not i then break end
        last, from = j + 1, j + 1
    end
    if last then
        local line = text:sub(last):match("^[^\n]*")
        return trim(line)
    end
    local found
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        local l = trim(line:gsub("×", "*"):gsub("÷", "/"))
        if l ~= "" and l:find("%d") and not l:find("[^%d%s%+%-%*/xX%(%)=]") then found = l end
    end
    return found
end

local function normalise(c)
    c = c:gsub("\\boxed{(.*)}", "%1"):gsub("%$", ""):gsub("×", "*"):gsub("÷", "/"):gsub("[xX]", "*")
    c = trim(c):gsub("%.$", "")
    if c:find("=", 1, true) then
        local sides = {}
        for part in (c .. "="):gmatch("([^=]*)=") do sides[#sides + 1] = trim(part) end
        local pick = sides[1]
        for _, s in ipairs(sides) do
            if s:find("[%+%-%*/]") then pick = s break end
        end
        c = pick
    end
    return trim(c)
end

-- Recursive descent over the token list; errors are raised as {reason = ...} tables.
local function evaluate(expr)
    local toks = {}
    local i = 1
    while i <= #expr do
        local ch = expr:sub(i, i)
        if ch:find("%s") then
            i = i + 1
        elseif ch:find("%d") then
            local num = expr:match("^%d+", i)
            if #num > 15 then error({ reason = "number too large: " .. num }) end
            toks[#toks + 1] = { kind = "num", value = math.tointeger(tonumber(num)) }
            i = i + #num
        elseif ch:find("[%+%-%*/%(%)]") then
            toks[#toks + 1] = { kind = ch }
            i = i + 1
        else
            error({ reason = "unexpected character '" .. ch .. "'" })
        end
    end
    local pos, used, depth = 1, {}, 0
    local function peek() return toks[pos] and toks[pos].kind end
    local expression
    local function factor()
        local t = toks[pos]
        if not t then error({ reason = "expression ends too early" }) end
        if t.kind == "num" then
            pos = pos + 1
            used[#used + 1] = t.value
            return t.value
        elseif t.kind == "(" then
            depth = depth + 1
            if depth > 100 then error({ reason = "parentheses nested too deep" }) end
            pos = pos + 1
            local v = expression()
            if peek() ~= ")" then error({ reason = "missing ')'" }) end
            pos = pos + 1
            depth = depth - 1
            return v
        end
        error({ reason = "unexpected '" .. t.kind .. "'" })
    end
    local function check(v)
        if math.abs(v) > LIMIT then error({ reason = "value too large" }) end
        return v
    end
    local function term()
        local v = factor()
        while peek() == "*" or peek() == "/" do
            local op = peek()
            pos = pos + 1
            local r = factor()
            if op == "*" then
                v = check(v * r)
            else
                if r == 0 then error({ reason = "division by zero" }) end
                if v % r ~= 0 then error({ reason = ("inexact division %d/%d"):format(v, r) }) end
                v = v // r
            end
        end
        return v
    end
    expression = function()
        local v = term()
        while peek() == "+" or peek() == "-" do
            local op = peek()
            pos = pos + 1
            local r = term()
            v = check(op == "+" and v + r or v - r)
        end
        return v
    end
    local v = expression()
    if pos <= #toks then error({ reason = "unexpected '" .. toks[pos].kind .. "' after the expression" }) end
    return v, used
end

local function score(task, completion)
    local meta = task.meta or {}
    local numbers, target = meta.numbers, math.tointeger(meta.target)
    if type(numbers) ~= "table" or not target then
        error("task meta needs 'numbers' (array of integers) and 'target' (integer)")
    end
    local detail = { target = target }
    local c = candidate(completion)
    if not c or not c:find("%d") then
        detail.reason = "no expression found"
        return 0, "no_answer", detail
    end
    c = normalise(c)
    detail.expression = c
    local ok, value, used = pcall(evaluate, c)
    if not ok then
        if type(value) ~= "table" then error(value, 0) end -- a bug or a budget error: not the model's fault
        detail.reason = value.reason
        return 0, "invalid", detail
    end
    detail.used = used
    local left = {}
    for _, n in ipairs(numbers) do left[n] = (left[n] or 0) + 1 end
    for _, n in ipairs(used) do
        if not left[n] or left[n] == 0 then
            detail.reason = left[n] and ("%d used more often than given"):format(n) or ("%d is not one of the numbers"):format(n)
            return 0, "invalid", detail
        end
        left[n] = left[n] - 1
    end
    detail.value = value
    if value == target then return 1, "correct", detail end
    return 0, "wrong", detail
end

return rlvr.verifier { name = "countdown", score = score }
