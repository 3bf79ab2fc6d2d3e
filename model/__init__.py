"""The model: input pipeline, graph, and the Session loops that train and evaluate it.

step 1, building the graph: input_fn.py and model_fn.py
step 2, running it in a Session: training.py and evaluation.py
"""
