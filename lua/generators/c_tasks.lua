-- c_tasks: small C function-writing tasks for the ccrun verifier, in four levels.
--
--   local ct = require("generators.c_tasks")
--   local task = ct.task{ level = 1, family = nil, answer_only = false }
--   ct.families[level]  -- the family names of a level, in a fixed order
--
-- A task is { prompt, reference = "```c\n<solution>\n```" ("" when answer_only),
-- verifier = "ccrun", meta = { signature, tests = { {call, expect}, ... }, level, family } }.
-- Every function is named f. Constants and test inputs are drawn with math.random only
-- (no state is kept between calls, so a seeded generator gives the same tasks), and every
-- expected value is computed by evaluating the same function in Lua, with each input and
-- result checked to stay in C's int range. A task has 4 to 8 tests, edge cases first, and
-- at least two different expected values, so a constant answer never passes.
--
-- How arguments are written in a call. ccrun refuses '{', '}' and ';' in a call, so a
-- compound literal such as (int[]){1, 2} cannot be used (and tcc has no digraphs): an int
-- array is passed as a wide string literal, L"\x1\xfffffffe" (wchar_t is a 32-bit int on
-- the Linux targets ccrun runs on, so L"..." is an int array; every element is written as
-- a hex escape, a negative one as its two's complement), followed by its length. Strings
-- are plain lowercase literals, "abc", that need no escaping.
--
-- Levels and families:
--   1  linear, quadratic, max2, abs_diff, remainder          one-line int arithmetic
--   2  sign, clamp, is_multiple, min3, grade                 conditionals
--   3  sum_to_n, factorial, count_divisors, digit_sum, power, gcd    loops over ints
--   4  array_sum, array_max, array_count, str_len, count_char, count_vowels, palindrome
--                                                            arrays and strings

local M = {}

local INT_MIN, INT_MAX = -2147483648, 2147483647

local function rnd(a, b) return math.random(a, b) end
local function pick(t) return t[math.random(#t)] end

local function int(v)
    if math.type(v) ~= "integer" or v < INT_MIN or v > INT_MAX then
        error("c_tasks: value outside int range: " .. tostring(v), 2)
    end
    return v
end

-- "a*x + b" style text for sum of terms: terms = { {coef, "x*x"}, {coef, "x"}, {coef, ""} }.
local function poly(terms)
    local out = {}
    for _, t in ipairs(terms) do
        local c, var = t[1], t[2]
        if c ~= 0 then
            local mag = math.abs(c)
            local body
            if var == "" then body = tostring(mag)
            elseif mag == 1 then body = var
            else body = mag .. "*" .. var end
            if #out == 0 then
                out[1] = (c < 0 and "-" or "") .. body
            else
                out[#out + 1] = (c < 0 and " - " or " + ") .. body
            end
        end
    end
    if #out == 0 then return "0" end
    return table.concat(out)
end

-- ---------------------------------------------------------------- argument formatting

local function c_int(v) return tostring(int(v)) end

-- An int array as L"\x..\x.." (see the header), then ", n".
local function c_array(a)
    local parts = {}
    for i, v in ipairs(a) do parts[i] = ("\\x%x"):format(int(v) & 0xffffffff) end
    return 'L"' .. table.concat(parts) .. '", ' .. #a
end

local function c_string(s)
    assert(not s:find('[^a-z ]'), "c_tasks: strings are lowercase letters and spaces")
    return '"' .. s .. '"'
end

local LETTERS = "abcdefghijklmnopqrstuvwxyz"
local function rand_string(alphabet, len)
    local t = {}
    for i = 1, len do
        local k = rnd(1, #alphabet)
        t[i] = alphabet:sub(k, k)
    end
    return table.concat(t)
end

local function rand_array(len, lo, hi)
    local a = {}
    for i = 1, len do a[i] = rnd(lo, hi) end
    return a
end

-- ---------------------------------------------------------------- families
--
-- Each family builder returns a spec:
--   sig     the signature ("int f(int x)")
--   what    the prompt text after "that "
--   code    the reference solution (C)
--   eval    the same function in Lua: eval(args...) -> integer (or a one-character string
--           for char results)
--   fmt     the C text of one argument list (a table of Lua values) for the call
--   edge    a list of argument lists always tested (edge cases, at most 6)
--   draw    a function returning one random argument list

local F = {}

-- Level 1 ------------------------------------------------------------------------------

F.linear = function()
    local a = pick({ -9, -8, -7, -6, -5, -4, -3, -2, 2, 3, 4, 5, 6, 7, 8, 9 })
    local b = rnd(-20, 20)
    local expr = poly({ { a, "x" }, { b, "" } })
    return {
        sig = "int f(int x)",
        what = ("returns %s."):format(expr),
        code = ("int f(int x) {\n    return %s;\n}"):format(expr),
        eval = function(x) return a * x + b end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { 0 }, { 1 }, { -1 } },
        draw = function() return { rnd(-1000, 1000) } end,
    }
end

F.quadratic = function()
    local a = pick({ -5, -4, -3, -2, -1, 1, 2, 3, 4, 5 })
    local b, c = rnd(-9, 9), rnd(-20, 20)
    local expr = poly({ { a, "x*x" }, { b, "x" }, { c, "" } })
    return {
        sig = "int f(int x)",
        what = ("returns %s."):format(expr),
        code = ("int f(int x) {\n    return %s;\n}"):format(expr),
        eval = function(x) return a * x * x + b * x + c end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { 0 }, { 1 }, { -1 } },
        draw = function() return { rnd(-100, 100) } end,
    }
end

F.max2 = function()
    return {
        sig = "int f(int a, int b)",
        what = "returns the larger of a and b (their common value when they are equal).",
        code = "int f(int a, int b) {\n    return a > b ? a : b;\n}",
        eval = function(a, b) return math.max(a, b) end,
        fmt = function(args) return c_int(args[1]) .. ", " .. c_int(args[2]) end,
        edge = { { 0, 0 }, { -5, -2 }, { 7, -7 }, { 3, 3 } },
        draw = function() return { rnd(-1000, 1000), rnd(-1000, 1000) } end,
    }
end

F.abs_diff = function()
    local c = rnd(-50, 50)
    local what, code
    if c == 0 then
        what = "returns the absolute value of x."
        code = "int f(int x) {\n    return x < 0 ? -x : x;\n}"
    else
        local d = poly({ { 1, "x" }, { -c, "" } })
        what = ("returns the absolute value of %s (the distance between x and %d)."):format(d, c)
        code = ("int f(int x) {\n    int d = %s;\n    return d < 0 ? -d : d;\n}"):format(d)
    end
    return {
        sig = "int f(int x)",
        what = what,
        code = code,
        eval = function(x) return math.abs(x - c) end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { 0 }, { c }, { c - 1 }, { c + 1 }, { -100 } },
        draw = function() return { rnd(-1000, 1000) } end,
    }
end

F.remainder = function()
    local m = rnd(2, 20)
    return {
        sig = "int f(int x)",
        what = ("returns the remainder when x is divided by %d (a result from 0 to %d); x is never negative."):format(m, m - 1),
        code = ("int f(int x) {\n    return x %% %d;\n}"):format(m),
        eval = function(x) return x % m end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { 0 }, { m - 1 }, { m }, { m + 1 } },
        draw = function() return { rnd(0, 100000) } end,
    }
end

-- Level 2 ------------------------------------------------------------------------------

F.sign = function()
    local c = pick({ 0, 0, rnd(-20, 20) })
    return {
        sig = "int f(int x)",
        what = ("returns -1 if x is less than %d, 0 if x equals %d, and 1 if x is greater than %d."):format(c, c, c),
        code = ("int f(int x) {\n    if (x < %d) return -1;\n    if (x > %d) return 1;\n    return 0;\n}"):format(c, c),
        eval = function(x) return x < c and -1 or x > c and 1 or 0 end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { c }, { c - 1 }, { c + 1 }, { 0 } },
        draw = function() return { rnd(-1000, 1000) } end,
    }
