"""Random draws keyed on the training step, so that a resumed run is, to the bit, the run never interrupted.

Random ops that keep a state (tf.layers.dropout, a shuffle seeded once) start anew in
each process: a run resumed from a checkpoint would draw other numbers than the run it
continues. Every random draw of training here is stateless instead, its seed made of the
global step (which the checkpoint holds) and a number saying which draw of the step it is.
"""
from model.core.params import SEED
from model.core.tf_compat import tf

# The draw of the epoch's shuffle, at the first step of each epoch (both examples); an example
# numbers its other draws from 1 (ner/network.py's dropouts).
SHUFFLE = 0


def step_seed(draw):
    """The seed pair of random draw number `draw` at this training step: (seed + global step, draw).

    The seed is the graph's (train.py sets it from params.json's `seed`), SEED in a graph without one.
    """
    seed = tf.get_default_graph().seed
    seed = SEED if seed is None else seed
    return tf.stack([seed + tf.cast(tf.train.get_or_create_global_step(), tf.int64), tf.constant(draw, tf.int64)])
