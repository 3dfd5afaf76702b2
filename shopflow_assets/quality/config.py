"""The quality configuration users edit: rule severities, actions and thresholds (rules.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_RULES_FILE = Path(__file__).with_name("rules.yaml")

Severity = Literal["critical", "high", "medium", "low"]
Action = Literal["reject", "flag"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class RuleSetting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    severity: Severity
    action: Action
    threshold: float | None = Field(
        default=None, ge=0, le=1, description="overrides the severity's threshold"
    )


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    thresholds: dict[Severity, float] = Field(description="max failing share per severity")
    min_quality_score: float = Field(ge=0, le=1)
    tables: dict[str, dict[str, RuleSetting]]

    @model_validator(mode="after")
    def _every_severity_has_a_threshold(self) -> QualityConfig:
        missing = set(SEVERITY_ORDER) - set(self.thresholds)
        if missing:
            raise ValueError(f"thresholds missing for: {', '.join(sorted(missing))}")
        return self

    def rules(self, table: str) -> dict[str, RuleSetting]:
        try:
            return self.tables[table]
        except KeyError:
            raise KeyError(f"rules.yaml has no rules for table {table!r}") from None

    def threshold(self, rule: RuleSetting) -> float:
        """The failing share above which the rule is breached (for a critical rule: blocks downstream)."""
        return rule.threshold if rule.threshold is not None else self.thresholds[rule.severity]


class QualityConfigError(ValueError):
    """rules.yaml is missing, unreadable or inconsistent with the contracts."""


def load_quality_config(path: Path | None = None) -> QualityConfig:
    path = path or DEFAULT_RULES_FILE
    try:
        raw = yaml.safe_load(path.read_text())
        return QualityConfig.model_validate(raw)
    except FileNotFoundError:
        raise QualityConfigError(f"quality rules file not found: {path}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise QualityConfigError(f"invalid quality rules file {path}: {exc}") from None
