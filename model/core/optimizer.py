"""The learning rate, shared by both examples' model_fn; the lazy Adam of the NER example's."""
from model.core.tf_compat import tf


def learning_rate_schedule(global_step, params):
    """params.learning_rate, or with use_cosine_decay a cosine decay from it down to 0 at the last step.

    Large steps early and small ones at the end make the last epochs (and so the best
    weights) much less noisy than a constant rate on a small dataset.
    """
    if not params.use_cosine_decay:
        return params.learning_rate
    return tf.train.cosine_decay(params.learning_rate, global_step, params.num_epochs * params.train_steps)


class LazyAdamOptimizer(tf.train.AdamOptimizer):
    """Adam that, for a sparse gradient (an embedding's), moves only the rows the batch used.

    tf.train.AdamOptimizer decays the moments of every row of an embedding at every step, a
    pass over the whole matrix (20,000 words x 100 for a news corpus) whatever the batch. Here
    a row's moments and weights change only when its word is in the batch, as in TF1's
    tf.contrib.opt.LazyAdamOptimizer; dense gradients get Adam's own update.
    """

    def _lazy_update(self, var, values, indices, scatter_update, scatter_sub):
        beta1_power, beta2_power = self._get_beta_accumulators()
        dtype = var.dtype.base_dtype
        beta1, beta2 = tf.cast(self._beta1_t, dtype), tf.cast(self._beta2_t, dtype)
        step_size = (tf.cast(self._lr_t, dtype) * tf.sqrt(1 - tf.cast(beta2_power, dtype))
                     / (1 - tf.cast(beta1_power, dtype)))
        m, v = self.get_slot(var, 'm'), self.get_slot(var, 'v')
        m_rows = beta1 * tf.gather(m, indices) + (1 - beta1) * values
        v_rows = beta2 * tf.gather(v, indices) + (1 - beta2) * tf.square(values)
        m_update = scatter_update(m, indices, m_rows)
        v_update = scatter_update(v, indices, v_rows)
        var_update = scatter_sub(var, indices, step_size * m_rows / (tf.sqrt(v_rows) + tf.cast(self._epsilon_t, dtype)))
        return tf.group(var_update, m_update, v_update)

    def _apply_sparse(self, grad, var):
        # Called with the duplicate indices of a gradient already summed (Optimizer.apply_gradients).
        return self._lazy_update(var, grad.values, grad.indices, tf.scatter_update, tf.scatter_sub)

    def _resource_apply_sparse(self, grad, var, indices):
        def update(ref, rows, values):
            return tf.raw_ops.ResourceScatterUpdate(resource=ref.handle, indices=rows, updates=values)

        def subtract(ref, rows, values):
            return tf.raw_ops.ResourceScatterSub(resource=ref.handle, indices=rows, updates=values)
        return self._lazy_update(var, grad, indices, update, subtract)
