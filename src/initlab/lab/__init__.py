"""The laboratory's machinery (floor 6): grids of seeded tasks, one runner for local processes
or a Dask cluster, finished tasks stored and reused, and claims decided by exact tests over
seeds.

    tasks.py     Task (study, configuration, seed) and its SeedSequence-derived random streams
    store.py     finished tasks as JSON files under the run's output folder
    runner.py    Executor: joblib processes (one BLAS thread each) or dask.distributed
    stats.py     sign test, permutation test, bootstrap intervals
    verdicts.py  the rules: paired, compare, every, within, illustration
    claims.py    Claim (sentences + rule) and decide()
    study.py     run_study: options -> tasks -> results -> summary -> claims
"""
