"""Grading: rubric, verifiable evidence, per-dimension LLM judge, scores in code, reports."""
