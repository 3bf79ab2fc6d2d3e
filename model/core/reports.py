"""What evaluation shows beyond one line of metrics: a report by class (vision) or by entity type (NER).

model_fn streams the counts over a pass as it streams the metrics (local variables in its
'metrics' scope, updated by update_metrics, reset by metrics_init_op), so a large split is
never kept in memory:
    vision: model_spec['confusion_matrix']   [K, K] int64, rows the true class, columns the predicted one
    NER:    model_spec['entity_type_counts'] [T, 3] int64, per entity type: correct, predicted, gold
After a pass, `report(sess, model_spec)` reads them; `format_report` gives the table that
evaluate.py prints, and `report_summaries` what TensorBoard shows of it.
"""
import io

import numpy as np

from model.core.tf_compat import tf

# The model_spec keys of the two kinds of report, and the names of their rows.
CONFUSION, TYPE_COUNTS = 'confusion_matrix', 'entity_type_counts'
CLASS_NAMES, TYPE_NAMES = 'class_names', 'entity_types'


def streamed_confusion_matrix(labels, predictions, num_labels):
    """(matrix, update_op): the confusion matrix summed over a pass, as a tf.metrics pair (make it in 'metrics')."""
    batch = tf.math.confusion_matrix(labels, predictions, num_classes=num_labels, dtype=tf.int64)
    total = tf.Variable(tf.zeros([num_labels, num_labels], tf.int64), trainable=False, name='confusion_matrix',
                        collections=[tf.GraphKeys.LOCAL_VARIABLES, tf.GraphKeys.METRIC_VARIABLES])
    return total, tf.assign_add(total, batch)


def ratios(correct, predicted, gold):
    """precision, recall and F1 (0 where undefined, as conlleval and seqeval give them), arrays alike."""
    correct, predicted, gold = (np.asarray(x, np.float64) for x in (correct, predicted, gold))
    precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    recall = np.divide(correct, gold, out=np.zeros_like(correct), where=gold > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(correct), where=total > 0)
    return precision, recall, f1


def report(sess, model_spec):
    """The report of the pass just run ({} for a model_spec without one), as JSON values.

    vision: {'per_class': {name: {precision, recall, f1, support}}, 'confusion_matrix': [[...]],
    'class_names': [...]}; NER: {'per_type': {type: {precision, recall, f1, gold, predicted, correct}}}.
    """
    if CONFUSION in model_spec:
        matrix = sess.run(model_spec[CONFUSION])
        precision, recall, f1 = ratios(np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1))
        names = model_spec[CLASS_NAMES]
        return {'per_class': {name: {'precision': float(precision[i]), 'recall': float(recall[i]),
                                     'f1': float(f1[i]), 'support': int(matrix[i].sum())}
                              for i, name in enumerate(names)},
                'confusion_matrix': matrix.tolist(), 'class_names': list(names)}
    if TYPE_COUNTS in model_spec:
        counts = sess.run(model_spec[TYPE_COUNTS])
        precision, recall, f1 = ratios(counts[:, 0], counts[:, 1], counts[:, 2])
        return {'per_type': {name: {'precision': float(precision[i]), 'recall': float(recall[i]),
                                    'f1': float(f1[i]), 'gold': int(counts[i, 2]), 'predicted': int(counts[i, 1]),
                                    'correct': int(counts[i, 0])}
                             for i, name in enumerate(model_spec[TYPE_NAMES])}}
    return {}


def format_report(values):
    """The report as the text table evaluate.py prints (and the log keeps)."""
    lines = []
    if 'per_class' in values:
        rows = values['per_class']
        width = max([len('class')] + [len(name) for name in rows])
        lines.append('{:<{w}}  precision  recall     f1  support'.format('class', w=width))
        for name, row in rows.items():
            lines.append('{:<{w}}  {precision:9.3f}  {recall:6.3f}  {f1:5.3f}  {support:7d}'.format(name, w=width, **row))
        matrix, names = values['confusion_matrix'], values['class_names']
        lines.append('')
        lines.append('confusion matrix (rows: true class, columns: predicted class)')
        cell = max([len(name) for name in names] + [len(str(n)) for row in matrix for n in row])
        lines.append(' ' * width + ''.join(' {:>{c}}'.format(name, c=cell) for name in names))
        for name, row in zip(names, matrix, strict=True):
            lines.append('{:<{w}}'.format(name, w=width) + ''.join(' {:>{c}}'.format(n, c=cell) for n in row))
    if 'per_type' in values:
        rows = values['per_type']
        width = max([len('overall')] + [len(name) for name in rows])
        lines.append('{:<{w}}  precision  recall     f1   gold  predicted'.format('type', w=width))
        for name, row in rows.items():
            lines.append('{:<{w}}  {precision:9.3f}  {recall:6.3f}  {f1:5.3f}  {gold:5d}  {predicted:9d}'.format(
                name, w=width, **row))
        # The overall line, micro-averaged over the types as conlleval's first line is.
        correct, predicted, gold = (sum(row[key] for row in rows.values()) for key in ('correct', 'predicted', 'gold'))
        precision, recall, f1 = (float(x) for x in ratios(correct, predicted, gold))
        lines.append('{:<{w}}  {:9.3f}  {:6.3f}  {:5.3f}  {:5d}  {:9d}'.format(
            'overall', precision, recall, f1, gold, predicted, w=width))
    return '\n'.join(lines)


def report_summaries(values):
    """What TensorBoard shows of a report: the confusion matrix as an image, the F1 of each entity type as a curve."""
    summaries = []
    if 'confusion_matrix' in values:
        png, (height, width) = confusion_matrix_png(values['confusion_matrix'], values['class_names'])
        image = tf.Summary.Image(encoded_image_string=png, height=height, width=width, colorspace=3)
        summaries.append(tf.Summary.Value(tag='confusion_matrix', image=image))
    for name, row in values.get('per_type', {}).items():
        summaries.append(tf.Summary.Value(tag='f1_by_type/{}'.format(name), simple_value=row['f1']))
    return tf.Summary(value=summaries)


def confusion_matrix_png(matrix, names, cell=36):
    """A PNG picture of the matrix: rows true, columns predicted, the count in each cell, darker for more."""
    from PIL import Image, ImageDraw, ImageFont

    matrix = np.asarray(matrix)
    font = ImageFont.load_default()
    measure = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    left = int(max(measure.textlength(name, font=font) for name in names)) + 12
    top = 36  # a title line, then the names of the columns
    size = len(names)
    width, height = left + size * cell + 8, top + size * cell + 8
    image = Image.new('RGB', (max(width, 200), height), 'white')
    draw = ImageDraw.Draw(image)
    draw.text((4, 4), 'rows: true class, columns: predicted', fill='black', font=font)
    peak = max(int(matrix.max()), 1)
    for i, name in enumerate(names):
        draw.text((4, top + i * cell + cell // 2 - 5), name, fill='black', font=font)
        draw.text((left + i * cell + 4, top - 14), name[:cell // 6], fill='black', font=font)
        for j in range(size):
            shade = int(255 - 200 * matrix[i, j] / peak)
            box = [left + j * cell, top + i * cell, left + (j + 1) * cell - 1, top + (i + 1) * cell - 1]
            draw.rectangle(box, fill=(shade, shade, 255) if i == j else (255, shade, shade), outline='gray')
            draw.text((box[0] + 4, box[1] + cell // 2 - 5), str(int(matrix[i, j])),
                      fill='white' if shade < 128 else 'black', font=font)
    buffer = io.BytesIO()
    image.save(buffer, format='PNG')
    return buffer.getvalue(), (image.height, image.width)
