"""Benchmarks of coopflow, each measured in the same run as its baseline: `python -m bench`
(all of them, then the summary), or one alone, `python -m bench.<name> --help`.

One harness serves them all: `bench.stack` starts the servers and the processes (PostgreSQL,
a Temporal dev server, the API, workers) and reads their CPU; `bench.rounds` drives sides in
alternated rounds; `bench.checkins` says what a check-in is, through HTTP or as an update;
`bench.support` holds the targets, the report and the command of each module.

Not part of `make test`: they take minutes and their figures depend on the machine.
"""
