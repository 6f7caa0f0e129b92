"""Suite specs (suite.yaml) and validated items; see docs/formats.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Task = Literal["generate", "multiple_choice"]
ScorerRef = str | dict[str, dict[str, Any]]


class DataSource(BaseModel):
    """Where a subset's items come from: a local file (relative to suite.yaml) or a Hub id."""

    model_config = ConfigDict(extra="forbid")
    path: str | None = None
    hub: str | None = None
    config: str | None = None
    split: str = "train"

    @model_validator(mode="after")
    def _one_source(self) -> DataSource:
        if (self.path is None) == (self.hub is None):
            raise ValueError("give exactly one of 'path' or 'hub'")
        return self


class SubsetSpec(BaseModel):
    """One part of a suite with its own task type, data, template and scorers."""

    model_config = ConfigDict(extra="forbid")
    name: str = "main"
    task: Task
    data: DataSource
    adapter: str | None = None
    template: str = "{prompt}"
    scorers: list[ScorerRef] = Field(default_factory=list)
    max_new_tokens: int = Field(default=256, ge=1, le=8192)
    followup: str | None = None
    system_prompt: str | None = None
    stop: list[str] = Field(default_factory=list)  # generate: cut each response at the first of these
    n_samples: int = Field(default=1, ge=1, le=1000)  # generate: responses per item (pass@k; temperature > 0)

    @field_validator("scorers")
    @classmethod
    def _scorer_shape(cls, v: list[ScorerRef]) -> list[ScorerRef]:
        for s in v:
            if isinstance(s, dict) and (len(s) != 1 or not isinstance(next(iter(s.values())), dict)):
                raise ValueError("each scorer is a name or {name: {option: value}}")
        return v

    @model_validator(mode="after")
    def _followup_mc(self) -> SubsetSpec:
        if self.followup and self.task != "multiple_choice":
            raise ValueError("'followup' applies to multiple_choice subsets only")
        return self


class SuiteSpec(BaseModel):
    """A suite.yaml: name, version, categories and one or more subsets."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: str
    description: str = ""
    categories: list[str] = Field(default_factory=list)
    subsets: list[SubsetSpec]

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v

    @model_validator(mode="before")
    @classmethod
    def _single_subset(cls, data: Any) -> Any:
        """A one-subset suite may put task/data/template/scorers at the top level."""
        if isinstance(data, dict) and "subsets" not in data:
            keys = set(SubsetSpec.model_fields) - {"name"}
            sub = {k: data[k] for k in list(data) if k in keys}
            rest = {k: v for k, v in data.items() if k not in keys}
            rest["subsets"] = [sub]
            return rest
        return data

    @model_validator(mode="after")
    def _unique_subsets(self) -> SuiteSpec:
        names = [s.name for s in self.subsets]
        if len(set(names)) != len(names):
            raise ValueError(f"subset names must be unique, got {names}")
        return self


@dataclass
class Item:
    """A validated item, ready to render: the user text is ``prompt`` after the template."""

    id: str
    prompt: str
    category: str
    subset: str
    task: Task
    choices: list[str] | None = None
    gold: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suite:
    """A loaded suite: its spec, items (in file order) and a content hash."""

    spec: SuiteSpec
    items: list[Item]
    hash: str
    source: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    def subset(self, name: str) -> SubsetSpec:
        return next(s for s in self.spec.subsets if s.name == name)
