"""Voices turn the director's Move into words: offline templates or an LLM."""
