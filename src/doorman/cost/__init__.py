"""Cost: token counting and price tables."""
