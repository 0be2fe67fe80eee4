"""Permissive stand-in packages for heavy imports an anchor never uses in the benchmark.

torchonn 0.0.8 imports ``mmcv`` (needs a compiler and CUDA headers to build) and, through
torchonn-pyutils, ``torchvision`` (the PyPI wheel is a CUDA build whose operators fail to
register against the CPU torch 2.13.0: ``operator torchvision::nms does not exist``). Neither
is used by the MZI layer timed here. A package ``X`` in this folder whose ``__init__`` calls
``install(__name__, globals())`` becomes a module where every attribute, and every submodule,
is a dummy class; calling a dummy does nothing. Used at install time (torchonn's ``setup.py``
imports the package) and at run time (the runner puts this folder on ``sys.path``).
"""

import importlib.abc
import importlib.machinery
import sys
import types


class _Meta(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Meta(name, (_Dummy,), {})


class _Dummy(metaclass=_Meta):
    """Any attribute is another dummy; calling one does nothing."""

    def __init__(self, *args, **kwargs):
        pass


def _module_getattr(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _Meta(name, (_Dummy,), {})


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        mod = types.ModuleType(spec.name)
        mod.__path__ = []
        mod.__getattr__ = _module_getattr
        return mod

    def exec_module(self, module):
        pass


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, prefix):
        self.prefix = prefix + "."

    def find_spec(self, fullname, path, target=None):
        if fullname.startswith(self.prefix):
            return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)
        return None


def install(name, namespace):
    """Make package ``name`` (its ``__init__`` globals ``namespace``) and its submodules stubs."""
    namespace["__getattr__"] = _module_getattr
    namespace.setdefault("__version__", "0.0.0+stub")
    sys.meta_path.insert(0, _Finder(name))
