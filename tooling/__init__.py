"""The course's tooling, apart from the lessons: the runner and its HTML pages
(``tooling.course``, ``tooling.site``), the README's tables (``tooling.report``)
and the CPU and GPU benchmarks (``tooling.bench``, ``tooling.gpu_bench``).

No notebook imports it; it imports :mod:`utils`. See docs/architecture.md.
"""
