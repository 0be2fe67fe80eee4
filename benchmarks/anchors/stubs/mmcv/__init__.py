"""Stand-in for mmcv (see stubs/_anystub.py): imported by torchonn, never used by W1."""

from _anystub import install

install(__name__, globals())
