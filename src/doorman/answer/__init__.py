"""Checks on whole answers before the caller sees them: output contracts and the topic check."""
