"""What Beam recomputes thousands of times while it builds a pipeline, remembered: a DoFn's
state and timer specs, and an options object's views.

Beam 2.77 asks for a DoFn's specs (``userstate.get_dofn_specs``) about 2,500 times while it
builds, translates and fuses curate's pipeline of ~180 DoFns, and each time wraps every method
of the DoFn and takes its ``inspect.signature``: ~78,000 signatures, 1.3 of the ~5 CPU-s a
small run costs whatever its size. The specs are a function of the DoFn's methods, fixed once
it is made, so they are kept per DoFn instance, by identity and weakly (a finished pipeline's
DoFns, and the models they hold, are not kept alive), and per class for the new instances
every bundle unpickles, while their methods are the same functions (``_methods``).

It also asks for views of the pipeline's options (``PipelineOptions.view_as``) ~1,300 times,
at every transform applied and every type check, and each view builds an argparse parser and
parses the flags again (~0.25 ms): ~0.3 CPU-s a run. A view holds nothing of its own (its
values live in the options' shared dict, which every view reads and writes), so one view per
options object and class is kept, weakly, while the options' flags and dict are the same
(tests/test_beam_memo.py).

The specs are still asked of every DoFn instance once, and the runner's workers unpickle new
instances of the same DoFns for every bundle (~435 a demo run), and each asks Beam for the
arguments of each of its methods (``core.get_function_args_defaults``: ``inspect.signature``,
~20,000 a demo run, ~1 CPU-s). A method's arguments and defaults are a function of its
function's code, defaults and wrappers alone, whatever instance it is bound to, so they are
kept per function, weakly, while those are the same objects. Only for Beam 2.77 (what
pyproject pins), whose ``get_function_args_defaults`` this was checked against: another
version keeps its own.

Every pickled DoFn, coder and window function in the pipeline proto is bz2-compressed (level
9) where it is written and decompressed where a bundle reads it, ~1,600 and ~2,000 times a
small run for ~390 distinct pickles: remembered by their bytes (``_Bz2``), 2.77 only too; and
whether a process method both yields and returns (read from its source for every ParDo), per
function."""
from __future__ import annotations

import bz2
import operator
import types
import weakref

import apache_beam
from apache_beam.internal import cloudpickle_pickler
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import core, userstate

_original = userstate.get_dofn_specs
_specs: dict[int, tuple] = {}  # id(dofn) -> (weak reference to it, its specs)
_original_view_as = PipelineOptions.view_as
_views: dict[tuple, tuple] = {}  # (id(options), view class) -> (weak reference to the options, the view)


_class_specs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # DoFn class -> (its methods, _held, their specs)


class _Weak(weakref.ref):
    """A function in a memo's entry, held weakly: a method that calls super() holds its class
    (its __class__ cell), so a strong one kept every class the memo saw alive, and what the
    class holds (a notebook's DoFn, defined again at each run of its cell)."""
    __slots__ = ()


def _held(methods: tuple) -> tuple:
    return tuple(_Weak(x) if type(x) is types.FunctionType else x for x in methods)


def _live(held: tuple) -> tuple:
    """``_held``'s functions again (None for one that is gone: no live function is it)."""
    return tuple(x() if type(x) is _Weak else x for x in held)


def _kept(held: tuple, stamp: tuple) -> bool:
    """``stamp`` is what ``_held`` kept of it: as it is where it held no function (a stamp
    mostly), else with the functions it holds weakly (a wrapper's __wrapped__: a method that
    calls super(), wrapped, holds its class)."""
    return _same(held, stamp) or _same(_live(held), stamp)


def _same(a: tuple, b: tuple) -> bool:
    """The same objects, one for one (not equal ones: a default equal to a StateParam is not one)."""
    return len(a) == len(b) and all(map(operator.is_, a, b))


def _methods(dofn) -> tuple | None:
    """What Beam's get_dofn_specs reads of a DoFn: the attributes that are bound methods, by
    name, each with its function and what its signature is read from (``_stamp``), or, where
    the DoFn has an ``_inspect_<name>`` (Beam's get_function_arguments asks it instead), the
    defaults it gives: a wrapper's (--runtime_type_check's) are those of the DoFn inside, its
    methods the same for every DoFn. None where a function is not a plain function (a callable
    object's signature may change)."""
    out = []
    for name in dir(dofn):
        method = getattr(dofn, name, None)
        if isinstance(method, types.MethodType):
            if type(method.__func__) is not types.FunctionType:
                return None
            stamp = _stamp(method.__func__)
            if hasattr(dofn, "_inspect_" + name):
                stamp += tuple(core.get_function_arguments(dofn, name)[1])
            out += (name, method.__func__, len(stamp), *stamp)
    return tuple(out)


def get_dofn_specs(dofn):
    hit = _specs.get(id(dofn))
    if hit is not None and hit[0]() is dofn:
        return hit[1]
    # every bundle unpickles new instances of the same DoFns: their class's entry serves while
    # their methods are the same functions, with the same code, defaults and attributes
    methods = _methods(dofn)
    last = _class_specs.get(type(dofn)) if methods is not None else None
    if last is not None and _same(_live(last[0]), methods):
        specs = last[1]
    else:
        specs = _original(dofn)
        if methods is not None:
            _class_specs[type(dofn)] = (_held(methods), specs)
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


