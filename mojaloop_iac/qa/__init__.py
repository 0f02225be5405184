"""Ephemeral QA environments: derived from an environment stack, deployed, tested and torn down from CI."""
