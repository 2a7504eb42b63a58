"""Configuration of input/output screening (owned by the screen package)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class InjectionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["block", "flag", "shadow", "off"] = "block"


class ScreeningSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    injection: InjectionPolicy = InjectionPolicy()
