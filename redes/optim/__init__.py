"""redes.optim: optimizers and learning-rate schedulers, as torch.optim.

    opt = rd.optim.AdamW(model.parameters(), lr=1e-3)
    sched = rd.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=1000)
    for x, y in loader:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        sched.step()

Each optimizer class checks its hyperparameters and keeps the state; the math is a pure function on
arrays (sgd_update, adam_update, rmsprop_update, adagrad_update) that users can call on their own arrays.
"""
from . import lr_scheduler
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, adam_update
from .optimizer import Optimizer, required
from .rmsprop import RMSprop, rmsprop_update
from .sgd import SGD, sgd_update

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler", "required",
           "sgd_update", "adam_update", "rmsprop_update", "adagrad_update"]
