-- format_arith: the arith verifier plus a small reward for the answer format, composed in
-- Lua. A completion gets 0.9 * arith's reward + 0.1 when it ends with a "#### N" line.
return rlvr.verifier{
    name = "format_arith",
    score = function(task, completion)
        local v = rlvr.verify("arith", task, completion)
        local formatted = completion:match("\n?#### %-?[%d,]+%.?%d*%s*$") ~= nil
        local reward = 0.9 * v.reward + (formatted and 0.1 or 0)
        return reward, v.status, { arith = v.reward, formatted = formatted, answer = v.detail.answer }
    end,
}
