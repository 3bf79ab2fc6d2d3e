"""What both Keras workers time: each epoch of model.fit, as a callback (imported after Keras 3 is set up)."""
import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Seconds of every epoch of fit, in `times`."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)
