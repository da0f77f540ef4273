"""``sim.cli.common``: an interrupt that surfaces from compiled code still exits 130."""

from __future__ import annotations

import pytest
import typer

from sim.cli.common import handle_errors
from sim.runner import interrupted_in_compiled_code


def _numba_like_error() -> SystemError:
    """Return the chain numba raises when a signal handler raises inside a kernel."""
    try:
        try:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as ki:
                raise SystemError(
                    "<numba unpickle> returned a result with an exception set"
                ) from ki
        except SystemError as inner:
            raise SystemError("kernel returned a result with an exception set") from inner
    except SystemError as outer:
        return outer


def test_a_system_error_caused_by_an_interrupt_is_recognised():
    assert interrupted_in_compiled_code(_numba_like_error())
    assert not interrupted_in_compiled_code(SystemError("a real internal error"))
    assert not interrupted_in_compiled_code(KeyboardInterrupt())


def test_handle_errors_exits_130_on_an_interrupt_inside_compiled_code(capsys):
    with pytest.raises(typer.Exit) as caught, handle_errors():
        raise _numba_like_error()
    assert caught.value.exit_code == 130


def test_handle_errors_lets_other_system_errors_through():
    with pytest.raises(SystemError, match="real internal"), handle_errors():
        raise SystemError("a real internal error")


def test_a_sigterm_whose_interrupt_was_swallowed_still_exits_130():
    import os
    import signal

    with pytest.raises(typer.Exit) as caught, handle_errors():
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler raises KeyboardInterrupt here
            signal.getsignal(signal.SIGTERM)  # a next bytecode, where the handler runs
        except KeyboardInterrupt:
            pass  # a library that swallows it, as a finaliser or a broad except would
    assert caught.value.exit_code == 130
