"""Sentences the tasks API shows when a task request is refused."""

from __future__ import annotations

from bot.i18n import N_
from crm_core.tasks.service import TaskProblem

TASK_NOT_FOUND = N_("There is no task with this number, or it belongs to another store.")
PROBLEMS = {
    TaskProblem.CUSTOMER_NOT_FOUND: N_("There is no customer with this number."),
    TaskProblem.STORE_NOT_FOUND: N_("There is no store with this number."),
    TaskProblem.PURCHASE_NOT_FOUND: N_("There is no purchase with this number."),
    TaskProblem.PURCHASE_OTHER_CUSTOMER: N_(
        "This purchase belongs to another customer than the one given."
    ),
    TaskProblem.PURCHASE_OTHER_STORE: N_(
        "This purchase was made in another store than the one given."
    ),
    TaskProblem.STORE_NEEDED: N_("A task for store managers needs a store."),
    TaskProblem.OTHER_STORE: N_("Your key may only see and create tasks of its own store."),
    TaskProblem.BAD_TRANSITION: N_(
        "A done or dismissed task can only be reopened; reopen it first to close it another way."
    ),
}
