-- gsm_word: GSM8K-style word problems with worked solutions in GSM8K's exact format.
--
--   local gsm = require("generators.gsm_word")
--   local task = gsm.problem{ steps = 2, digits = 2, distractors = 1, answer_only = false, family = nil }
--   gsm.families   -- the family names, in a fixed order
--
-- Options:
--   steps        1..4 calculation steps (default 2), or a {min, max} pair drawn uniformly
--   digits       1..4: every number written in the question has at most this many digits
--                (default 2); every intermediate result stays below 10^6
--   distractors  0..5 extra sentences with numbers that the solution never uses (default 0)
--   answer_only  the reference is only "#### N" (for RL stages); the problem drawn is the
--                same as without it (the same random draws are made)
--   family       force one family (a name from gsm.families); nil draws one uniformly
--
-- Returns { prompt, reference = "<one line per step>\n#### N", verifier = "arith",
--           meta = { answer = "N", steps = k, family = name, digits = d, distractors = m } }.
--
-- Each solution line holds exactly one calculator annotation "a op b = <<a op b=c>>c"
-- (op one of + - * /), and c follows the annotation immediately, as in GSM8K. Every
-- operand is a number written in the question, a result of an earlier line, or an implied
-- constant: 2 ("twice", "half", "double", "round trip") or 60 (minutes in an hour). Every
-- result is a non-negative integer below 10^6; division is used only when exact. The last
-- line's result is the answer. Distractor numbers differ from every operand and result.
--
-- A problem is a chain: the family's opening step (one or two numbers from the
-- question), then steps drawn from the family's operations (each checks that its numbers
-- fit; "final" operations, which change what is being counted, only close a chain; "once"
-- operations appear at most once; "early" ones, such as "for 3 weeks", only come right
-- after the opening step, where the story reads the same way the solution computes it).
-- Randomness comes only from math.random; nothing outside the call changes, so a seeded
-- host draws the same problems again.

local M = {}

local LIMIT = 1000000
local CAPS = { 9, 99, 999, 9999 }

