"""Define the NER model: the graph from the `inputs` of ner/input_fn.py to the tags, loss and metrics."""
from model.core.optimizer import LazyAdamOptimizer, learning_rate_schedule
from model.core.reports import TYPE_COUNTS, TYPE_NAMES
from model.core.tf_compat import tf
from model.core.versions import ModelVersion, model_version, no_check
from ner import network
from ner.entities import entity_types
from ner.metrics import entity_metrics, tagged_sentences_summary
from ner.moving_average import averaged_weights, moving_average

# params.model_version -> the function that builds that network. Add yours here (and in ner/network.py).
MODEL_VERSIONS = {
    'lstm': ModelVersion(network.build_model_lstm, no_check),
    'bilstm_char': ModelVersion(network.build_model_bilstm_char, no_check),
    'bilstm_char_crf': ModelVersion(network.build_model_bilstm_char_crf, no_check),
}


def build_model(is_training, inputs, params):
    """Build the network that params.model_version names; an unknown name is an InputError."""
    return model_version(MODEL_VERSIONS, params).build_model(is_training, inputs, params)


def read_tags(params):
    """The tag of each id (tags.txt of the vocabulary), as Python strings."""
    with open(params.tags_path, encoding='utf-8') as f:
        return [line.rstrip('\n') for line in f]


def model_fn(mode, inputs, params, reuse=False):
    """Model function defining the graph operations.

    Args:
        mode: (string) 'train', 'eval' or 'predict' (raw sentences without labels: see predict_model_fn)
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
    sentence_lengths = inputs['sentence_lengths']
    tag_names = read_tags(params)

    if is_training:
        global_step = tf.train.get_or_create_global_step()  # before the model: its dropout is keyed on it

    # -----------------------------------------------------------
    # MODEL: define the layers of the model
    with tf.variable_scope('model', reuse=reuse, custom_getter=None if is_training else averaged_weights(params)):
        # Compute the output distribution of the model and the predictions
        logits = build_model(is_training, inputs, params)
        predictions = network.predict_tags(logits, sentence_lengths, params)
        # Define loss: on the real tokens only (the padding is not part of any sentence)
        loss = network.loss(logits, labels, sentence_lengths, params)

    # The accuracy on real tokens only: the course counted the padding as right 'O' tags.
    mask = tf.sequence_mask(sentence_lengths, tf.shape(labels)[1])
    correct = tf.boolean_mask(tf.equal(labels, predictions), mask)
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

    # Define training step that minimizes the loss with the Adam optimizer
    if is_training:
        learning_rate = learning_rate_schedule(global_step, params)
        optimizer = LazyAdamOptimizer(learning_rate)
        gradients, variables = zip(*optimizer.compute_gradients(loss), strict=True)
        if params.clip_gradients > 0:
            # A long sentence with a bad CRF path can give a huge gradient early in training.
            gradients, _ = tf.clip_by_global_norm(gradients, params.clip_gradients)
        train_op = optimizer.apply_gradients(zip(gradients, variables, strict=True), global_step=global_step)
        if params.ema_decay > 0:
            # Averaged weights beside the weights, updated after each step (see averaged_weights)
            train_op = moving_average(train_op, variables, global_step, params)

    # -----------------------------------------------------------
    # METRICS AND SUMMARIES
    # Metrics for evaluation using tf.metrics (average over whole dataset)
    with tf.variable_scope("metrics") as metrics_scope:
        metrics = {
            'accuracy': tf.metrics.accuracy(labels=labels, predictions=predictions, weights=mask),
            'loss': tf.metrics.mean(loss)
        }
        if not is_training:
            # Entity F1 picks the best weights: what NER users measure (most tokens are 'O').
            # The counts by entity type are kept too, for evaluate.py's report (model/core/reports.py)
            entity_scores, type_counts = entity_metrics(labels, predictions, sentence_lengths, tag_names)
            metrics.update(entity_scores)

    # Group the update ops for the tf.metrics
    update_metrics_op = tf.group(*[op for _, op in metrics.values()])

    # Get the op to reset the local variables used in tf.metrics
    metric_variables = tf.get_collection(tf.GraphKeys.LOCAL_VARIABLES, scope=metrics_scope.original_name_scope)
    metrics_init_op = tf.variables_initializer(metric_variables)

    # Summaries for training: the value of each batch; the eval curves (with F1) are written per epoch.
    if is_training:
        summaries = [tf.summary.scalar('loss', loss),
                     tf.summary.scalar('accuracy', accuracy),
                     tf.summary.scalar('learning_rate', learning_rate)]
    else:
        summaries = [tagged_sentences_summary(inputs, predictions, tag_names)]

    # -----------------------------------------------------------
    # MODEL SPECIFICATION
    # Create the model specification and return it
    # It contains nodes or operations in the graph that will be used for training and evaluation
    model_spec = dict(inputs)
    # The vocabulary lookup tables (and the splits prepared once, see ner/batching.py) are initialized with the variables.
    model_spec['variable_init_op'] = tf.group(tf.global_variables_initializer(), tf.tables_initializer())
    model_spec['predictions'] = predictions
    model_spec['loss'] = loss
    model_spec['accuracy'] = accuracy
    model_spec['metrics_init_op'] = metrics_init_op
    model_spec['metrics'] = metrics
    model_spec['update_metrics'] = update_metrics_op
    model_spec['summary_op'] = tf.summary.merge(summaries)
    if not is_training:
        model_spec[TYPE_COUNTS], model_spec[TYPE_NAMES] = type_counts, entity_types(tag_names)

    if is_training:
        model_spec['train_op'] = train_op

    return model_spec


def predict_model_fn(inputs, params, reuse=False):
    """The predicted tags of raw sentences: ids [B, T] and strings, no loss, no metrics (predict.py, export.py)."""
    with tf.variable_scope('model', reuse=reuse, use_resource=True, custom_getter=averaged_weights(params)):
        logits = build_model(False, inputs, params)
        predictions = network.predict_tags(logits, inputs['sentence_lengths'], params)
    model_spec = dict(inputs)
    model_spec['predictions'] = predictions
    model_spec['tags'] = tf.gather(tf.constant(read_tags(params)), predictions)
    model_spec['variable_init_op'] = tf.group(tf.global_variables_initializer(), tf.tables_initializer())
    return model_spec
