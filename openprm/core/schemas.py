"""Input types shared by API schemas: bounded, NUL-free strings, so bad input is a 422, never a 500."""

from __future__ import annotations

from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
"""Use as ``Annotated[str, StringConstraints(max_length=n), NoNul]`` where a length alias is missing."""


def Text(max_length: int, min_length: int = 0) -> object:
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=max_length, min_length=min_length),
        AfterValidator(_no_nul),
    ]


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_nul)
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(_no_nul)]
Long = Annotated[str, StringConstraints(max_length=20000), AfterValidator(_no_nul)]


class ErrorItem(Schema):
    field: str
    code: str
    message: str


class ErrorOut(Schema):
    """Every error: a stable `code`, a message, and for input errors the offending `field`."""

    code: str
    message: str
    field: str | None = None
    errors: list[ErrorItem] = []