local function rnd(a, b) return math.random(a, b) end
local function pick(t) return t[math.random(#t)] end

local function cap1(s) return (s:gsub("^%l", string.upper)) end

-- Substitute {key} from x, then from vars. A missing key is a bug in a template.
local function fill(tpl, x, vars)
    return (tpl:gsub("{(%w+)}", function(k)
        local v = x[k]
        if v == nil then v = vars[k] end
        if v == nil then error("gsm_word: template key {" .. k .. "} has no value", 0) end
        return tostring(v)
    end))
end

-- ---------------------------------------------------------------- word lists

local NAMES = {
    { "Natalia", "f" }, { "James", "m" }, { "Betty", "f" }, { "Julie", "f" }, { "Albert", "m" },
    { "Ken", "m" }, { "Alexis", "f" }, { "Tina", "f" }, { "Marvin", "m" }, { "Tobias", "m" },
    { "Randy", "m" }, { "Joy", "f" }, { "Mary", "f" }, { "Carla", "f" }, { "Brandon", "m" },
    { "Maria", "f" }, { "Liam", "m" }, { "Olivia", "f" }, { "Noah", "m" }, { "Emma", "f" },
    { "Ava", "f" }, { "Mason", "m" }, { "Sophia", "f" }, { "Ethan", "m" }, { "Mia", "f" },
    { "Lucas", "m" }, { "Amelia", "f" }, { "Logan", "m" }, { "Harper", "f" }, { "Jackson", "m" },
    { "Ella", "f" }, { "Aiden", "m" }, { "Chloe", "f" }, { "Carlos", "m" }, { "Priya", "f" },
    { "Ravi", "m" }, { "Fatima", "f" }, { "Omar", "m" }, { "Yuki", "f" }, { "Kenji", "m" },
    { "Sofia", "f" }, { "Mateo", "m" }, { "Aisha", "f" }, { "Kwame", "m" }, { "Ingrid", "f" },
    { "Lars", "m" }, { "Wei", "m" }, { "Mei", "f" }, { "Diego", "m" }, { "Lucia", "f" },
    { "Hassan", "m" }, { "Zara", "f" }, { "Tom", "m" }, { "Nina", "f" }, { "Pedro", "m" },
    { "Rosa", "f" }, { "Samuel", "m" }, { "Grace", "f" }, { "Daniel", "m" }, { "Hannah", "f" },
    { "Victor", "m" }, { "Leah", "f" }, { "Felix", "m" }, { "Irene", "f" }, { "Oscar", "m" },
    { "Paula", "f" }, { "Hugo", "m" }, { "Anya", "f" }, { "Ivan", "m" }, { "Elena", "f" },
    { "Jamal", "m" }, { "Keisha", "f" }, { "Theo", "m" }, { "Lily", "f" }, { "Marcus", "m" },
    { "Nadia", "f" }, { "Adam", "m" }, { "Ruth", "f" }, { "Caleb", "m" }, { "Janet", "f" },
}

local PRONOUNS = {
    f = { he = "she", He = "She", him = "her", his = "her", His = "Her" },
    m = { he = "he", He = "He", him = "him", his = "his", His = "His" },
}

local RELATIVES = { "brother", "sister", "cousin", "aunt", "uncle", "grandmother", "grandfather", "neighbor", "friend" }

-- Things people collect, share and count (plural, singular).
local COUNTABLES = {
    { "apples", "apple" }, { "marbles", "marble" }, { "stickers", "sticker" }, { "pencils", "pencil" },
    { "cookies", "cookie" }, { "books", "book" }, { "stamps", "stamp" }, { "seashells", "seashell" },
    { "trading cards", "trading card" }, { "crayons", "crayon" }, { "balloons", "balloon" },
    { "candies", "candy" }, { "oranges", "orange" }, { "beads", "bead" }, { "toy cars", "toy car" },
    { "comic books", "comic book" }, { "cupcakes", "cupcake" }, { "buttons", "button" },
    { "rocks", "rock" }, { "coins", "coin" }, { "shells", "shell" }, { "lemons", "lemon" },
}

local SHOP_ITEMS = {
    "notebooks", "pens", "shirts", "books", "movie tickets", "sandwiches", "mugs", "potted plants",
    "toy trucks", "bags of chips", "pairs of socks", "candles", "board games", "water bottles",
    "picture frames", "pizzas", "video games", "concert tickets",
}

local SINGLE_THINGS = {
    "hat", "backpack", "lamp", "scarf", "umbrella", "lunch", "phone case", "wallet", "belt",
    "puzzle", "kite", "watch", "pillow", "notebook",
}

local JOBS = {
    "as a babysitter", "at the bakery", "as a tutor", "at the library", "as a dog walker",
    "at a cafe", "as a lifeguard", "at the garden center", "mowing lawns", "as a cashier",
}

local EXPENSES = { "groceries", "gas", "rent", "a new pair of shoes", "books", "bus fares", "lunch", "a gift" }

local KIDS = { "children", "grandchildren", "nephews", "nieces", "kids" }

local TRAVELLERS = {
    { "car", "drives" }, { "train", "travels" }, { "bus", "travels" }, { "truck", "drives" },
    { "cyclist", "rides" }, { "boat", "sails" },
}

local UNITS = { "miles", "kilometers" }

local ACTIVITIES = {
    "practicing the piano", "reading", "jogging", "doing homework", "painting", "studying Spanish",
    "playing chess", "gardening", "swimming", "knitting", "writing stories", "walking the dog",
}

local GROUPS = {
    { "friends", "friend" }, { "classmates", "classmate" }, { "cousins", "cousin" },
    { "teammates", "teammate" }, { "children", "child" }, { "neighbors", "neighbor" },
    { "students", "student" },
}

local CONTAINERS = {
    { "boxes", "box" }, { "crates", "crate" }, { "bags", "bag" }, { "packs", "pack" },
    { "cartons", "carton" }, { "baskets", "basket" }, { "trays", "tray" }, { "jars", "jar" },
}

local PLACES = { "store", "school", "warehouse", "bakery", "library", "market", "farm stand", "toy shop" }

-- (ingredient, item made, items made)
local RECIPES = {
    { "eggs", "cake", "cakes" }, { "cups of flour", "batch of cookies", "batches of cookies" },
    { "apples", "pie", "pies" }, { "strawberries", "smoothie", "smoothies" },
    { "beads", "necklace", "necklaces" }, { "feet of ribbon", "gift basket", "gift baskets" },
    { "ounces of cheese", "pizza", "pizzas" }, { "bananas", "loaf of banana bread", "loaves of banana bread" },
    { "buttons", "coat", "coats" }, { "tomatoes", "pot of sauce", "pots of sauce" },
}

-- Distractor sentences: template, the largest sensible number, and whether it only makes
-- sense for a person (left out when the subject is a vehicle). Their subject is the problem's person or a thing, never another person, so that a
-- following "she" still means the person the problem is about.
local DISTRACTORS = {
    { "{N} has {arel} who is {x} years old.", 99, true },
    { "{N} lives {x} miles from the {place}.", 9999, true },
    { "{N} keeps {x} {junk} in a drawer.", 9999, true },
    { "There are {x} {junk} on the shelf.", 9999, false },
    { "The {place} opened {x} years ago.", 99, false },
    { "{N} has {arel} with {x} {junk}.", 9999, true },
    { "{His} favorite number is {x}.", 9999, true },
    { "{N} has {x} pen pals.", 99, true },
    { "Last year, the {place} had {x} visitors on its busiest day.", 9999, false },
    { "{N} is {x} years old.", 99, false },
    { "It takes {x} minutes to walk to the {place}.", 99, true },
    { "{N}'s house has {x} windows.", 99, true },
}
local JUNK = { "postcards", "keychains", "magnets", "paper clips", "bookmarks", "erasers", "rubber bands", "spoons" }

-- ---------------------------------------------------------------- problem builder

local P = {}
P.__index = P

local function new_problem(digits)
    local who = pick(NAMES)
    local pr = PRONOUNS[who[2]]
    local vars = { N = who[1], he = pr.he, He = pr.He, him = pr.him, his = pr.his, His = pr.His }
    local p = setmetatable({
        cap = CAPS[digits], vars = vars, names = { [who[1]] = true },
        facts = {}, lines = {}, used = {}, seen = {}, nsteps = 0, done = {}, v = 0, question = nil,
    }, P)
    -- Per-problem calculator style, as GSM8K varies it: "3 * 4 = ", "3 x 4 = ", "3*4=".
    local r = rnd(1, 4)
    p.sp = (r == 4) and "" or " "
    p.times = (r == 2) and "x" or "*"
    return p
end

-- A number for the question in [lo, hi], hi clipped to the digit cap; nil when empty.
function P:num(lo, hi)
    if not hi or hi > self.cap then hi = self.cap end
    if lo > hi then return nil end
    return rnd(lo, hi)
end

-- b with 1 <= lo <= b < v (a part that can be taken away).
function P:below(v, lo) return self:num(lo or 1, v - 1) end
-- b > v within the cap (a budget, a bill, a whole trip).
function P:above(v) return self:num(v + 1) end
-- b such that v * b < LIMIT.
function P:mulby(v, lo, hi)
    local top = (LIMIT - 1) // (v > 0 and v or 1)
    if not hi or hi > top then hi = top end
    return self:num(lo, hi)
end
-- b such that v + b < LIMIT.
function P:addable(v, lo) return self:num(lo or 1, LIMIT - 1 - v) end
-- A divisor of v in [lo, hi] (within the cap), drawn uniformly; nil when there is none.
function P:divisor(v, lo, hi)
    if v <= 0 then return nil end
    if not hi or hi > self.cap then hi = self.cap end
    local ds, i = {}, 1
    while i * i <= v do
        if v % i == 0 then
            local j = v // i
            if i >= lo and i <= hi then ds[#ds + 1] = i end
            if j ~= i and j >= lo and j <= hi then ds[#ds + 1] = j end
        end
        i = i + 1
    end
    if #ds == 0 then return nil end
    table.sort(ds)   -- the order of discovery differs for i and j; sort for a fixed draw
    return ds[rnd(1, #ds)]
end

-- Another person's name, different from every name used so far.
function P:other()
    for _ = 1, 50 do
        local w = pick(NAMES)[1]
        if not self.names[w] then self.names[w] = true; return w end
    end
    error("gsm_word: ran out of names", 0)
end

-- One of a list of templates (or the template given), avoiding one this problem has used
-- already, so that two steps of the same kind read differently.
function P:choose(t)
    if type(t) == "string" then return t end
    local s = t[rnd(1, #t)]
    for _ = 1, 3 do
        if not self.seen[s] then break end
        s = t[rnd(1, #t)]
    end
    self.seen[s] = true
    return s
end

local CONNECTORS = { "Then ", "Later, ", "After that, ", "Next, " }

-- A sentence of the question. Events after the opening step sometimes get a connector
-- ("Later, she ..."), for variety.
function P:fact(tpl, x)
    tpl = self:choose(tpl)
    if self.nsteps > 0 and tpl:sub(1, 4) == "{He}" and not tpl:find("[Tt]hen") and rnd(1, 3) == 1 then
        tpl = pick(CONNECTORS) .. "{he}" .. tpl:sub(5)
    end
    self.facts[#self.facts + 1] = cap1(fill(tpl, x or {}, self.vars))
end
function P:ask(tpl, x) self.question = cap1(fill(tpl, x or {}, self.vars)) end

-- One solution line: computes a op b, writes "a op b = <<a op b=c>>c" where the template
-- says {calc}, and makes c the current value.
function P:step(tpl, a, op, b, x, money)
    local c
    if op == "+" then c = a + b
    elseif op == "-" then c = a - b
    elseif op == "*" then c = a * b
    elseif op == "/" then
        if b == 0 or a % b ~= 0 then error("gsm_word: inexact division " .. a .. "/" .. b, 0) end
        c = a // b
    end
    if math.type(c) ~= "integer" or c < 0 or c >= LIMIT then
        error("gsm_word: result out of range: " .. a .. op .. b .. "=" .. tostring(c), 0)
    end
    tpl = self:choose(tpl)
    local used = self.used
    used[a] = true; used[b] = true; used[c] = true
    self.nsteps = self.nsteps + 1
    local s = self.sp
    local shown = op == "*" and self.times or op
    x = x or {}
    x.calc = a .. s .. shown .. s .. b .. s .. "=" .. s .. (money and "$" or "") ..
             "<<" .. a .. op .. b .. "=" .. c .. ">>" .. c
    self.lines[#self.lines + 1] = cap1(fill(tpl, x, self.vars))
    self.v = c
    return c
end

-- ---------------------------------------------------------------- families
--
-- A family: start(p) writes the opening fact(s) and step and sets the question; ops is a
-- list of { f = function(p) -> true when applied, cost = steps (1 or 2), final = only as
-- the last step, once = at most once, early = only as the second step }. An op draws its numbers first and returns false,
-- with nothing written, when they do not fit.

local FAMILIES, ORDER = {}, {}
local function family(name, def) FAMILIES[name] = def; ORDER[#ORDER + 1] = name end

-- shopping: prices, totals, coupons, change ------------------------------------------
family("shopping", {
    start = function(p)
        local a = p:num(2, 99)
        local b = p:mulby(a, 2)
        local it = pick(SHOP_ITEMS)
        p.vars.items = it
        local x = { a = a, b = b, items = it }
        p:fact({
            "{N} buys {a} {items} that cost ${b} each.",
            "{N} bought {a} {items} at ${b} each.",
            "At the {place}, {N} picks up {a} {items}. Each one costs ${b}.",
            "{items} cost ${b} each, and {N} buys {a} of them.",
            "{N} needs {a} {items} for a party. They sell for ${b} apiece.",
        }, { a = a, b = b, items = it, place = pick(PLACES) })
        p:step({
            "{N} spends {calc} on {items}.",
            "The {items} cost {calc}.",
            "{He} pays {calc} for the {items}.",
            "{a} {items} at ${b} each cost {calc}.",
        }, a, "*", b, x, true)
        p:ask(pick {
            "How much does {N} spend?", "How much money does {N} spend on the {items}?",
            "How many dollars does {N} pay?", "What is the total cost?",
        })
    end,
    ops = {
        { f = function(p) -- one more thing
            local b = p:addable(p.v, 2)
            if not b then return false end
            local t = pick(SINGLE_THINGS)
            local at = (t:find("^[aeiou]") and "an " or "a ") .. t
            p:fact({ "{He} also buys {at} for ${b}.", "Then {he} adds {at} that costs ${b}.",
                     "{at} for ${b} goes into the cart as well." }, { t = t, at = at, b = b })
            p:step({ "Adding the {t}, {he} spends {calc}.", "With the {t}, the total is {calc}.",
                          "In total {he} spends {calc}." }, p.v, "+", b, { t = t }, true)
            p:ask(pick { "How much does {he} spend in total?", "How much does {N} spend altogether?",
                         "What is the total cost of everything?" })
            return true
        end },
        { cost = 2, f = function(p) -- a second kind of item
            local a = p:num(2, 99)
            local b = a and p:mulby(a, 2)
            if not (a and b) or p.v + a * b >= LIMIT then return false end
            local it = pick(SHOP_ITEMS)
            if it == p.vars.items then return false end
            p:fact({ "{He} also buys {a} {it} for ${b} each.", "{He} picks up {a} {it} too, at ${b} each." },
                   { a = a, b = b, it = it })
            local first = p.v
            local c = p:step({ "The {it} cost {calc}.", "For the {it}, {he} pays {calc}." }, a, "*", b, { it = it }, true)
            p:step({ "Altogether {he} spends {calc}.", "The total is {calc}." }, first, "+", c, nil, true)
            p:ask(pick { "How much does {he} spend in all?", "How much does {N} pay altogether?" })
            return true
        end },
        { f = function(p) -- a coupon
            local b = p:below(p.v)
            if not b then return false end
            p:fact({ "{He} has a coupon for ${b} off.", "The cashier gives {him} a ${b} discount.",
                          "{He} uses a gift card worth ${b} to pay part of it." }, { b = b })
            p:step({ "After the discount, {he} pays {calc}.", "{He} pays {calc}.",
                          "So {he} still has to pay {calc}." }, p.v, "-", b, nil, true)
            p:ask(pick { "How much does {he} pay?", "How much money does {N} pay in the end?" })
            return true
        end },
        { early = true, f = function(p) -- every week
            local b = p:mulby(p.v, 2, 52)
            if not b then return false end
            p:fact({ "{He} makes the same purchase every week for {b} weeks.",
                          "{He} shops like this once a week for {b} weeks." }, { b = b })
            p:step({ "Over {b} weeks {he} spends {calc}.", "In total that is {calc}." },
                   p.v, "*", b, { b = b }, true)
            p:ask(pick { "How much does {he} spend over those weeks?", "How much does {N} spend in all?" })
            return true
        end },
        { final = true, f = function(p) -- change from a bill
            local bills, b = { 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 }, nil
            for _, x in ipairs(bills) do
                if x > p.v and x <= p.cap then b = x; break end
            end
            if not b or rnd(1, 3) == 1 then b = p:above(p.v) end
            if not b then return false end
            p:fact({ "{He} pays with ${b}.", "{He} hands the cashier ${b}.", "{He} gives the clerk ${b}." }, { b = b })
            p:step({ "{His} change is {calc}.", "{He} gets back {calc}.", "The change is {calc}." },
                   b, "-", p.v, nil, true)
            p:ask(pick { "How much change does {he} get?", "How much change does {N} receive?" })
            return true
        end },
        { final = true, f = function(p) -- money left
            local b = p:above(p.v)
            if not b then return false end
            p:fact({ "{N} had ${b} before shopping.", "{He} brought ${b} to the {place}." },
                   { b = b, place = pick(PLACES) })
            p:step({ "{He} has {calc} left.", "{His} money left is {calc}." }, b, "-", p.v, nil, true)
            p:ask(pick { "How much money does {he} have left?", "How many dollars does {N} have left?" })
            return true
        end },
        { final = true, f = function(p) -- split the bill
            local k = p:divisor(p.v, 2, 12)
            if not k then return false end
            local g = pick(GROUPS)
            p:fact({ "The cost is shared equally among {k} {g}.", "{He} and {his} {g} split the cost equally, {k} people in all." },
                   { k = k, g = g[1] })
            p:step({ "Each person pays {calc}.", "Each share is {calc}." }, p.v, "/", k, nil, true)
            p:ask(pick { "How much does each person pay?", "How much is each share?" })
            return true
        end },
    },
})

-- wages: pay per hour, bonuses, expenses, savings ------------------------------------
family("wages", {
    start = function(p)
        local a = p:num(2, 99)   -- hours
        local b = p:mulby(a, 2)  -- rate
        p.vars.job = pick(JOBS)
        p:fact({
            "{N} works {a} hours a week {job} and earns ${b} an hour.",
            "{N} earns ${b} per hour {job}. This week {he} works {a} hours.",
            "{N} gets paid ${b} an hour {job}, and {he} worked {a} hours last week.",
            "Working {job} pays ${b} an hour. {N} puts in {a} hours a week.",
        }, { a = a, b = b })
        p:step({ "{He} earns {calc} a week.", "{N} makes {calc} per week.", "{His} weekly pay is {calc}." },
               a, "*", b, nil, true)
        p:ask(pick { "How much does {N} earn in a week?", "How much money does {he} make that week?",
                     "What is {N}'s weekly pay?" })
    end,
    ops = {
        { early = true, f = function(p)
            local b = p:mulby(p.v, 2, 52)
            if not b then return false end
            p:fact({ "{He} works the same schedule for {b} weeks.", "{He} keeps this job for {b} weeks." }, { b = b })
            p:step({ "In {b} weeks {he} earns {calc}.", "Over those weeks {he} makes {calc}." },
                   p.v, "*", b, { b = b }, true)
            p:ask(pick { "How much does {he} earn in total?", "How much money does {N} make over the weeks?" })
            return true
        end },
        { f = function(p)
            local b = p:addable(p.v, 2)
            if not b then return false end
            local what = pick { "as a bonus", "in tips", "as a gift from {his} boss" }
            p:fact({ "{He} also gets ${b} " .. what .. ".", "On top of that, {he} receives ${b} " .. what .. "." }, { b = b })
            p:step({ "With that, {he} has {calc}.", "Now {he} has {calc}.", "That makes {calc}." }, p.v, "+", b, nil, true)
            p:ask(pick { "How much money does {he} have in total?", "How much does {N} have altogether?" })
            return true
        end },
        { f = function(p)
            local b = p:below(p.v)
            if not b then return false end
            p:fact({ "{He} spends ${b} on {e}.", "Then {he} pays ${b} for {e}." }, { b = b, e = pick(EXPENSES) })
            p:step({ "{He} has {calc} left.", "After that {he} has {calc}.", "That leaves {calc}." }, p.v, "-", b, nil, true)
            p:ask(pick { "How much money does {he} have left?", "How much does {N} have after that?" })
            return true
        end },
        { final = true, f = function(p)
            if p.v % 2 ~= 0 or p.v == 0 then return false end
            p:fact({ "{He} saves half of {his} money.", "{He} puts half of it into savings." })
            p:step({ "{He} saves {calc}.", "Half of it is {calc}." }, p.v, "/", 2, nil, true)
            p:ask(pick { "How much does {he} save?", "How much money goes into savings?" })
            return true
        end },
        { final = true, f = function(p)
            local k = p:divisor(p.v, 2, 9)
            if not k then return false end
            p:fact({ "{He} divides the money equally among {his} {k} {kids}.", "{He} shares it equally between {his} {k} {kids}." },
                   { k = k, kids = pick(KIDS) })
            p:step({ "Each one gets {calc}.", "Each of them receives {calc}." }, p.v, "/", k, nil, true)
            p:ask(pick { "How much does each one get?", "How many dollars does each of them receive?" })
            return true
        end },
        { final = true, f = function(p)
            local b = p:above(p.v)
            if not b then return false end
            p:fact({ "{He} wants to buy a {t} that costs ${b}.", "{He} is saving for a {t} priced at ${b}." },
                   { b = b, t = pick { "bike", "guitar", "laptop", "camera", "tablet", "skateboard" } })
            p:step({ "{He} still needs {calc}.", "{He} is short by {calc}." }, b, "-", p.v, nil, true)
            p:ask(pick { "How much more money does {he} need?", "How much more does {N} have to earn?" })
            return true
        end },
    },
})

-- travel: speed, distance, round trips, distance left --------------------------------
family("travel", {
    start = function(p)
        local tr = pick(TRAVELLERS)
        local u = pick(UNITS)
        p.vars.unit = u
        local a = p:num(2, 99)          -- speed
        local b = p:mulby(a, 2, 24)     -- hours
        if not b then b = 2 end
        if tr[1] == "cyclist" or rnd(1, 2) == 1 then
            p:fact({ "{N} {verb} at {a} {unit} per hour for {b} hours.",
                          "For {b} hours, {N} {verb} at a speed of {a} {unit} an hour." },
                   { a = a, b = b, verb = tr[1] == "cyclist" and "rides a bike" or tr[2] })
        else
            p.vars.he, p.vars.He, p.vars.his, p.vars.His = "it", "It", "its", "Its"
            p.vars.N = "the " .. tr[1]
            p.thing = true   -- distractors must not talk about "the car's cousin"
            p:fact({ "A {t} {verb} at {a} {unit} per hour for {b} hours.",
                          "A {t} moves at {a} {unit} an hour. It keeps going for {b} hours." },
                   { a = a, b = b, t = tr[1], verb = tr[2] })
        end
        p:step({ "{He} covers {calc} {unit}.", "In {b} hours {he} goes {calc} {unit}.",
                      "The distance is {calc} {unit}." }, a, "*", b, { b = b })
        p:ask(pick { "How many {unit} does {N} travel?", "How far does {N} go, in {unit}?" })
    end,
    ops = {
        { f = function(p)
            local b = p:addable(p.v, 2)
            if not b then return false end
            p:fact({ "After a break, {he} goes {b} more {unit}.", "Then {he} travels another {b} {unit}.",
                     "{He} continues for {b} more {unit}.", "Before stopping, {he} covers another {b} {unit}." }, { b = b })
            p:step({ "So far that is {calc} {unit}.", "Altogether {he} has gone {calc} {unit}." }, p.v, "+", b)
            p:ask(pick { "How many {unit} does {he} travel in total?", "What is the total distance in {unit}?" })
            return true
        end },
        { cost = 2, f = function(p)
            local a = p:num(2, 99)
            local b = a and p:mulby(a, 2, 24)
            if not (a and b) or p.v + a * b >= LIMIT then return false end
            p:fact({ "Then {he} travels at {a} {unit} per hour for {b} more hours.",
                          "Next, {he} slows to {a} {unit} an hour for {b} hours." }, { a = a, b = b })
            local first = p.v
            local c = p:step({ "On the second part {he} covers {calc} {unit}.", "The second stretch is {calc} {unit}." }, a, "*", b)
            p:step({ "The total is {calc} {unit}.", "Altogether {he} travels {calc} {unit}." }, first, "+", c)
            p:ask(pick { "How many {unit} does {he} travel in all?", "How far does {he} go altogether?" })
            return true
        end },
        { early = true, f = function(p)
            if p.v * 2 >= LIMIT then return false end
            p:fact({ "Then {he} comes back the same way.", "Afterwards {he} returns along the same route." })
            p:step({ "The round trip is {calc} {unit}.", "There and back is {calc} {unit}." }, p.v, "*", 2)
            p:ask(pick { "How many {unit} is the whole round trip?", "How far does {he} travel there and back?" })
            return true
        end },
        { early = true, f = function(p)
            local b = p:mulby(p.v, 2, 30)
            if not b then return false end
            p:fact({ "{He} makes this trip {b} times.", "This trip is repeated on {b} days." }, { b = b })
            p:step({ "Over {b} trips that is {calc} {unit}.", "In total {he} covers {calc} {unit}." }, p.v, "*", b, { b = b })
            p:ask(pick { "How many {unit} are traveled in total?", "What is the total distance?" })
            return true
        end },
        { final = true, f = function(p)
            local b = p:above(p.v)
            if not b then return false end
            p:fact({ "The whole journey is {b} {unit} long.", "The destination is {b} {unit} from the start." }, { b = b })
            p:step({ "{He} still has {calc} {unit} to go.", "There are {calc} {unit} left." }, b, "-", p.v)
            p:ask(pick { "How many {unit} are left to travel?", "How much farther is it, in {unit}?" })
            return true
        end },
        { final = true, f = function(p)
            local k = p:divisor(p.v, 2, 999)
            if not k then return false end
            local i = rnd(1, 2)
            p:fact(({ "The route is marked in equal sections of {k} {unit}.",
                      "{He} stops to refuel after every {k} {unit}, the last time at the very end." })[i], { k = k })
            p:step(({ "That is {calc} sections.", "{He} stops {calc} times." })[i], p.v, "/", k)
            p:ask(({ "How many sections of {k} {unit} are covered?", "How many times does {he} stop to refuel?" })[i], { k = k })
            return true
        end },
    },
})

-- timing: minutes, hours and days ---------------------------------------------------
family("timing", {
    start = function(p)
        local act = pick(ACTIVITIES)
        p.vars.act = act
        if rnd(1, 3) == 1 then
            local a = p:num(2, (LIMIT - 1) // 60)
            p:fact({ "{N} spends {a} hours {act}.", "Last month {N} spent {a} hours {act}." }, { a = a })
            p:step({ "That is {calc} minutes.", "In minutes, that is {calc}." }, a, "*", 60)
            p:ask(pick { "How many minutes does {N} spend {act}?", "How many minutes is that?" })
        else
            local a = p:num(2, 99)
            local b = p:mulby(a, 2, 31)
            if not b then b = 2 end
            p:fact({ "{N} spends {a} minutes {act} each day for {b} days.",
                          "Every day for {b} days, {N} spends {a} minutes {act}.",
                          "{N} has a habit of {act} for {a} minutes a day. {He} keeps it up for {b} days." },
                   { a = a, b = b })
            p:step({ "{He} spends {calc} minutes in total.", "Over {b} days that is {calc} minutes." },
                   a, "*", b, { b = b })
            p:ask(pick { "How many minutes does {N} spend {act}?", "How many minutes is that in total?" })
        end
    end,
    ops = {
        { f = function(p)
            local b = p:addable(p.v, 2)
            if not b then return false end
            p:fact({ "On the weekend {he} adds an extra {b} minutes.", "{He} also spends {b} more minutes on it one evening.",
                     "On a holiday {he} spends {b} extra minutes on it.", "{He} adds a bonus session of {b} minutes." }, { b = b })
            p:step({ "With the extra time, it is {calc} minutes.", "Altogether that is {calc} minutes." }, p.v, "+", b)
            p:ask(pick { "How many minutes does {he} spend altogether?", "How many minutes in total?" })
            return true
        end },
        { f = function(p)
            local b = p:below(p.v)
            if not b then return false end
            p:fact({ "But {he} wastes {b} of those minutes looking at {his} phone.", "{He} loses {b} minutes of that time to breaks." }, { b = b })
            p:step({ "{He} really spends {calc} minutes.", "That leaves {calc} minutes." }, p.v, "-", b)
            p:ask(pick { "How many minutes does {he} actually spend {act}?", "How many minutes are left for {act}?" })
            return true
        end },
        { early = true, f = function(p)
            local b = p:mulby(p.v, 2, 12)
            if not b then return false end
            p:fact({ "{He} repeats the same routine for {b} months.", "{He} goes through the same routine {b} times during the year." },
                   { b = b })
            p:step({ "Altogether that is {calc} minutes.", "In total, {calc} minutes." }, p.v, "*", b)
            p:ask(pick { "How many minutes is that in total?", "How many minutes are spent altogether?" })
            return true
        end },
        { final = true, f = function(p)
            if p.v % 60 ~= 0 or p.v == 0 then return false end
            p:step({ "That is {calc} hours.", "In hours, that is {calc}." }, p.v, "/", 60)
            p:ask(pick { "How many hours is that?", "How many hours does that come to?" })
            return true
        end },
        { final = true, f = function(p)
            local k = p:divisor(p.v, 2, 20)
            if not k then return false end
            p:fact({ "The time is split equally across {k} sessions.", "{He} splits the time into {k} equal sessions." }, { k = k })
            p:step({ "Each session lasts {calc} minutes.", "Each session is {calc} minutes." }, p.v, "/", k)
            p:ask(pick { "How long is each session, in minutes?", "How many minutes is one session?" })
            return true
        end },
    },
})

-- sharing: equal division and what happens to the shares ---------------------------
family("sharing", {
    start = function(p)
        local it = pick(COUNTABLES)
        local g = pick(GROUPS)
        p.vars.items, p.vars.group, p.vars.one = it[1], g[1], g[2]
        local k = p:num(2, 12)
        local q = p:num(1, p.cap // k) or 1
        local n = k * q
        p:fact({
            "{N} has {n} {items} and shares them equally among {k} {group}.",
            "{N} divides {n} {items} equally between {k} {group}.",
            "{N} has {n} {items} to be shared equally by {k} {group}.",
            "{N} asks {k} {group} to split {n} {items} equally.",
        }, { n = n, k = k })
        p.vars.k = k
        p:step({ "Each {one} gets {calc} {items}.", "Each share is {calc} {items}.", "Every {one} receives {calc} {items}." }, n, "/", k)
        p:ask(pick { "How many {items} does each {one} get?", "How many {items} are in each share?" })
    end,
    ops = {
        { f = function(p)
            local b = p:below(p.v)
            if not b then return false end
            p:fact({ "Each {one} then eats {b} of them.", "Each {one} gives away {b} of them.", "Each {one} loses {b} of them on the way home." }, { b = b })
            p:step({ "Each {one} has {calc} {items} left.", "That leaves {calc} {items} each." }, p.v, "-", b)
            p:ask(pick { "How many {items} does each {one} have left?", "How many {items} are left for each {one}?" })
            return true
        end },
        { f = function(p)
            local b = p:addable(p.v, 2)
            if not b then return false end
            p:fact({ "Then each {one} gets {b} more {items} from {o}.", "{o} later gives each {one} {b} more." }, { b = b, o = p:other() })
            p:step({ "Each {one} now has {calc} {items}.", "That makes {calc} {items} each." }, p.v, "+", b)
            p:ask(pick { "How many {items} does each {one} have now?", "How many {items} does every {one} end up with?" })
            return true
        end },
        { once = true, f = function(p)
            if p.v * 2 >= LIMIT then return false end
            p:fact({ "Each {one} then doubles the pile with {items} from home.", "Each {one} then receives as many again from a relative." },
                   {})
            p:step({ "Each {one} then has {calc} {items}.", "Doubled, that is {calc} {items} each." }, p.v, "*", 2)
            p:ask(pick { "How many {items} does each {one} have?", "How many {items} does each {one} have in the end?" })
            return true
        end },
        { final = true, f = function(p)
            local k = p.vars.k
            if p.v * k >= LIMIT then return false end
            p:step({ "Together the {k} {group} have {calc} {items}.", "All together that is {calc} {items}." }, p.v, "*", k)
            p:ask(pick { "How many {items} do the {group} have together at the end?", "How many {items} do all the {group} have in total now?" })
            return true
        end },
        { final = true, f = function(p)
            local b = p:divisor(p.v, 2, 99)
            if not b then return false end
            local i = rnd(1, 2)
            p:fact(({ "Each {one} puts the {items} into bags of {b}.", "Each {one} sorts them into groups of {b}." })[i], { b = b })
            p:step(({ "Each {one} fills {calc} bags.", "That is {calc} groups each." })[i], p.v, "/", b)
            p:ask(({ "How many bags does each {one} fill?", "How many groups does each {one} make?" })[i])
            return true
        end },
    },
})

-- boxes: groups of N, loose items, repacking ----------------------------------------
family("boxes", {
    start = function(p)
        local it, ct = pick(COUNTABLES), pick(CONTAINERS)
        p.vars.items, p.vars.cs, p.vars.c1 = it[1], ct[1], ct[2]
        local a = p:num(2, 99)
        local b = p:mulby(a, 2)
        p:fact({
            "{N} works at the {place}, which has {a} {cs} with {b} {items} in each.",
            "{N} buys {a} {cs} of {items}. Each {c1} holds {b} {items}.",
            "There are {a} {cs} on {N}'s table, and each {c1} contains {b} {items}.",
            "{N} packed {b} {items} into each of {a} {cs}.",
        }, { a = a, b = b, place = pick(PLACES) })
        p:step({ "There are {calc} {items}.", "That is {calc} {items} in all.", "The {cs} hold {calc} {items}." }, a, "*", b)
        p:ask(pick { "How many {items} are there?", "How many {items} are there in total?" })
    end,
    ops = {
        { f = function(p)
            local b = p:addable(p.v, 2)
            if not b then return false end
            p:fact({ "There are also {b} loose {items}.", "{N} finds {b} more {items} that are not in a {c1}." }, { b = b })
            p:step({ "With the loose ones, there are {calc} {items}.", "Altogether there are {calc} {items}." }, p.v, "+", b)
            p:ask(pick { "How many {items} are there altogether?", "How many {items} are there in all?" })
            return true
        end },
        { f = function(p)
            local b = p:below(p.v)
            if not b then return false end
            p:fact({ "{b} of the {items} are damaged and thrown away.", "{N} gives {b} of the {items} to {o}." }, { b = b, o = p:other() })
            p:step({ "There are {calc} {items} left.", "That leaves {calc} {items}." }, p.v, "-", b)
            p:ask(pick { "How many {items} are left?", "How many {items} remain?" })
            return true
        end },
        { cost = 2, f = function(p)
            local a = p:num(2, 99)
            local b = a and p:mulby(a, 2)
            if not (a and b) or p.v + a * b >= LIMIT then return false end
            p:fact({ "Later, {a} more {cs} arrive with {b} {items} each.", "{N} then adds {a} {cs} holding {b} {items} each." }, { a = a, b = b })
            local first = p.v
            local c = p:step({ "The new {cs} have {calc} {items}.", "That adds {calc} {items}." }, a, "*", b)
            p:step({ "Now there are {calc} {items}.", "In total there are {calc} {items}." }, first, "+", c)
            p:ask(pick { "How many {items} are there now?", "How many {items} are there in total?" })
            return true
        end },
        { final = true, f = function(p)
            local b = p:mulby(p.v, 2, 99)
            if not b then return false end
            p:fact({ "The {items} sell for ${b} each.", "Each of the {items} is worth ${b}." }, { b = b })
            p:step({ "They are worth {calc}.", "Selling them all brings in {calc}." }, p.v, "*", b, nil, true)
            p:ask(pick { "How much money are all the {items} worth?", "How much money is made if all of them are sold?" })
            return true
        end },
        { final = true, f = function(p)
            local b = p:divisor(p.v, 2, 999)
            if not b then return false end
            local ct = pick(CONTAINERS)
            p:fact({ "They are repacked into {cs2} of {b}.", "{N} puts them into {cs2} that hold {b} each." }, { b = b, cs2 = ct[1] })
            p:step({ "That fills {calc} {cs2}.", "{N} needs {calc} {cs2}." }, p.v, "/", b, { cs2 = ct[1] })
            p:ask(pick { "How many {cs2} are filled?", "How many {cs2} are needed?" }, { cs2 = ct[1] })
            return true
        end },
    },
})

-- compare: more than, fewer than, times as many, half as many -----------------------
local function relation(p, prev, cur, base)
    -- Writes "cur has ... prev" and its step; returns false when no relation fits.
    local kind = rnd(1, 4)
    if kind == 1 then
        local b = p:addable(base, 2)
        if not b then return false end
        p:fact({ "{cur} has {b} more {items} than {prev}.", "{cur} has {b} {items} more than {prev} does." }, { cur = cur, prev = prev, b = b })
        p:step({ "{cur} has {calc} {items}.", "So {cur} has {calc}." }, base, "+", b, { cur = cur })
    elseif kind == 2 then
        local b = p:below(base)
        if not b then return false end
        p:fact({ "{cur} has {b} fewer {items} than {prev}.", "{cur} has {b} less than {prev}." }, { cur = cur, prev = prev, b = b })
        p:step({ "{cur} has {calc} {items}.", "So {cur} has {calc}." }, base, "-", b, { cur = cur })
    elseif kind == 3 then
        local b = rnd(1, 2) == 1 and 2 or p:mulby(base, 2, 9)
        if not b or base * b >= LIMIT then return false end
        local tpl = b == 2 and { "{cur} has twice as many {items} as {prev}.", "{cur} has double the number of {items} {prev} has." }
                            or { "{cur} has {b} times as many {items} as {prev}." }
        p:fact(pick(tpl), { cur = cur, prev = prev, b = b })
        p:step({ "{cur} has {calc} {items}.", "So {cur} has {calc}." }, base, "*", b, { cur = cur })
    else
        if base % 2 ~= 0 or base == 0 then return false end
        p:fact({ "{cur} has half as many {items} as {prev}.", "{cur} has half the number of {items} that {prev} has." }, { cur = cur, prev = prev })
        p:step({ "{cur} has {calc} {items}.", "So {cur} has {calc}." }, base, "/", 2, { cur = cur })
    end
    return true
end

family("compare", {
    start = function(p)
        local it = pick(COUNTABLES)
        p.vars.items = it[1]
        local a = p:num(2, 999)
        p.first, p.first_v = p.vars.N, a
        p:fact({ "{N} has {a} {items}.", "{N} collected {a} {items}.", "{N} owns {a} {items}." }, { a = a })
        local cur
        for _ = 1, 20 do
            cur = p:other()
            if relation(p, p.vars.N, cur, a) then break end
            p.names[cur] = nil; cur = nil
        end
        if not cur then error("gsm_word: compare start found no relation", 0) end
        p.last, p.prev_v = cur, a
        p:ask(pick { "How many {items} does {cur} have?", "How many {items} does {cur} own?" }, { cur = cur })
    end,
    ops = {
        { f = function(p)
            local cur = p:other()
            local before = p.v
            if not relation(p, p.last, cur, p.v) then p.names[cur] = nil; return false end
            p.last, p.prev_v = cur, before
            p:ask(pick { "How many {items} does {cur} have?", "How many {items} does {cur} end up with?" }, { cur = cur })
            return true
        end },
        { final = true, f = function(p)
            local a = p.first_v
            if a + p.v >= LIMIT or p.last == p.first then return false end
            p:step({ "Together they have {calc} {items}.", "{A} and {B} have {calc} {items} together." }, a, "+", p.v,
                   { A = p.first, B = p.last })
            p:ask(pick { "How many {items} do {A} and {B} have together?", "How many {items} do {A} and {B} have in all?" },
                  { A = p.first, B = p.last })
            return true
        end },
        { final = true, f = function(p)
            local a = p.first_v
            if a == p.v or p.last == p.first then return false end
            local hi, lo, H, L = a, p.v, p.first, p.last
            if lo > hi then hi, lo, H, L = lo, hi, L, H end
            p:step({ "{H} has {calc} more {items} than {L}.", "The difference is {calc} {items}." }, hi, "-", lo, { H = H, L = L })
            p:ask(pick { "How many more {items} does {H} have than {L}?", "How many fewer {items} does {L} have than {H}?" }, { H = H, L = L })
            return true
        end },
    },
})

-- inventory: one person's collection changes over time -----------------------------
local function inventory_change(p, base, opening)
    local kind = rnd(1, 5)
    if kind == 1 then
        local b = p:addable(base, 2)
        if not b then return false end
        p:fact({ "{He} buys {b} more.", "{He} gets {b} more {items} for {his} birthday.", "{o} gives {him} {b} {items}." }, { b = b, o = p:other() })
        p:step({ "{He} now has {calc} {items}.", "After that {he} has {calc} {items}." }, base, "+", b)
    elseif kind == 2 then
        local b = p:below(base)
        if not b then return false end
        p:fact({ "{He} gives {b} of them to {o}.", "{He} loses {b} of them.", "{He} trades away {b} {items}." }, { b = b, o = p:other() })
        p:step({ "{He} has {calc} {items} left.", "That leaves {him} {calc} {items}." }, base, "-", b)
    elseif kind == 3 and not opening then
        if base * 2 >= LIMIT then return false end
        p:fact({ "{His} {rel} gives {him} as many {items} as {he} already has.", "Then {his} collection doubles." }, { rel = pick(RELATIVES) })
        p:step({ "Now {he} has {calc} {items}.", "{He} has {calc} {items} after that." }, base, "*", 2)
    elseif kind == 4 and not opening then
        if base % 2 ~= 0 or base == 0 then return false end
        p:fact({ "{He} gives half of {his} {items} to {o}.", "{He} sells half of them at a yard sale." }, { o = p:other() })
        p:step({ "{He} keeps {calc} {items}.", "{He} has {calc} {items} left." }, base, "/", 2)
    else
        local b = p:addable(base, 2)
        if not b then return false end
        p:fact({ "{He} finds {b} more {items} in {his} room.", "{His} {rel} adds {b} {items} to the collection." }, { b = b, rel = pick(RELATIVES) })
        p:step({ "The collection now has {calc} {items}.", "{He} has {calc} {items} in all." }, base, "+", b)
    end
    p:ask(pick { "How many {items} does {N} have now?", "How many {items} does {he} have at the end?", "How many {items} does {N} end up with?" })
    return true
end

family("inventory", {
    start = function(p)
        local it = pick(COUNTABLES)
        p.vars.items = it[1]
        local a = p:num(2)
        p:fact({ "{N} has {a} {items}.", "{N} had a collection of {a} {items}.", "{N} started the week with {a} {items}." }, { a = a })
        for _ = 1, 50 do
            if inventory_change(p, a, true) then return end
        end
        error("gsm_word: inventory start found no change", 0)
    end,
    ops = {
        { f = function(p) return inventory_change(p, p.v, false) end },
        { cost = 2, f = function(p)
            local a = p:num(2, 20)
            local b = a and p:mulby(a, 2, 99)
            if not (a and b) or p.v + a * b >= LIMIT then return false end
            local pk = pick(CONTAINERS)
            p:fact({ "{He} buys {a} {pks} of {items} with {b} in each {pk}.", "{He} gets {a} {pks} with {b} {items} each." },
                   { a = a, b = b, pks = pk[1], pk = pk[2] })
            local first = p.v
            local c = p:step({ "The {pks} hold {calc} {items}.", "That is {calc} new {items}." }, a, "*", b, { pks = pk[1] })
            p:step({ "{He} now has {calc} {items}.", "Altogether {he} has {calc} {items}." }, first, "+", c)
            p:ask(pick { "How many {items} does {N} have now?", "How many {items} does {he} have in total?" })
            return true
        end },
        { final = true, f = function(p)
            local k = p:divisor(p.v, 2, 20)
            if not k then return false end
            p:fact({ "{He} puts them equally into {k} jars.", "{He} sorts them equally into {k} boxes." }, { k = k })
            p:step({ "Each one holds {calc} {items}.", "There are {calc} {items} in each." }, p.v, "/", k)
            p:ask(pick { "How many {items} are in each one?", "How many {items} go in each?" })
            return true
        end },
    },
})

-- recipe: amounts per item, packs, what is still needed ------------------------------
family("recipe", {
    start = function(p)
        local r = pick(RECIPES)
        p.vars.ing, p.vars.one, p.vars.many = r[1], r[2], r[3]
        local a = p:num(2, 99)
        local b = p:mulby(a, 2)
        p:fact({
            "{N} needs {a} {ing} for each {one}. {He} wants to make {b} {many}.",
            "Each {one} takes {a} {ing}, and {N} is making {b} {many}.",
            "{N} is making {b} {many} for a fair. Every {one} uses {a} {ing}.",
        }, { a = a, b = b })
        p:step({ "{He} needs {calc} {ing}.", "That takes {calc} {ing}.", "{b} {many} need {calc} {ing}." }, b, "*", a, { b = b })
        p:ask(pick { "How many {ing} does {N} need?", "How many {ing} are needed?" })
    end,
    ops = {
        { f = function(p)
            local b = p:addable(p.v, 2)
            if not b then return false end
            p:fact({ "{He} also needs {b} {ing} for a test batch.", "Another {b} {ing} are needed for decoration." }, { b = b })
            p:step({ "Altogether {he} needs {calc} {ing}.", "That makes {calc} {ing} in all." }, p.v, "+", b)
            p:ask(pick { "How many {ing} does {he} need in total?", "How many {ing} are needed in all?" })
            return true
        end },
        { early = true, f = function(p)
            local b = p:mulby(p.v, 2, 14)
            if not b then return false end
            p:fact({ "{He} fills the same order on {b} different days.", "{He} gets the same order {b} times." }, { b = b })
            p:step({ "Over all of them {he} uses {calc} {ing}.", "That comes to {calc} {ing}." }, p.v, "*", b)
            p:ask(pick { "How many {ing} does {he} use in total?", "How many {ing} are used altogether?" })
            return true
        end },
        { final = true, f = function(p)
            local b = p:below(p.v)
            if not b then return false end
            p:fact({ "{He} already has {b} {ing}.", "There are {b} {ing} in {his} kitchen." }, { b = b })
            p:step({ "{He} needs to buy {calc} more.", "{He} still needs {calc} {ing}." }, p.v, "-", b)
            p:ask(pick { "How many more {ing} does {he} need to get?", "How many {ing} does {he} still have to buy?" })
            return true
        end },
        { final = true, f = function(p)
            local b = p:divisor(p.v, 2, 99)
            if not b then return false end
            local i = rnd(1, 2)
            p:fact(({ "The {ing} come in packs of {b}.", "The shop sells {ing} only in bundles of {b}." })[i], { b = b })
            p:step(({ "{He} needs {calc} packs.", "That is {calc} bundles." })[i], p.v, "/", b)
            p:ask(({ "How many packs does {he} need to buy?", "How many bundles does {N} need?" })[i])
            return true
        end },
    },
})

M.families = {}
for i, name in ipairs(ORDER) do M.families[i] = name end

-- ---------------------------------------------------------------- distractors

-- Numbers in the question so far, as a set.
local function text_numbers(p)
    local seen = {}
    for _, f in ipairs(p.facts) do
        for d in f:gmatch("%d+") do seen[tonumber(d)] = true end
    end
    return seen
end

-- Insert m distractor sentences; false when no unused number fits the cap.
local function add_distractors(p, m)
    if m == 0 then return true end
    local taken = text_numbers(p)
    local out = {}
    for _ = 1, m do
        local d = pick(DISTRACTORS)
        while p.thing and d[3] do d = pick(DISTRACTORS) end
        local hi = math.min(d[2], p.cap)
        local x
        for _ = 1, 30 do
            local y = rnd(2, math.max(hi, 2))
            if y <= hi and not p.used[y] and not taken[y] then x = y; break end
        end
        if not x then return false end
        taken[x] = true
        local rel = pick(RELATIVES)
        local arel = (rel:find("^[aeiou]") and "an " or "a ") .. rel
        out[#out + 1] = cap1(fill(d[1], { x = x, rel = rel, arel = arel, place = pick(PLACES),
                                         junk = pick(JUNK) }, p.vars))
    end
    for _, s in ipairs(out) do
        -- After the first fact, which introduces the person.
        table.insert(p.facts, rnd(2, #p.facts + 1), s)
    end
    return true
end

-- ---------------------------------------------------------------- problem

local function int_opt(v, name, lo, hi, default)
    if v == nil then return default end
    if math.type(v) ~= "integer" or v < lo or v > hi then
        error(("gsm_word: %s must be an integer in %d..%d"):format(name, lo, hi), 3)
    end
    return v
end

function M.problem(opts)
    opts = opts or {}
    local steps = opts.steps
    if type(steps) == "table" then
        local lo = int_opt(steps[1], "steps[1]", 1, 4, 1)
        local hi = int_opt(steps[2], "steps[2]", lo, 4, lo)
        steps = rnd(lo, hi)
    else
        steps = int_opt(steps, "steps", 1, 4, 2)
    end
    local digits = int_opt(opts.digits, "digits", 1, 4, 2)
    local m = int_opt(opts.distractors, "distractors", 0, 5, 0)
    local name = opts.family
    if name == nil then
        name = ORDER[rnd(1, #ORDER)]
    elseif not FAMILIES[name] then
        error("gsm_word: unknown family '" .. tostring(name) .. "' (families: " .. table.concat(ORDER, ", ") .. ")", 2)
    end
    local fam = FAMILIES[name]
    local ops = fam.ops

    for _ = 1, 200 do
        local p = new_problem(digits)
        fam.start(p)
        local ok = true
        while ok and p.nsteps < steps do
            local left = steps - p.nsteps
            ok = false
            for _ = 1, 40 do
                local op = ops[rnd(1, #ops)]
                local cost = op.cost or 1
                if cost <= left and (not op.final or cost == left) and not (op.once and p.done[op]) and not (op.early and p.nsteps ~= 1) then
                    if op.f(p) then
                        if op.once then p.done[op] = true end
                        ok = true
                        break
                    end
                end
            end
        end
        if ok and p.nsteps == steps and add_distractors(p, m) then
            local answer = tostring(p.v)
            local reference
            if opts.answer_only then
                reference = "#### " .. answer
            else
                p.lines[#p.lines + 1] = "#### " .. answer
                reference = table.concat(p.lines, "\n")
            end
            return {
                prompt = table.concat(p.facts, " ") .. " " .. p.question,
                reference = reference,
                verifier = "arith",
                meta = { answer = answer, steps = steps, family = name, digits = digits, distractors = m },
            }
        end
    end
    error("gsm_word: could not build a '" .. name .. "' problem with " .. steps .. " steps", 2)
end

return M
