"""Benchmarks: the hello server against the seed's C design, and the suite's time to a
verdict. Every figure is a ratio against a reference measured in the same run."""
