"""Define the model."""
from model.core.errors import InputError
from model.core.optimizer import learning_rate_schedule
from model.core.params import class_names
from model.core.reports import CLASS_NAMES, CONFUSION, streamed_confusion_matrix
from model.core.tf_compat import tf
from model.core.versions import ModelVersion, model_version


def build_model_baseline(is_training, inputs, params):
    """Compute logits of the model (output distribution)

    Four blocks of 3x3 conv -> batch norm -> relu -> 2x2 max pool, with
    num_channels x [1, 2, 4, 8] channels, then dense -> batch norm -> relu -> dense.

    Args:
        is_training: (bool) whether we are training or not
        inputs: (dict) contains the inputs of the graph (features, labels...)
                this can be `tf.placeholder` or outputs of `tf.data`
        params: (Params) hyperparameters

    Returns:
        output: (tf.Tensor) output of the model
    """
    images = inputs['images']

    assert images.get_shape().as_list() == [None, params.image_size, params.image_size, 3]

    out = images
    # Define the number of channels of each convolution
    # For each block, we do: 3x3 conv -> batch norm -> relu -> 2x2 maxpool
    num_channels = params.num_channels
    bn_momentum = params.bn_momentum
    channels = [num_channels, num_channels * 2, num_channels * 4, num_channels * 8]
    for i, c in enumerate(channels):
        with tf.variable_scope('block_{}'.format(i + 1)):
            out = tf.layers.conv2d(out, c, 3, padding='same')
            if params.use_batch_norm:
                out = tf.layers.batch_normalization(out, momentum=bn_momentum, training=is_training)
            out = tf.nn.relu(out)
            out = tf.layers.max_pooling2d(out, 2, 2)

    # Four 2x2 poolings divide the image size by 16 (64 -> 4)
    final_size = params.image_size // 16
    assert out.get_shape().as_list() == [None, final_size, final_size, num_channels * 8]

    out = tf.reshape(out, [-1, final_size * final_size * num_channels * 8])
    with tf.variable_scope('fc_1'):
        out = tf.layers.dense(out, num_channels * 8)
        if params.use_batch_norm:
            out = tf.layers.batch_normalization(out, momentum=bn_momentum, training=is_training)
        out = tf.nn.relu(out)
    with tf.variable_scope('fc_2'):
        logits = tf.layers.dense(out, params.num_labels)

    return logits


def check_baseline_params(params):
    """The baseline's four 2x2 poolings need an image_size they divide exactly."""
    if params.image_size % 16:
        raise InputError("image_size in params.json must be a multiple of 16 (four 2x2 poolings), "
                         "got {}".format(params.image_size))


# params.model_version -> the function that builds that network, and the params it cannot take. Add yours here.
MODEL_VERSIONS = {
    'baseline': ModelVersion(build_model_baseline, check_baseline_params),
}


def build_model(is_training, inputs, params):
    """Build the network that params.model_version names; an unknown name is an InputError."""
    return model_version(MODEL_VERSIONS, params).build_model(is_training, inputs, params)


