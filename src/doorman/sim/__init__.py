"""The simulated provider: a real HTTP server speaking the OpenAI and Anthropic wire formats."""

from doorman.sim.app import SimOptions, create_sim_app

__all__ = ["SimOptions", "create_sim_app"]
