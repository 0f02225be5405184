"""Helpers shared by tests that run real processes and networks."""
