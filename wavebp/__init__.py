"""wavebp: neural networks as wave-propagation hardware, trained by physical backpropagation.

Layers (imports go only downwards): ``_core`` < ``simulators`` < ``devices`` <
``photonic``, ``acoustic`` < ``analysis`` < ``experiments`` < ``cli``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
