"""Reward models: a scalar head on the Compass backbone, pairwise loss, weight averaging,
Best-of-N."""