end

F.clamp = function()
    local lo = rnd(-50, 10)
    local hi = lo + rnd(1, 100)
    return {
        sig = "int f(int x)",
        what = ("clamps x to the range %d to %d: it returns %d if x < %d, %d if x > %d, and x otherwise."):format(
            lo, hi, lo, lo, hi, hi),
        code = ("int f(int x) {\n    if (x < %d) return %d;\n    if (x > %d) return %d;\n    return x;\n}"):format(
            lo, lo, hi, hi),
        eval = function(x) return x < lo and lo or x > hi and hi or x end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { lo - 1 }, { lo }, { hi }, { hi + 1 }, { 0 } },
        draw = function() return { rnd(lo - 100, hi + 100) } end,
    }
end

F.is_multiple = function()
    local k = rnd(2, 12)
    local what
    if k == 2 then
        what = "returns 1 if x is even and 0 if x is odd (x may be negative)."
    else
        what = ("returns 1 if x is a multiple of %d (x may be negative; 0 is a multiple) and 0 otherwise."):format(k)
    end
    return {
        sig = "int f(int x)",
        what = what,
        code = ("int f(int x) {\n    return x %% %d == 0 ? 1 : 0;\n}"):format(k),
        eval = function(x) return x % k == 0 and 1 or 0 end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { 0 }, { k }, { -k }, { k + 1 }, { -(k + 1) } },
        draw = function() return { rnd(-1000, 1000) } end,
    }
