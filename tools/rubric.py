"""The rubric: performance dimensions with descriptions, level descriptors and evidence signals."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from perfagent.errors import BadInputError

DEFAULT_RUBRIC_PATH = Path(__file__).with_name("rubric.yaml")


class Signals(BaseModel):
    model_config = ConfigDict(extra="forbid")
    positive: list[str] = Field(min_length=1)
    negative: list[str] = Field(min_length=1)


class Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    levels: dict[int, str]
    signals: Signals
    # Concrete next steps a draft may suggest when this dimension is among the lowest scored.
    advice: list[str] = Field(default_factory=list)


class Scale(BaseModel):
    min: int = 1
    max: int = 5


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    scale: Scale
    dimensions: dict[str, Dimension]

    @model_validator(mode="before")
    @classmethod
    def _name_dimensions(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("dimensions"), dict):
            data = dict(data)
            data["dimensions"] = {
                name: {"name": name, **body} if isinstance(body, dict) else body
                for name, body in data["dimensions"].items()
            }
        return data

    @model_validator(mode="after")
    def _levels_cover_scale(self) -> Rubric:
        expected = set(range(self.scale.min, self.scale.max + 1))
        for dim in self.dimensions.values():
            if set(dim.levels) != expected:
                raise ValueError(f"dimension {dim.name}: levels must be exactly {sorted(expected)}")
        if not self.dimensions:
            raise ValueError("a rubric needs at least one dimension")
        return self

    @property
    def names(self) -> list[str]:
        return list(self.dimensions)

    def select(self, names: list[str] | None) -> list[Dimension]:
        if not names:
            return list(self.dimensions.values())
        unknown = [n for n in names if n not in self.dimensions]
        if unknown:
            raise BadInputError(
                f"unknown dimension '{unknown[0]}' (one of {', '.join(self.dimensions)})"
            )
        return [self.dimensions[n] for n in names]


def load_rubric(path: Path | None = None) -> Rubric:
    source = path or DEFAULT_RUBRIC_PATH
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BadInputError(f"{source}: cannot read the rubric ({exc.__class__.__name__})") from exc
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInputError(f"{source}: invalid rubric at {where}: {first['msg']}") from None
