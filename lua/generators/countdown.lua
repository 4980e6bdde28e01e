-- countdown: Countdown numbers-game tasks for the countdown verifier
-- (lua/verifiers/countdown.lua).
--
--   local cd = require("generators.countdown")
--   local task = cd.task{ numbers = 4, max_number = 25, answer_only = false }
--   -- { prompt = "Using the numbers 3, 5, 3 (each at most once) and + - * / make 24. ...",
--   --   reference = "Answer: (3+5)*3", verifier = "countdown",
--   --   meta = { numbers = {3, 5, 3}, target = 24 } }
--
-- numbers (default 4, 1 to 12) numbers are drawn from 1 to max_number (default 25, 1 to
-- 1000000). The target is always reachable: a random subset of them (at least two when
-- there are two or more), in random order, is combined by a random binary expression
-- tree, and the target is its value. Every step follows the verifier's rules and keeps to
-- positive whole numbers: a - b only when a > b, a / b only when b > 1 divides a, a * b
-- only while the product stays at most 1,000,000 (far below the verifier's 2^53), so the
-- target is a positive integer. The reference is that expression after "Answer: ", with
-- only the parentheses the verifier's precedence rules need (* and / bind tighter than +
-- and -, all four are left-associative). answer_only gives reference "".
-- Only math.random is used and nothing is kept between calls.

local M = {}

local PRODUCT_CAP = 1000000
local PREC = { ["+"] = 1, ["-"] = 1, ["*"] = 2, ["/"] = 2 }

local function rnd(a, b) return math.random(a, b) end

local function check_count(v, name, lo, hi, default)
    if v == nil then return default end
    local n = type(v) == "number" and math.tointeger(v)
    if not n or n < lo or n > hi then
        error(("countdown: %s must be an integer from %d to %d, not %s"):format(name, lo, hi, tostring(v)), 3)
    end
    return n
end

-- A random expression tree over the list nums (every element used once, in order).
-- Nodes: { value = v } leaves, { value = v, op = "+", left = l, right = r } otherwise.
local function build(nums, i, j)
    if i == j then return { value = nums[i] } end
    local k = rnd(i, j - 1)
    local l, r = build(nums, i, k), build(nums, k + 1, j)
    local a, b = l.value, r.value
    local ops = { "+" }
    if a > b then ops[#ops + 1] = "-" end
    if a * b <= PRODUCT_CAP then ops[#ops + 1] = "*" end
    if b > 1 and a % b == 0 then ops[#ops + 1] = "/" end
    local op = ops[rnd(1, #ops)]
    local v
    if op == "+" then v = a + b
    elseif op == "-" then v = a - b
    elseif op == "*" then v = a * b
    else v = a // b end
    return { value = v, op = op, left = l, right = r }
end

local function prec(node) return node.op and PREC[node.op] or 3 end

-- The text of a tree with the parentheses the precedence rules need.
local function show(node)
    if not node.op then return tostring(node.value) end
    local p = PREC[node.op]
    local ls, rs = show(node.left), show(node.right)
    if prec(node.left) < p then ls = "(" .. ls .. ")" end
    local rp = prec(node.right)
    if rp < p or (rp == p and (node.op == "-" or node.op == "/")) then rs = "(" .. rs .. ")" end
    return ls .. node.op .. rs
end

function M.task(opts)
    opts = opts or {}
    local n = check_count(opts.numbers, "numbers", 1, 12, 4)
    local max_number = check_count(opts.max_number, "max_number", 1, 1000000, 25)
    local numbers = {}
    for i = 1, n do numbers[i] = rnd(1, max_number) end
    -- A random subset in random order: shuffle a copy, keep the first k.
    local pool = {}
    for i = 1, n do pool[i] = numbers[i] end
    for i = n, 2, -1 do
        local j = rnd(1, i)
        pool[i], pool[j] = pool[j], pool[i]
    end
    local k = n >= 2 and rnd(2, n) or 1
    local tree = build(pool, 1, k)
    local target = tree.value
    assert(math.type(target) == "integer" and target > 0, "countdown: target must be a positive integer")
    local list = {}
    for i = 1, n do list[i] = tostring(numbers[i]) end
    local prompt = ("Using the numbers %s (each at most once) and + - * / make %d. "
        .. "You may use parentheses and need not use every number. All arithmetic is on whole numbers: "
        .. "every division must be exact, and there is no unary minus. "
        .. "Give the expression on the last line as \"Answer: <expression>\"."):format(table.concat(list, ", "), target)
    return {
        prompt = prompt,
        reference = opts.answer_only and "" or ("Answer: " .. show(tree)),
        verifier = "countdown",
        meta = { numbers = numbers, target = target },
    }
end

return M
