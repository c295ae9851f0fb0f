"""Candidate generation, blending, filtering and reasons."""
