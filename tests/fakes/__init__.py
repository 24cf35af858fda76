"""Fakes for tests: a scripted OpenAI-compatible server on loopback."""
