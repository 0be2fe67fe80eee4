"""End-to-end runs from a frozen config to a run folder, with checkpoint and resume."""

from wavebp.experiments._runfolder import GracefulInterrupt, Report, RunFolder, to_jsonable

__all__ = ["GracefulInterrupt", "Report", "RunFolder", "to_jsonable"]