def model_fn(mode, inputs, params, reuse=False):
    """Model function defining the graph operations.

    Args:
        mode: (string) can be 'train', 'eval' or 'predict' (images without labels: see predict_model_fn)
        inputs: (dict) contains the inputs of the graph (features, labels...)
                this can be `tf.placeholder` or outputs of `tf.data`
        params: (Params) contains hyperparameters of the model (ex: `params.learning_rate`)
        reuse: (bool) whether to reuse the weights

    Returns:
        model_spec: (dict) contains the graph operations or nodes needed for training / evaluation
    """
    if mode == 'predict':
        return predict_model_fn(inputs, params, reuse)

    is_training = (mode == 'train')
    labels = inputs['labels']
    labels = tf.cast(labels, tf.int64)

    # -----------------------------------------------------------
    # MODEL: define the layers of the model
    with tf.variable_scope('model', reuse=reuse):
        # Compute the output distribution of the model and the predictions
        logits = build_model(is_training, inputs, params)
        predictions = tf.argmax(logits, 1)

    # Define loss and accuracy
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(labels, predictions), tf.float32))

    # Define training step that minimizes the loss with the Adam optimizer
    if is_training:
        global_step = tf.train.get_or_create_global_step()
        learning_rate = learning_rate_schedule(global_step, params)
        optimizer = tf.train.AdamOptimizer(learning_rate)
        # Batch norm's moving averages are updated by ops outside the gradient path:
        # make every training step run them.
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train_op = optimizer.minimize(loss, global_step=global_step)

    # -----------------------------------------------------------
    # METRICS AND SUMMARIES
    # Metrics for evaluation using tf.metrics (average over whole dataset).
    with tf.variable_scope("metrics") as metrics_scope:
        metrics = {
            'accuracy': tf.metrics.accuracy(labels=labels, predictions=predictions),
            'loss': tf.metrics.mean(loss)
        }
        # The confusion matrix of the pass, summed as the metrics are, for the report by class (model/core/reports.py)
        confusion, update_confusion = streamed_confusion_matrix(labels, predictions, params.num_labels)

    # Group the update ops for the tf.metrics
    update_metrics_op = tf.group(*[op for _, op in metrics.values()], update_confusion)

    # Get the op to reset the local variables used in tf.metrics. The eval graph's
    # "metrics" scope is named "metrics_1/": resetting it leaves the train metrics alone.
    metric_variables = tf.get_collection(tf.GraphKeys.LOCAL_VARIABLES, scope=metrics_scope.original_name_scope)
    metrics_init_op = tf.variables_initializer(metric_variables)

    # Summaries for training: the value of each batch (TensorBoard does the smoothing).
    # The eval curves are written once per epoch from the tf.metrics, by evaluate_sess.
    if is_training:
        summaries = [tf.summary.scalar('loss', loss),
                     tf.summary.scalar('accuracy', accuracy),
                     tf.summary.scalar('learning_rate', learning_rate),
                     tf.summary.image('train_image', inputs['images'])]
    else:
        # Add incorrectly labeled images
        mask = tf.not_equal(labels, predictions)
        summaries = []
        for label, name in enumerate(class_names(params)):  # under the class's name: incorrectly_labeled_cat
            mask_label = tf.logical_and(mask, tf.equal(predictions, label))
            incorrect_image_label = tf.boolean_mask(inputs['images'], mask_label)
            summaries.append(tf.summary.image('incorrectly_labeled_{}'.format(name), incorrect_image_label))

    # -----------------------------------------------------------
    # MODEL SPECIFICATION
    # Create the model specification and return it
    # It contains nodes or operations in the graph that will be used for training and evaluation
    model_spec = dict(inputs)
    model_spec['variable_init_op'] = tf.global_variables_initializer()
    model_spec["predictions"] = predictions
    model_spec['loss'] = loss
    model_spec['accuracy'] = accuracy
    model_spec['metrics_init_op'] = metrics_init_op
    model_spec['metrics'] = metrics
    model_spec['update_metrics'] = update_metrics_op
    model_spec[CONFUSION], model_spec[CLASS_NAMES] = confusion, class_names(params)
    # Only this mode's summaries: tf.summary.merge_all() would also pull in the other graph's.
    model_spec['summary_op'] = tf.summary.merge(summaries)

    if is_training:
        model_spec['train_op'] = train_op

    return model_spec


# -----------------------------------------------------------
# PREDICT MODE: the network alone, for images without labels (predict.py and export.py).

def predict_model_fn(inputs, params, reuse=False):
    """The predictions and class probabilities of the network in inference mode: no loss, no metrics.

    Args:
        inputs: (dict) with the `images` (from predict_input_fn or serving_input_fn)
        params: (Params) hyperparameters, the same as in training
        reuse: (bool) whether to reuse the weights

    Returns:
        model_spec: (dict) the inputs, with `predictions` (class indices), `probabilities`
                    ([batch, num_labels], softmax of the logits) and `variable_init_op`
    """
    # Resource variables, which TF2 expects when it loads the exported model (it warns about
    # each reference variable); they read the same checkpoint.
    with tf.variable_scope('model', reuse=reuse, use_resource=True):
        logits = build_model(False, inputs, params)

    model_spec = dict(inputs)
    model_spec['predictions'] = tf.argmax(logits, 1)
    model_spec['probabilities'] = tf.nn.softmax(logits)
    model_spec['variable_init_op'] = tf.global_variables_initializer()
    return model_spec