end

F.min3 = function()
    return {
        sig = "int f(int a, int b, int c)",
        what = "returns the smallest of a, b and c.",
        code = "int f(int a, int b, int c) {\n    int m = a;\n    if (b < m) m = b;\n    if (c < m) m = c;\n    return m;\n}",
        eval = function(a, b, c) return math.min(a, b, c) end,
        fmt = function(args) return c_int(args[1]) .. ", " .. c_int(args[2]) .. ", " .. c_int(args[3]) end,
        edge = { { 0, 0, 0 }, { 3, 1, 2 }, { 2, 3, 1 }, { -1, 5, -1 } },
        draw = function() return { rnd(-100, 100), rnd(-100, 100), rnd(-100, 100) } end,
    }
end

F.grade = function()
    local t = {}
    t[1] = rnd(80, 95)
    for i = 2, 4 do t[i] = t[i - 1] - rnd(5, 15) end
    local letters = { "A", "B", "C", "D" }
    local parts, lines = {}, {}
    for i = 1, 4 do
        parts[i] = ("'%s' if score >= %d"):format(letters[i], t[i])
        lines[i] = ("    if (score >= %d) return '%s';"):format(t[i], letters[i])
    end
    return {
        sig = "char f(int score)",
        what = ("returns the letter grade of score (from 0 to 100), checking in this order: %s, and 'F' otherwise."):format(
            table.concat(parts, ", ")),
        code = "char f(int score) {\n" .. table.concat(lines, "\n") .. "\n    return 'F';\n}",
        eval = function(s)
            for i = 1, 4 do if s >= t[i] then return letters[i] end end
            return "F"
        end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { 100 }, { 0 }, { t[1] }, { t[1] - 1 }, { t[4] }, { t[4] - 1 } },
        draw = function() return { rnd(0, 100) } end,
    }
end

-- Level 3 ------------------------------------------------------------------------------

F.sum_to_n = function()
    local k = pick({ 1, 1, 2, 3, 4, 5, 7 })
    local what, code
    if k == 1 then
        what = "returns the sum 1 + 2 + ... + n of the integers from 1 to n (0 when n < 1)."
        code = "int f(int n) {\n    int s = 0;\n    for (int i = 1; i <= n; i++) s += i;\n    return s;\n}"
    else
        what = ("returns the sum of the integers from 1 to n that are multiples of %d (0 when there are none)."):format(k)
        code = ("int f(int n) {\n    int s = 0;\n    for (int i = 1; i <= n; i++)\n        if (i %% %d == 0) s += i;\n    return s;\n}"):format(k)
    end
    return {
        sig = "int f(int n)",
        what = what,
        code = code,
        eval = function(n)
            local s = 0
            for i = 1, n do if i % k == 0 then s = s + i end end
            return s
        end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { 0 }, { -3 }, { 1 }, { k }, { 2 * k + 1 } },
        draw = function() return { rnd(2, 2000) } end,
    }
end

F.factorial = function()
    return {
        sig = "int f(int n)",
        what = "returns n factorial, the product 1 * 2 * ... * n, for 0 <= n <= 12 (0 factorial is 1).",
        code = "int f(int n) {\n    int p = 1;\n    for (int i = 2; i <= n; i++) p *= i;\n    return p;\n}",
        eval = function(n)
            local p = 1
            for i = 2, n do p = p * i end
            return p
        end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { 0 }, { 1 }, { 12 } },
        draw = function() return { rnd(2, 11) } end,
    }
end

