"""Fitted churn models and each customer's latest predictions from one of them."""

from __future__ import annotations

from tortoise import fields, models


class ChurnModel(models.Model):
    """One nightly fit: the parameters every prediction of that night was computed from (a
    purchase during the day re-scores its customer with the latest of these)."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=32)
    parameters = fields.JSONField()
    log_likelihood = fields.FloatField()
    customers = fields.IntField()
    fitted_at = fields.DatetimeField()

    class Meta:
        table = "churn_models"


class CustomerPrediction(models.Model):
    """What the model expects of one customer, as of `scored_at` (README: Predictions)."""

    id = fields.BigIntField(primary_key=True)
    customer = fields.OneToOneField(
        "models.Customer", related_name="prediction", on_delete=fields.CASCADE
    )
    model = fields.ForeignKeyField(
        "models.ChurnModel", related_name="predictions", on_delete=fields.CASCADE
    )
    p_alive = fields.FloatField()
    expected_30 = fields.FloatField()
    expected_90 = fields.FloatField()
    churn_risk = fields.FloatField()
    next_purchase_at = fields.DatetimeField(null=True)
    value_90_minor = fields.BigIntField()
    scored_at = fields.DatetimeField()

    class Meta:
        table = "customer_predictions"
