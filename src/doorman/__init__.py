"""Doorman: a gateway for LLM APIs."""
