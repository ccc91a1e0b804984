"""Stripe's landing tables (natural keys, idempotent upserts)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.tables import Base


class StripeCheckoutSession(Base):
    __tablename__ = "raw_stripe_checkout_sessions"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Stripe account (acct_…, or "demo")
    session_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String(16))
    payment_status: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    amount_total: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    product_id: Mapped[str] = mapped_column(String(100))
    product_name: Mapped[str] = mapped_column(Text)
    customer_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    payment_intent: Mapped[str] = mapped_column(String(100), server_default="", index=True)

class StripeSubscription(Base):
    """A subscription as last read: its start and (churn) its cancellation."""

    __tablename__ = "raw_stripe_subscriptions"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String(24))
    customer: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    interval: Mapped[str] = mapped_column(String(8))
    canceled_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True, index=True)  # churn of a window

class StripeRefund(Base):
    """A refund as last read, dated by its creation; its payment intent names the checkout it undoes."""

    __tablename__ = "raw_stripe_refunds"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    refund_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    payment_intent: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(64))

class StripePaymentIntent(Base):
    """A payment attempt as last read, dated by its creation; a checkout session names it (`payment_intent`)."""

    __tablename__ = "raw_stripe_payment_intents"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    amount_received: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    customer: Mapped[str] = mapped_column(String(100))
    failure_code: Mapped[str] = mapped_column(String(64))
    decline_code: Mapped[str] = mapped_column(String(64))
    canceled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
