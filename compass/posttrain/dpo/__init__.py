"""Online DPO: sample n answers, score with the reward model and a math checker, pair, train."""
