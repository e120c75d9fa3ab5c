"""redes.train: fit / evaluate / predict, metrics, callbacks, and training from a table."""
from . import callbacks, metrics
from .callbacks import Callback, CSVLogger, EarlyStopping, LRSchedulerCallback, ModelCheckpoint
from .loop import History, Trainer, evaluate, fit, get_loss, get_optimizer, predict
from .metrics import F1, MAE, R2, RMSE, Accuracy, Metric, TopKAccuracy
from .tabular import fit_table, mlp, report_metrics

__all__ = ["callbacks", "metrics", "Callback", "CSVLogger", "EarlyStopping", "LRSchedulerCallback",
           "ModelCheckpoint", "History", "Trainer", "evaluate", "fit", "get_loss", "get_optimizer", "predict",
           "F1", "MAE", "R2", "RMSE", "Accuracy", "Metric", "TopKAccuracy", "fit_table", "mlp", "report_metrics"]
