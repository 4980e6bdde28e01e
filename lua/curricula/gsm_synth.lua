-- gsm_synth: the default curriculum (what `make demo` runs).
--
-- GSM8K-style word problems from lua/generators/gsm_word.lua, small numbers (one digit),
-- a policy that learns from nothing:
--   1. sft-worked   SFT on 1- and 2-step problems that come with worked solutions
--                   (calculator annotations <<a+b=c>>c and a final "#### N").
--   2. rl-2         RL on 2-step problems that come with their final answer only: the
--                   policy must find the worked steps itself; rewarded by `arith`.
--   3. rl-3         RL on 2- and 3-step answer-only problems, once rl-2's rolling reward
--                   shows the policy solves most 2-step ones.
-- The held-out eval set is 2- and 3-step answer-only problems drawn with a seed of their
-- own; no training draw ever repeats one of its prompts.
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
        preset = "tiny", vocab = 512, calculator = true, eval_every = 50,
        max_new_tokens = 96, temperature = 1.0,
    },
    stages = {
        { name = "sft-worked", mode = "sft", steps = 400, batch_size = 16, lr = 1e-3, warmup = 20,
          sources = { { generate = worked(1), weight = 1 }, { generate = worked(2), weight = 2 } } },
        { name = "rl-2", mode = "rl", verifier = "arith", lr = 1e-4, prompts = 16, group_size = 8,
          dynamic_sampling = true,
          sources = { { generate = answer_only(2), weight = 3 }, { generate = answer_only(1), weight = 1 } },
          promote = { window = 256, threshold = 0.7, min_steps = 20, max_steps = 150 } },
        { name = "rl-3", mode = "rl", verifier = "arith", lr = 1e-4, prompts = 16, group_size = 8,
          dynamic_sampling = true,
          sources = { { generate = answer_only(3), weight = 2 }, { generate = answer_only(2), weight = 1 } },
          steps = 150 },
    },
    eval = { n = 200, seed = 20261128, verifier = "arith",
             sources = { { generate = answer_only(2), weight = 1 }, { generate = answer_only(3), weight = 1 } } },
}
