-- tiny_add: the CLI tests' curriculum (cli_train.sh, cli_runs.sh, cli_mpi.sh copy it and
-- adjust it with sed): "What is a + b?" with generators, a tiny policy, a 20-step SFT
-- stage and an RL stage of at most 10 steps (its promotion threshold is out of reach).
local rlvr = require("rlvr")
local function worked()
  local a, b = math.random(1, 9), math.random(1, 9)
  return { prompt = ("What is %d + %d?"):format(a, b),
           reference = ("%d+%d=<<%d+%d=%d>>%d\n#### %d"):format(a, b, a, b, a + b, a + b, a + b) }
end
local function question()
  local a, b = math.random(1, 9), math.random(1, 9)
  return { prompt = ("What is %d + %d?"):format(a, b), reference = ("#### %d"):format(a + b) }
end
return rlvr.curriculum{
  name = "tiny-add",
  defaults = { preset = "tiny", vocab = 300, max_new_tokens = 24, context = 64, eval_every = 10 },
  stages = {
    { name = "warm", mode = "sft", steps = 20, batch_size = 16, sources = { worked } },
    { name = "rl", mode = "rl", verifier = "arith", prompts = 4, group_size = 4, dynamic_sampling = true,
      kl_beta = 0.02, sources = { question }, promote = { window = 32, threshold = 0.99, max_steps = 10 } },
  },
  eval = { n = 20, seed = 9, sources = { question }, verifier = "arith" },
}
