"""An exponential moving average of the weights (params.ema_decay), which evaluation and prediction use.

Training updates, after each step, a shadow copy of every trained variable:
`shadow = decay * shadow + (1 - decay) * variable`, the decay ramping up from 0.1 over the
first steps (tf.train.ExponentialMovingAverage's num_updates). The shadows are variables of
their own (`<variable>/ExponentialMovingAverage`), saved in every checkpoint with the weights,
so the best weights, a resumed run, predict.py and the SavedModel all have them. The eval and
predict graphs read them instead of the weights through a custom getter: the same
`model_fn`, the same variable names, only what a name gives differs.
"""
from model.core.tf_compat import tf

SHADOW = 'ExponentialMovingAverage'


def moving_average(train_op, variables, global_step, params):
    """train_op followed by the update of the averages of `variables`."""
    ema = tf.train.ExponentialMovingAverage(params.ema_decay, num_updates=global_step, name=SHADOW)
    with tf.control_dependencies([train_op]):
        return ema.apply(list(variables))


def averaged_weights(params):
    """A custom getter for variable_scope('model') that gives each trained variable's average, or None without EMA."""
    if params.ema_decay <= 0:
        return None

    def averaged(getter, name, *args, **kwargs):  # the argument names variable_scope passes
        variable = getter(name, *args, **kwargs)
        if not kwargs.get('trainable', True):
            return variable
        # The shadow moving_average made in the train graph, or (a predict graph) one made here to be
        # restored into: initialised as the variable is, trained never.
        shadow_name = '{}/{}'.format(name, SHADOW)
        made = [shadow for shadow in tf.global_variables() if shadow.op.name == shadow_name]
        return made[0] if made else getter(shadow_name, *args, **dict(kwargs, trainable=False))
    return averaged
