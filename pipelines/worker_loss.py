"""A dead SDK worker fails the job instead of hanging it, in Beam's own job service.

Beam's local job service (``--job_endpoint=embed`` or ``local_job_service_main``, the
FnApiRunner) hands each bundle to a worker and waits for the answer on the worker's control
stream. When the worker dies (killed, out of memory) the stream ends, but the instructions it
had not answered are never failed: the job, and the launcher with it, waited forever. Here a
control stream that ends with instructions unanswered fails them (``WorkerLost``), so the job
fails and curate says so in one line. Flink and Dataflow notice a lost worker themselves."""
from __future__ import annotations

import threading

import grpc
from apache_beam.runners.portability.fn_api_runner import worker_handlers


class WorkerLost(RuntimeError):
    """The class name is the marker curate.cli finds in the job's error text."""


_original_read = worker_handlers.ControlConnection._read
_original_is_done = worker_handlers.ControlFuture.is_done


def _read(self):
    try:
        _original_read(self)
    except Exception:  # noqa: BLE001 - the stream broke: the same as ended
        pass
    pending = list(self._futures_by_id.values())
    if pending:  # a normal close answers everything first
        error = WorkerLost(f"an SDK worker of the runner ended (killed, out of memory?) with {len(pending)} "
                           "instruction(s) unanswered")
        for future in pending:
            future.abort(error)


def _is_done(self):
    # the runner's data plane stops waiting for a bundle's outputs once its answer is in; an
    # aborted answer counts, or it would wait for outputs that never come
    return _original_is_done(self) or self._exception is not None


_original_excepthook = threading.excepthook


def _excepthook(args):
    # the data channel's reader re-raises the broken stream in its thread after keeping it for
    # the job, whose failure says it: not a second traceback on the terminal
    if args.thread is not None and args.thread.name == "read_grpc_client_inputs" and isinstance(args.exc_value, grpc.RpcError):
        return
    _original_excepthook(args)


def install() -> None:
    worker_handlers.ControlConnection._read = _read
    worker_handlers.ControlFuture.is_done = _is_done
    threading.excepthook = _excepthook
