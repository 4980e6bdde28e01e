-- gsm_synth: the default curriculum (what `make demo` runs).
--
-- GSM8K-style word problems from lua/generators/gsm_word.lua with one-digit numbers,
-- and a policy that starts from nothing:
--   1. sft-worked  SFT on problems that come with worked solutions (calculator
--                  annotations <<a+b=c>>c and a final "#### N"): mostly 1-step, some 2-step.
--   2. rl-2        RL on 2-step problems that come with their final answer only, scored by
--                  `arith`: the policy must find the worked steps itself. The stage ends
--                  when the mean reward of the last 256 completions reaches 0.75.
--   3. rl-3        RL one step further out: 3-step answer-only problems, mixed with 2-step.
-- The held-out eval set is the RL stages' problems (2- and 3-step, answer only), drawn
-- with a seed of its own; no training draw repeats one of its prompts. Dynamic sampling
-- keeps RL's batches to groups whose rewards differ (the others carry no signal).
local rlvr = require("rlvr")
local gsm = require("generators.gsm_word")

local function worked(steps)
    return function() return gsm.problem{ steps = steps, digits = 1 } end
end

local function answer_only(steps)
    return function() return gsm.problem{ steps = steps, digits = 1, answer_only = true } end
end

return rlvr.curriculum{
    name = "gsm_synth",
    defaults = {
        preset = "tiny", vocab = 512, context = 256, calculator = true, eval_every = 50,
        max_new_tokens = 96, temperature = 1.0, checkpoint_every = 100,
    },
    stages = {
        { name = "sft-worked", mode = "sft", steps = 800, batch_size = 16, lr = 2e-3, warmup = 20,
          sources = { { generate = worked(1), weight = 3 }, { generate = worked(2), weight = 1 } } },
        { name = "rl-2", mode = "rl", verifier = "arith", lr = 1e-4, prompts = 16, group_size = 8,
          dynamic_sampling = true, sources = { answer_only(2) },
          promote = { window = 256, threshold = 0.75, min_steps = 30, max_steps = 150 } },
        { name = "rl-3", mode = "rl", verifier = "arith", lr = 1e-4, prompts = 16, group_size = 8,
          dynamic_sampling = true, steps = 100,
          sources = { { generate = answer_only(3), weight = 2 }, { generate = answer_only(2), weight = 1 } } },
    },
    eval = { n = 200, seed = 20261128, verifier = "arith",
             sources = { { generate = answer_only(2), weight = 1 }, { generate = answer_only(3), weight = 1 } } },
}
