"""Fixtures shared by the test modules: real processes and clusters, started and stopped around tests."""
