"""The learning rate, shared by both examples' model_fn."""
from model.tf_compat import tf


def learning_rate_schedule(global_step, params):
    """params.learning_rate, or with use_cosine_decay a cosine decay from it down to 0 at the last step.

    Large steps early and small ones at the end make the last epochs (and so the best
    weights) much less noisy than a constant rate on a small dataset.
    """
    if not params.use_cosine_decay:
        return params.learning_rate
    return tf.train.cosine_decay(params.learning_rate, global_step, params.num_epochs * params.train_steps)
