"""The shipped default model's settings, in one place: ``videoclf train``'s defaults, the studies'
starting point and what ``models/default`` was trained with (its bundle records them).

Each value was chosen by measurement (docs/model-selection/): selection.json (frames, multi-scale,
size, TTA), robustness.json (pixel-augmented copies), mean_pool.json (the mean path beside
attention pooling), source_cv.json (class and source balance), geometry.json (frame geometry); the
last two judged on sources held out of training.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from app.temporal.model import TemporalConfig
from app.training.member import TrainConfig


@dataclass(frozen=True)
class ModelSettings:
    backbone: str = "efficientnet_lite0"
    geometry: str = "letterbox"
    max_frames: int = 73
    scales: tuple[float, ...] = (1.0,)
    hidden: int = 128
    lstm_layers: int = 1
    heads: int = 2
    dropout: float = 0.3
    mean_pool: bool = True
    augment_copies: int = 0
    balance: str = "source"
    source_power: float = 0.0
    members: int = 4
    calibration_folds: int = 4  # source-held-out CV folds for the temperature and the uncertain rule
    calibration_seeds: int = 1  # members per CV fold (1: the CV costs as much as the members themselves)

    def temporal(self, input_dim: int, num_classes: int) -> TemporalConfig:
        return TemporalConfig(input_dim=input_dim, num_classes=num_classes, hidden_dim=self.hidden,
                              lstm_layers=self.lstm_layers, heads=self.heads, dropout=self.dropout,
                              mean_pool=self.mean_pool)

    def train_config(self, **overrides) -> TrainConfig:
        return TrainConfig(balance=self.balance, source_power=self.source_power, **overrides)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["scales"] = list(self.scales)
        return d


DEFAULT_MODEL = ModelSettings()
