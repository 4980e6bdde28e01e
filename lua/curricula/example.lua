-- example: the curriculum of the README, every feature in a few lines.
local rlvr = require("rlvr")
local gsm = require("generators.gsm_word")      -- lua/generators/gsm_word.lua

-- A generator is a function that returns one task: prompt, reference, optional verifier
-- and meta. It must draw only from math.random (seeded by the run), keeping no state.
local function sums()
    local a, b = math.random(2, 99), math.random(2, 99)
    return { prompt = ("Ann has %d apples and buys %d more. How many apples does she have?"):format(a, b),
             reference = ("%d+%d=<<%d+%d=%d>>%d\n#### %d"):format(a, b, a, b, a + b, a + b, a + b),
             meta = { kind = "sum" } }
end

return rlvr.curriculum{
    name = "example",
    defaults = { preset = "tiny", vocab = 512, max_new_tokens = 96 },   -- every stage's settings
    stages = {
        -- SFT on worked solutions: the reference is the completion to learn.
        { name = "warm", mode = "sft", steps = 200, batch_size = 16, lr = 1e-3,
          sources = { { generate = sums, weight = 1 },
                      { generate = function() return gsm.problem{ steps = 1, digits = 1 } end, weight = 1 } } },
        -- RL on answer-only problems, two verifiers weighted, a JSONL file mixed in; the
        -- stage ends when the mean reward of the last 256 completions reaches 0.6 (not
        -- before step 20), or after 300 steps.
        rlvr.stage{ name = "rl", mode = "rl", temperature = 1.0, group_size = 8, prompts = 16, lr = 1e-4,
          verifiers = { { name = "lua/verifiers/format_arith.lua", weight = 1 } },
          sources = { { generate = function() return gsm.problem{ steps = { 1, 2 }, answer_only = true } end, weight = 4 },
                      { jsonl = "../shared/data/gsm8k/train.jsonl", weight = 1 } },
          promote = { window = 256, threshold = 0.6, min_steps = 20, max_steps = 300 } },
    },
    -- The held-out set: drawn once with its own seed; training never draws its prompts.
    eval = { n = 100, seed = 7, verifier = "arith",
             sources = { function() return gsm.problem{ steps = 2, answer_only = true } end } },
}
