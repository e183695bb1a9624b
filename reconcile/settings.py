"""Settings of one reconciliation run (built by flows from the config; reconcile never reads the config itself)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReconcileSettings:
    """Thresholds and insurer vocabulary that drive linking, comparison and filtering."""

    stale_days: int = 90
    link_threshold: float = 0.82
    min_confidence: float = 0.5
    insurer_aliases: dict[str, list[str]] = field(default_factory=dict)
    known_insurers: tuple[str, ...] = ()
    threads: int = 2

    def __post_init__(self) -> None:
        """Reject nonsensical thresholds early with a one-line message."""
        if self.stale_days < 1:
            raise ValueError(f"stale_days must be >= 1, got {self.stale_days}")
        for name in ("link_threshold", "min_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")

    @classmethod
    def from_config(cls, reconcile_config: object, insurers: list[str] | tuple[str, ...] = ()) -> "ReconcileSettings":
        """Build settings from a crawlers.config.ReconcileConfig-like object (duck-typed: reconcile must not import crawlers)."""
        aliases = dict(getattr(reconcile_config, "insurer_aliases", {}) or {})
        known = tuple(dict.fromkeys([*insurers, *aliases.keys()]))
        return cls(
            stale_days=int(getattr(reconcile_config, "stale_days", 90)),
            link_threshold=float(getattr(reconcile_config, "link_threshold", 0.82)),
            min_confidence=float(getattr(reconcile_config, "min_confidence", 0.5)),
            insurer_aliases={k: list(v) for k, v in aliases.items()},
            known_insurers=known,
        )
