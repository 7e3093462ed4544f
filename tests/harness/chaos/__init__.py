"""Crash-safety chaos test helpers: a bot worker that gets SIGKILLed, and its shared scenario."""
