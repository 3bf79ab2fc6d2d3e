"""Hyperparameter search: what to run (grid), how to run it (local, slurm/), what it printed and recorded (report),
how far each run got (states) and the table of results (results).

search_hyperparams.py and synthesize_results.py are the entry points; nothing here imports TensorFlow.
"""