F.count_divisors = function()
    return {
        sig = "int f(int n)",
        what = "returns the number of positive divisors of n, for n >= 1 (1 has one divisor, 6 has four: 1, 2, 3, 6).",
        code = "int f(int n) {\n    int c = 0;\n    for (int d = 1; d <= n; d++)\n        if (n % d == 0) c++;\n    return c;\n}",
        eval = function(n)
            local c = 0
            for d = 1, n do if n % d == 0 then c = c + 1 end end
            return c
        end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { 1 }, { pick({ 2, 3, 5, 7, 11, 13, 97 }) }, { pick({ 12, 36, 60, 64, 100, 360 }) } },
        draw = function() return { rnd(2, 5000) } end,
    }
end

F.digit_sum = function()
    local b = pick({ 10, 10, 10, 2, 3, 8, 16 })
    local what
    if b == 10 then
        what = "returns the sum of the decimal digits of n, for n >= 0 (for 472 it is 13)."
    else
        what = ("returns the sum of the digits of n written in base %d, for n >= 0 (each digit counted by its value, 0 to %d)."):format(
            b, b - 1)
    end
    return {
        sig = "int f(int n)",
        what = what,
        code = ("int f(int n) {\n    int s = 0;\n    while (n > 0) {\n        s += n %% %d;\n        n /= %d;\n    }\n    return s;\n}"):format(b, b),
        eval = function(n)
            local s = 0
            while n > 0 do s, n = s + n % b, n // b end
            return s
        end,
        fmt = function(args) return c_int(args[1]) end,
        edge = { { 0 }, { b - 1 }, { b }, { b * b - 1 } },
        draw = function() return { rnd(1, 1000000) } end,
    }
end

F.power = function()
    local function pow(b, e)
        local p = 1
        for _ = 1, e do p = int(p * b) end
        return p
    end
    return {
        sig = "int f(int b, int e)",
        what = "returns b raised to the power e, for e >= 0 (b to the power 0 is 1, also when b is 0); b may be negative and the result fits in an int.",
        code = "int f(int b, int e) {\n    int p = 1;\n    for (int i = 0; i < e; i++) p *= b;\n    return p;\n}",
        eval = pow,
        fmt = function(args) return c_int(args[1]) .. ", " .. c_int(args[2]) end,
        edge = { { rnd(-9, 9), 0 }, { 0, rnd(1, 5) }, { rnd(2, 9), 1 }, { -rnd(2, 5), 3 } },
        draw = function()
            local b = rnd(-12, 12)
            local e = rnd(0, 8)
            while e > 0 and math.abs(pow(b, e - 1) * b) > INT_MAX do e = e - 1 end
            return { b, e }
        end,
    }
end

F.gcd = function()
    local function gcd(a, b)
        while b ~= 0 do a, b = b, a % b end
        return a
    end
    return {
        sig = "int f(int a, int b)",
        what = "returns the greatest common divisor of a and b, for a >= 0 and b >= 0, not both 0 (the gcd of a and 0 is a).",
        code = "int f(int a, int b) {\n    while (b != 0) {\n        int t = a % b;\n        a = b;\n        b = t;\n    }\n    return a;\n}",
        eval = gcd,
        fmt = function(args) return c_int(args[1]) .. ", " .. c_int(args[2]) end,
        edge = { { rnd(1, 50), 0 }, { 0, rnd(1, 50) }, { 1, rnd(2, 100) } },
        draw = function()
            local g = rnd(1, 30)
            return { g * rnd(1, 200), g * rnd(1, 200) }
        end,
    }
end

-- Level 4 ------------------------------------------------------------------------------

local ARRAY_SIG = "int f(const int *a, int n)"
local function fmt_array(args) return c_array(args[1]) end
local function draw_array(minlen) return function() return { rand_array(rnd(minlen, 8), -50, 50) } end end

F.array_sum = function()
    return {
        sig = ARRAY_SIG,
        what = "returns the sum of the n elements a[0] to a[n-1] of the array a (0 when n is 0).",
        code = "int f(const int *a, int n) {\n    int s = 0;\n    for (int i = 0; i < n; i++) s += a[i];\n    return s;\n}",
        eval = function(a)
            local s = 0
            for _, v in ipairs(a) do s = s + v end
            return s
        end,
        fmt = fmt_array,
        edge = { { {} }, { { rnd(-50, 50) } }, { { -3, -4, -5 } } },
        draw = draw_array(2),
    }
