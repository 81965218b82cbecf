"""Build plan models from values the planner already checked, without re-validating them.

`model_construct` costs ~9 us per object (alias handling for every field); a 35,000-system plan
builds ~250,000 objects. When every field is given (the planner always gives all of them),
`trusted` sets the instance state directly, the way `model_construct` ends up doing; otherwise it
falls back to `model_construct`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from onecloud.census import gc_paused

__all__ = ["gc_paused", "trusted"]

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__


def trusted(cls: type[M], **values: Any) -> M:
    """An instance of `cls` holding `values` (all fields, already valid)."""
    fields = cls.__pydantic_fields__
    if len(values) != len(fields) or cls.__pydantic_post_init__:
        return cls.model_construct(**values)
    m = cls.__new__(cls)
    _set(m, "__dict__", values)
    _set(m, "__pydantic_fields_set__", set(fields))
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m
