"""A dead SDK worker fails the job instead of hanging it, in Beam's own job service.

Beam's local job service (``--job_endpoint=embed`` or ``local_job_service_main``, the
FnApiRunner) hands each bundle to a worker and waits for the answer on the worker's control
stream. When the worker dies (killed, out of memory) the stream ends, but the instructions it
had not answered, and those sent to it after, are never failed: the job, and the launcher with
it, waited forever (an EXTERNAL worker pool's worker, or one of the DirectRunner's
``multi_processing`` workers). Here a control stream that ends before the runner closes it
fails them (``WorkerLost``), so the job fails and curate says so in one line. Flink and
Dataflow notice a lost worker themselves.

The ``multi_processing`` workers are in the terminal's process group, so a Ctrl-C reaches them
too: they end on it with the signal's default action (silently), not Python's
KeyboardInterrupt, whose traceback each printed twice (its own, and relayed by the runner's
log) above curate's one line."""
from __future__ import annotations

import threading

import grpc
from apache_beam.runners.portability import local_job_service
from apache_beam.runners.portability.fn_api_runner import worker_handlers


class WorkerLost(RuntimeError):
    """The class name is the marker curate.cli finds in the job's error text."""


_original_read = worker_handlers.ControlConnection._read
_original_push = worker_handlers.ControlConnection.push
_original_close = worker_handlers.ControlConnection.close
_original_is_done = worker_handlers.ControlFuture.is_done


def _read(self):
    try:
        _original_read(self)
    except Exception:  # noqa: BLE001 - the stream broke: the same as ended
        pass
    if getattr(self, "_closing", False):  # the runner ended the stream: every instruction was answered
        return
    pending = list(self._futures_by_id.values())
    self._lost = WorkerLost("an SDK worker of the runner ended (killed, out of memory?) before the job did")
    for future in pending:
        future.abort(self._lost)


def _close(self):
    self._closing = True
    _original_close(self)


def _push(self, req):
    # an instruction for a worker already lost (the runner sends the next bundle to it) fails at once
    future = _original_push(self, req)
    if future is not None and getattr(self, "_lost", None) is not None:
        future.abort(self._lost)
    return future


def _is_done(self):
    # the runner's data plane stops waiting for a bundle's outputs once its answer is in; an
    # aborted answer counts, or it would wait for outputs that never come
    return _original_is_done(self) or self._exception is not None


_WORKER_MAIN = " -m apache_beam.runners.worker.sdk_worker_main"
# the same module run with SIGINT's default action (Python installs its own when it starts)
_QUIET_MAIN = (""" -c 'import runpy, signal; signal.signal(signal.SIGINT, signal.SIG_DFL); """
               """runpy.run_module("apache_beam.runners.worker.sdk_worker_main", run_name="__main__", alter_sys=True)'""")
_original_worker_init = local_job_service.SubprocessSdkWorker.__init__


def _worker_init(self, worker_command_line, *args, **kw):
    _original_worker_init(self, worker_command_line, *args, **kw)
    if self._worker_command_line.endswith(_WORKER_MAIN):  # the DirectRunner's own command, not a user's
        self._worker_command_line = self._worker_command_line[: -len(_WORKER_MAIN)] + _QUIET_MAIN


_original_excepthook = threading.excepthook


def _excepthook(args):
    # the data channel's reader re-raises the broken stream in its thread after keeping it for
    # the job, whose failure says it: not a second traceback on the terminal
    name = args.thread.name if args.thread is not None else ""
    if name == "read_grpc_client_inputs" and isinstance(args.exc_value, grpc.RpcError):
        return
    # Beam's multi_processing mode: the thread that watches a worker process says it died
    if name == "run_worker" and "Worker subprocess exited with return code" in str(args.exc_value):
        return
    _original_excepthook(args)


def install() -> None:
    worker_handlers.ControlConnection._read = _read
    worker_handlers.ControlConnection.push = _push
    worker_handlers.ControlConnection.close = _close
    worker_handlers.ControlFuture.is_done = _is_done
    threading.excepthook = _excepthook
    local_job_service.SubprocessSdkWorker.__init__ = _worker_init