end

F.array_max = function()
    return {
        sig = ARRAY_SIG,
        what = "returns the largest of the n elements a[0] to a[n-1] of the array a, for n >= 1 (the elements may all be negative).",
        code = "int f(const int *a, int n) {\n    int m = a[0];\n    for (int i = 1; i < n; i++)\n        if (a[i] > m) m = a[i];\n    return m;\n}",
        eval = function(a) return math.max(table.unpack(a)) end,
        fmt = fmt_array,
        edge = { { { rnd(-50, 50) } }, { { -7, -3, -9 } }, { { 5, 1, 2, 3 } }, { { 1, 2, 3, 9 } } },
        draw = draw_array(2),
    }
end

F.array_count = function()
    local k = rnd(-10, 10)
    local ops = {
        { ">", "greater than", function(v) return v > k end },
        { "<", "less than", function(v) return v < k end },
        { "==", "equal to", function(v) return v == k end },
    }
    local op = pick(ops)
    local function draw()
        local a = {}
        for i = 1, rnd(2, 8) do a[i] = rnd(1, 3) == 1 and k + rnd(-1, 1) or rnd(-30, 30) end
        return { a }
    end
    return {
        sig = ARRAY_SIG,
        what = ("returns how many of the n elements a[0] to a[n-1] of the array a are %s %d (0 when n is 0)."):format(op[2], k),
        code = ("int f(const int *a, int n) {\n    int c = 0;\n    for (int i = 0; i < n; i++)\n        if (a[i] %s %d) c++;\n    return c;\n}"):format(
            op[1], k),
        eval = function(a)
            local c = 0
            for _, v in ipairs(a) do if op[3](v) then c = c + 1 end end
            return c
        end,
        fmt = fmt_array,
        edge = { { {} }, { { k } }, { { k - 1, k, k + 1, k, k + 5 } } },
        draw = draw,
    }
end

local STRING_SIG = "int f(const char *s)"
local function fmt_string(args) return c_string(args[1]) end

F.str_len = function()
    return {
        sig = STRING_SIG,
        what = "returns the length of the string s (the number of characters before its terminating '\\0').",
        code = "int f(const char *s) {\n    int n = 0;\n    while (s[n] != '\\0') n++;\n    return n;\n}",
        eval = function(s) return #s end,
        fmt = fmt_string,
        edge = { { "" }, { rand_string(LETTERS, 1) } },
        draw = function() return { rand_string(LETTERS .. " ", rnd(2, 20)) } end,
    }
end

