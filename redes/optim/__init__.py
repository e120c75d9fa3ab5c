"""redes.optim: optimizers and learning-rate schedulers, as torch.optim.

    opt = rd.optim.AdamW(model.parameters(), lr=1e-3)
    sched = rd.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=1000)
    for x, y in loader:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        sched.step()

Each optimizer class checks its hyperparameters and keeps the state; the math is a pure function on
arrays (sgd_update, adam_update, rmsprop_update, ...) that users can call on their own arrays. LBFGS is the
exception: it needs the whole loss (a closure) and works on all parameters as one vector.
"""
from . import lr_scheduler
from .adadelta import Adadelta, adadelta_update
from .adafactor import Adafactor, adafactor_update
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, adam_update
from .adamax import Adamax, adamax_update
from .asgd import ASGD, asgd_update
from .lbfgs import LBFGS
from .nadam import NAdam, nadam_update
from .radam import RAdam, radam_update
from .rprop import Rprop, rprop_update
from .optimizer import Optimizer, required
from .rmsprop import RMSprop, rmsprop_update
from .sgd import SGD, sgd_update

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD",
           "Rprop", "LBFGS", "Adafactor", "lr_scheduler", "required", "sgd_update", "adam_update", "rmsprop_update",
           "adagrad_update", "adadelta_update", "adamax_update", "nadam_update", "radam_update", "asgd_update",
           "rprop_update", "adafactor_update"]
