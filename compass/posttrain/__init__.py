"""Post-training (report §3–§4): two-stage SFT, the reward model and online DPO on the user's
files."""
