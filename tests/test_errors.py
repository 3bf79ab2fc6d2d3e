"""model/core/errors.py: how a script ends on a bad input or a signal (one message, the conventional status)."""
import logging
import signal

import pytest

from model.core.errors import HANDLER_TAG, InputError, run_script
from model.core.interrupts import Interrupted


@pytest.mark.parametrize('raised, status, message', [
    (KeyboardInterrupt(), 130, 'Interrupted.'),
    (Interrupted(signal.SIGTERM, 3, 'Stopped by SIGTERM: ...'), 143, 'Stopped by SIGTERM: ...'),
    (InputError('params.json: bad'), 2, 'Error: params.json: bad'),
])
def test_scripts_end_with_one_message_and_the_conventional_status(raised, status, message, capsys):
    def main(args):
        raise raised
    # No run log set (as before set_logger): the message goes to stderr only.
    for handler in [h for h in logging.getLogger().handlers if getattr(h, HANDLER_TAG, False)]:
        logging.getLogger().removeHandler(handler)
        handler.close()
    with pytest.raises(SystemExit) as e:
        run_script(main, None)
    assert e.value.code == status
    assert capsys.readouterr().err == message + '\n'


