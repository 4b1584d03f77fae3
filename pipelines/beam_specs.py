"""A DoFn's state and timer specs, remembered: a third of a small run's CPU.

Beam 2.77 asks for them (``userstate.get_dofn_specs``) about 2,500 times while it builds,
translates and fuses curate's pipeline of ~180 DoFns, and each time wraps every method of the
DoFn and takes its ``inspect.signature``: ~78,000 signatures, 1.3 of the ~5 CPU-s a small run
costs whatever its size (tests/test_beam_specs.py). The specs are a function of the DoFn's
methods, fixed once it is made, so they are kept per DoFn instance, by identity and weakly
(a finished pipeline's DoFns, and the models they hold, are not kept alive)."""
from __future__ import annotations

import weakref

from apache_beam.transforms import userstate

_original = userstate.get_dofn_specs
_specs: dict[int, tuple] = {}  # id(dofn) -> (weak reference to it, its specs)


def get_dofn_specs(dofn):
    hit = _specs.get(id(dofn))
    if hit is not None and hit[0]() is dofn:
        return hit[1]
    specs = _original(dofn)
    try:
        ref = weakref.ref(dofn, lambda _, key=id(dofn): _specs.pop(key, None))
    except TypeError:  # not weakly referable: not remembered
        return specs
    _specs[id(dofn)] = (ref, specs)
    return specs


def install() -> None:
    """Beam's own callers (is_stateful_dofn, validate_stateful_dofn, ParDo's translation) look
    the function up in the userstate module at each call."""
    userstate.get_dofn_specs = get_dofn_specs
