"""Task data from the generated world, written as files in the formats post-training reads:
OpenAI ``messages`` samples, TRL preference pairs and prompt rows (``compass data tasks``)."""
