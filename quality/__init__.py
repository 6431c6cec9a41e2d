"""The suite's own quality tools, apart from the benchmarks: its speed per tier
(``python -m quality.speed``), flakes under load (``quality.flakes``), hand-written
semantic mutants (``quality.semantic``, from ``mutants.toml``) and mutmut's score
(``quality.mutation``)."""