F.count_char = function()
    local k = rnd(1, #LETTERS)
    local c = LETTERS:sub(k, k)
    local others = LETTERS:gsub(c, "")
    local from = rnd(1, #others - 3)
    others = others:sub(from) .. others:sub(1, from - 1)   -- rotated: other letters vary too
    local alphabet = c .. c .. others:sub(1, 4)
    return {
        sig = STRING_SIG,
        what = ("returns how many times the character '%s' occurs in the string s."):format(c),
        code = ("int f(const char *s) {\n    int n = 0;\n    for (int i = 0; s[i] != '\\0'; i++)\n        if (s[i] == '%s') n++;\n    return n;\n}"):format(c),
        eval = function(s)
            local n = 0
            for i = 1, #s do if s:sub(i, i) == c then n = n + 1 end end
            return n
        end,
        fmt = fmt_string,
        edge = { { "" }, { c }, { others:sub(1, 3) }, { c .. others:sub(1, 1) .. c .. c } },
        draw = function() return { rand_string(alphabet, rnd(2, 14)) } end,
    }
end

F.count_vowels = function()
    return {
        sig = STRING_SIG,
        what = "returns the number of vowels in s, where s contains only lowercase letters and the vowels are the letters a, e, i, o and u.",
        code = "int f(const char *s) {\n    int n = 0;\n    for (int i = 0; s[i] != '\\0'; i++)\n        if (s[i] == 'a' || s[i] == 'e' || s[i] == 'i' || s[i] == 'o' || s[i] == 'u') n++;\n    return n;\n}",
        eval = function(s)
            local n = 0
            for i = 1, #s do if ("aeiou"):find(s:sub(i, i), 1, true) then n = n + 1 end end
            return n
        end,
        fmt = fmt_string,
        edge = { { "" }, { "rhythm" }, { "aeiou" }, { "y" } },
        draw = function() return { rand_string(LETTERS, rnd(2, 14)) } end,
    }
end

F.palindrome = function()
    local start = rnd(1, 23)
    local alphabet = LETTERS:sub(start, start + 3)
    local function is_pal(s) return s == s:reverse() and 1 or 0 end
    local function draw()
        if rnd(1, 2) == 1 then
            local half = rand_string(alphabet, rnd(1, 5))
            local mid = rnd(1, 2) == 1 and rand_string(alphabet, 1) or ""
            return { half .. mid .. half:reverse() }
        end
        return { rand_string(alphabet, rnd(2, 9)) }
    end
    local a, b = alphabet:sub(1, 1), alphabet:sub(2, 2)
    return {
        sig = STRING_SIG,
        what = "returns 1 if the string s reads the same forwards and backwards (the empty string does), and 0 otherwise.",
        code = "int f(const char *s) {\n    int n = 0;\n    while (s[n] != '\\0') n++;\n    for (int i = 0; i < n / 2; i++)\n        if (s[i] != s[n - 1 - i]) return 0;\n    return 1;\n}",
        eval = is_pal,
        fmt = fmt_string,
        edge = { { "" }, { a }, { a .. b }, { a .. b .. a }, { a .. b .. b .. a } },
        draw = draw,
    }
end

M.families = {
    { "linear", "quadratic", "max2", "abs_diff", "remainder" },
    { "sign", "clamp", "is_multiple", "min3", "grade" },
    { "sum_to_n", "factorial", "count_divisors", "digit_sum", "power", "gcd" },
    { "array_sum", "array_max", "array_count", "str_len", "count_char", "count_vowels", "palindrome" },
}

local LEVEL_OF = {}
for level, names in ipairs(M.families) do
    for _, name in ipairs(names) do
        assert(F[name], "c_tasks: no builder for " .. name)
        LEVEL_OF[name] = level
    end
end

-- ---------------------------------------------------------------- tests

local function result_text(v)
    if type(v) == "string" then return v end
    return tostring(int(v))
end

-- 4 to 8 tests: the edge cases (in order), then random draws, without repeated calls;
-- drawn again until the expected values are not all the same.
local function make_tests(spec)
    for _ = 1, 50 do
        local want = rnd(math.max(4, #spec.edge), 8)
        local tests, seen = {}, {}
        local function add(args)
            local call = "f(" .. spec.fmt(args) .. ")"
            if seen[call] or #tests >= want then return end
            seen[call] = true
            tests[#tests + 1] = { call = call, expect = result_text(spec.eval(table.unpack(args))) }
        end
        for _, args in ipairs(spec.edge) do add(args) end
        for _ = 1, 100 do
            if #tests >= want then break end
            add(spec.draw())
        end
        local distinct = false
        for i = 2, #tests do
            if tests[i].expect ~= tests[1].expect then distinct = true break end
        end
        if #tests >= 4 and distinct then return tests end
    end
    error("c_tasks: could not draw varied tests")
end

-- ---------------------------------------------------------------- the task

function M.task(opts)
    opts = opts or {}
    local level, family = opts.level, opts.family
    if family ~= nil then
        if type(family) ~= "string" or not LEVEL_OF[family] then
            error("c_tasks: unknown family '" .. tostring(family) .. "'", 2)
        end
        if level ~= nil and level ~= LEVEL_OF[family] then
            error(("c_tasks: family '%s' is level %d, not %s"):format(family, LEVEL_OF[family], tostring(level)), 2)
        end
        level = LEVEL_OF[family]
    else
        local lv = level == nil and 1 or (type(level) == "number" and math.tointeger(level))
        if not lv or not M.families[lv] then
            error("c_tasks: level must be an integer from 1 to 4, not " .. tostring(level), 2)
        end
        level = lv
        family = pick(M.families[level])
    end
    local spec = F[family]()
    local tests = make_tests(spec)
    local prompt = ("Write a C function `%s` that %s Reply with the function in a ```c code block."):format(
        spec.sig, spec.what)
    return {
        prompt = prompt,
        reference = opts.answer_only and "" or ("```c\n" .. spec.code .. "\n```"),
        verifier = "ccrun",
        meta = { signature = spec.sig, tests = tests, level = level, family = family },
    }
end

return M