_original_args = core.get_function_args_defaults
_args: dict[tuple, tuple] = {}  # (id(function), bound) -> (weak reference to it, its stamp, args, defaults)


def _stamp(fn) -> tuple:
    """What inspect.signature reads of a function: its code, its defaults and its attributes
    (__wrapped__, __signature__, _partialmethod); any of them replaced is a new entry."""
    return (fn.__code__, fn.__defaults__, fn.__kwdefaults__, *fn.__dict__.keys(), *fn.__dict__.values())


def get_function_args_defaults(f):
    if type(f) is types.MethodType and type(f.__func__) is types.FunctionType:
        fn, bound = f.__func__, True  # a bound method's signature is its function's less the first argument
    elif type(f) is types.FunctionType:
        fn, bound = f, False
    else:  # a class, a partial, a callable object, a builtin: Beam's, each time
        return _original_args(f)
    key, stamp = (id(fn), bound), _stamp(fn)
    hit = _args.get(key)
    if hit is not None and hit[0]() is fn and _kept(hit[1], stamp):
        return list(hit[2]), list(hit[3])
    args, defaults = _original_args(f)
    try:
        ref = weakref.ref(fn, lambda _, key=key, memo=_args: memo.pop(key, None))
    except TypeError:
        return args, defaults
    _args[key] = (ref, _held(stamp), tuple(args), tuple(defaults))
    return args, defaults


_original_yield_check = core._check_fn_use_yield_and_return
_yield_checks: dict[int, tuple] = {}  # id(function) -> (weak reference to it, its stamp, the answer)


def check_fn_use_yield_and_return(fn):
    """Beam's answer to whether a process method both yields and returns (ParDo warns then),
    read from the method's source (inspect.getsourcelines, tokenized) for each of the ~440
    ParDos of a run (~0.08 CPU-s); kept per function while its code, defaults and attributes
    are the same objects, as ``get_function_args_defaults``."""
    f = fn.__func__ if type(fn) is types.MethodType else fn
    if type(f) is not types.FunctionType:
        return _original_yield_check(fn)
    key, stamp = id(f), _stamp(f)
    hit = _yield_checks.get(key)
    if hit is not None and hit[0]() is f and _kept(hit[1], stamp):
        return hit[2]
    answer = _original_yield_check(fn)
    try:
        ref = weakref.ref(f, lambda _, key=key, memo=_yield_checks: memo.pop(key, None))
    except TypeError:
        return answer
    _yield_checks[key] = (ref, _held(stamp), answer)
    return answer


class _Bz2:
    """What Beam's pickler asks of the bz2 module, remembered by the bytes given. Beam
    compresses every pickled DoFn, coder and window function it puts in the pipeline proto
    (bz2, level 9: ~0.2 ms each, however small) and decompresses each where a bundle unpickles
    it: ~1,600 and ~2,000 times a small run, of ~390 distinct pickles (Beam's own DoFns and
    coders, the same stage's DoFn in every bundle), ~0.4 of its ~2.4 CPU-s; a second run in the
    process brings ~20 new ones. Compression is a function of the bytes and the level, so the
    proto's bytes are the same. A pickle over 1 MB is not kept (nor its compressed bytes); the memo is emptied past 64 MB."""

    LIMIT, ITEM = 64 << 20, 1 << 20

    def __init__(self):
        self._done: dict = {}
        self._bytes = 0

    def _remember(self, key, value) -> None:
        if len(key[1]) > self.ITEM or len(value) > self.ITEM:  # either side: 8 MB of zeros compress to ~50 bytes
            return
        if self._bytes > self.LIMIT:
            self._done.clear()
            self._bytes = 0
        self._done[key] = value
        self._bytes += len(key[1]) + len(value)

    def compress(self, data, compresslevel=9):
        key = ("c", bytes(data), compresslevel)
        got = self._done.get(key)
        if got is None:
            got = bz2.compress(data, compresslevel)
            self._remember(key, got)
        return got

    def decompress(self, data):
        key = ("d", bytes(data))
        got = self._done.get(key)
        if got is None:
            got = bz2.decompress(data)
            self._remember(key, got)
        return got


def install() -> None:
    """Beam's own callers (is_stateful_dofn, validate_stateful_dofn, ParDo's translation) look
    the function up in the userstate module at each call; views are asked of the class; a
    method's arguments are looked up in the core module (MethodWrapper, CallableWrapperDoFn)."""
    userstate.get_dofn_specs = get_dofn_specs
    PipelineOptions.view_as = view_as
    if apache_beam.__version__.startswith("2.77."):
        core.get_function_args_defaults = get_function_args_defaults
        core._check_fn_use_yield_and_return = check_fn_use_yield_and_return  # looked up by ParDo.__init__ at each call
        if cloudpickle_pickler.bz2 is bz2:  # its dumps and loads call bz2.compress(s, compresslevel=9) and bz2.decompress
            cloudpickle_pickler.bz2 = _Bz2()
