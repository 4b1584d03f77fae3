"""What Beam recomputes thousands of times while it builds a pipeline, remembered: a DoFn's
state and timer specs, and an options object's views.

Beam 2.77 asks for a DoFn's specs (``userstate.get_dofn_specs``) about 2,500 times while it
builds, translates and fuses curate's pipeline of ~180 DoFns, and each time wraps every method
of the DoFn and takes its ``inspect.signature``: ~78,000 signatures, 1.3 of the ~5 CPU-s a
small run costs whatever its size. The specs are a function of the DoFn's methods, fixed once
it is made, so they are kept per DoFn instance, by identity and weakly (a finished pipeline's
DoFns, and the models they hold, are not kept alive).

It also asks for views of the pipeline's options (``PipelineOptions.view_as``) ~1,300 times,
at every transform applied and every type check, and each view builds an argparse parser and
parses the flags again (~0.25 ms): ~0.3 CPU-s a run. A view holds nothing of its own (its
values live in the options' shared dict, which every view reads and writes), so one view per
options object and class is kept, weakly, while the options' flags and dict are the same
(tests/test_beam_memo.py)."""
from __future__ import annotations

import weakref

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import userstate

_original = userstate.get_dofn_specs
_specs: dict[int, tuple] = {}  # id(dofn) -> (weak reference to it, its specs)
_original_view_as = PipelineOptions.view_as
_views: dict[tuple, tuple] = {}  # (id(options), view class) -> (weak reference to the options, the view)


def get_dofn_specs(dofn):
    hit = _specs.get(id(dofn))
    if hit is not None and hit[0]() is dofn:
        return hit[1]
    specs = _original(dofn)
    try:
        ref = weakref.ref(dofn, lambda _, key=id(dofn), specs=_specs: specs.pop(key, None))
    except TypeError:  # not weakly referable: not remembered
        return specs
    _specs[id(dofn)] = (ref, specs)
    return specs


def view_as(options, cls):
    key = (id(options), cls)
    hit = _views.get(key)
    if hit is not None and hit[0]() is options:
        view = hit[1]
        if view._flags is options._flags and view._all_options is options._all_options:
            return view
    view = _original_view_as(options, cls)
    try:
        ref = weakref.ref(options, lambda _, key=key, views=_views: views.pop(key, None))  # views: at exit the module global is None
    except TypeError:
        return view
    _views[key] = (ref, view)
    return view


def install() -> None:
    """Beam's own callers (is_stateful_dofn, validate_stateful_dofn, ParDo's translation) look
    the function up in the userstate module at each call; views are asked of the class."""
    userstate.get_dofn_specs = get_dofn_specs
    PipelineOptions.view_as = view_as
