"""One name for one idea: the registry aliases, the default model name and the data schema."""

from __future__ import annotations

# MLflow registry aliases (never the deprecated stages).
CHAMPION = "champion"
CHALLENGER = "challenger"

DEFAULT_METRIC = "roc_auc"
METRICS = ("roc_auc", "accuracy", "f1", "log_loss")
# Metrics where a lower value is better (the policy flips the comparison for them).
LOWER_IS_BETTER = frozenset({"log_loss"})

# Schema of the demo data (derived from scikit-learn's bundled breast-cancer set).
ID_COLUMN = "record_id"
LABEL = "malignant"
NUMERIC_FEATURES = (
    "mean_radius",
    "mean_texture",
    "mean_perimeter",
    "mean_area",
    "mean_smoothness",
    "mean_compactness",
    "mean_concavity",
    "mean_concave_points",
    "mean_symmetry",
    "mean_fractal_dimension",
)
CATEGORICAL_FEATURES = ("clinic", "size_band")
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES
CATEGORY_VALUES = {
    "clinic": ("north", "south", "east", "west"),
    "size_band": ("small", "medium", "large"),
}

# Artifact path (inside the training run) of the reference statistics the drift monitor reads.
REFERENCE_ARTIFACT = "reference/reference_stats.json"
