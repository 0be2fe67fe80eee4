"""Physical components: couplers, phase shifters, MZIs, loss, detectors, fabrication errors."""

from wavebp.devices._mzi import coupler, mzi, split_coupler_error

__all__ = ["coupler", "mzi", "split_coupler_error"]
