"""The MoE feed-forward: router, dispatch, routed experts, shared experts, balance losses."""
