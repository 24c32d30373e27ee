"""Errors for bad input data: each names the file, the line or record, and the field."""

from pathlib import Path
from typing import Optional, Union


class XlieDataError(ValueError):
    """A malformed input record. The message reads ``FILE:LINE: field: what is wrong``."""

    def __init__(
        self,
        message: str,
        path: Union[str, Path, None] = None,
        line: Optional[int] = None,
        field: Optional[str] = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.reason = message
        where = self.path or "<input>"
        if line is not None:
            where += f":{line}"
        prefix = f"{where}: " + (f"{field}: " if field else "")
        super().__init__(prefix + message)
