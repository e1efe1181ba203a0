"""Controlled studies above the engine and the report (like `sweep`): `ackd-bench study asymmetry`.

spec.py      StudySpec: the options, the benchmark names, the power arithmetic for the test-set size
family.py    build the synthetic benchmarks that differ only in `consistency`, plus the SCKD reference
runner.py    the cells (through the sweep machinery: resumable, finished cells skipped), submit every run
analysis.py  tables from the submitted records: OA with CIs, asymmetry penalty, gain over student-only, costs
plots.py     PNGs: OA vs consistency, transport costs vs consistency, penalty per method
report.py    the study folder: README.md (report), results.csv, runs.csv, summary.md, plots/, study.json
splice.py    copy summary.md into a Markdown file between markers (the repository README)
"""
