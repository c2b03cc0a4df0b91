"""Sellers' time: time off (with a colleague who covers), capacity, and the records waiting for a
seller while everyone a rule names is away or full."""
