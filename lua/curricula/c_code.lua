-- c_code: C function tasks scored by `ccrun` (lua/generators/c_tasks.lua), the code half
-- of what rlvr is for.
--
-- The task families of levels 1 and 2 are split in two: the SFT stage sees one half
-- with reference solutions; the RL stage sees the other half with tests only, so what
-- it learns there nobody wrote a solution for. The held-out eval set is drawn from the
-- RL half with a seed of its own.
local rlvr = require("rlvr")
local ct = require("generators.c_tasks")

local sft_families, rl_families = {}, {}
for level = 1, 2 do
    for i, name in ipairs(ct.families[level]) do
        if i % 2 == 1 then sft_families[#sft_families + 1] = name
        else rl_families[#rl_families + 1] = name end
    end
end

local function from(families, answer_only)
    return function()
        return ct.task{ family = families[math.random(#families)], answer_only = answer_only }
    end
end

return rlvr.curriculum{
    name = "c_code",
    defaults = { preset = "tiny", vocab = 512, calculator = false, eval_every = 50, max_new_tokens = 128 },
    stages = {
        { name = "sft-half", mode = "sft", steps = 600, batch_size = 16, lr = 2e-3, warmup = 20,
          sources = { from(sft_families, false) } },
        { name = "rl-other-half", mode = "rl", verifier = "ccrun", lr = 1e-4, prompts = 8, group_size = 8,
          dynamic_sampling = true, sources = { from(rl_families, true) }, steps = 100 },
    },
    eval = { n = 100, seed = 4242, verifier = "ccrun", sources = { from(rl_families, true) } },
}
