"""Orders and owned vehicles for integrators (a dealer's DMS): record an order on a lead,
deliver it, cancel it, and list a customer's vehicles. The same roles as the lead page."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask.views import MethodView

from dcc import access
from dcc.api.auth import authenticate_request, current_user
from dcc.api.blueprint import Blueprint
from dcc.api.schemas import DeliveryIn, OrderCancel, OrderCreate, OrderOut, VehicleOut
from dcc.config import get_settings
from dcc.db import get_session
from dcc.sales import orders
from dcc.sales.models import Order

blp = Blueprint("orders", __name__, url_prefix="", description="Orders and vehicles")
blp.before_request(authenticate_request)


def order_body(order: Order) -> dict[str, Any]:
    """An order as the API answers it (money in yuan)."""
    return {
        "order_id": order.id,
        "lead_id": order.lead_id,
        "customer_id": order.customer_id,
        "status": order.status.value,
        **{
            name: getattr(order, name)
            for name in (
                "vin",
                "brand",
                "series",
                "model",
                "configuration",
                "delivery_due",
                "ordered_at",
                "delivered_at",
                "canceled_at",
                "cancel_reason",
            )
        },
        "price": order.price_fen / 100 if order.price_fen is not None else None,
        "deposit": order.deposit_fen / 100 if order.deposit_fen is not None else None,
    }


@blp.route("/leads/<int:lead_id>/orders")
class LeadOrders(MethodView):
    @blp.arguments(OrderCreate)
    @blp.response(201, OrderOut)
    def post(self, body: dict[str, Any], lead_id: int) -> dict[str, Any]:
        """Record a sales order on an arrived lead: the lead becomes O / ordered."""
        session, user = get_session(), current_user()
        access.require(user, access.ORDER_TAKERS, "order.consultant_or_manager")
        lead = access.get_visible_lead(session, user, lead_id)
        order = orders.place(
            session, lead, orders.OrderInput(**body), actor=user, timezone=get_settings().timezone
        )
        return order_body(order)


@blp.route("/orders/<int:order_id>/delivery")
class OrderDelivery(MethodView):
    @blp.arguments(DeliveryIn)
    @blp.response(200, OrderOut)
    def post(self, body: dict[str, Any], order_id: int) -> dict[str, Any]:
        """The car was handed over: the lead is delivered, the customer owns the vehicle."""
        session, user = get_session(), current_user()
        access.require(user, access.ORDER_TAKERS, "order.consultant_or_manager")
        order = access.get_visible_order(session, user, order_id)
        when: dt.datetime | None = body.get("delivered_at")
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(get_settings().timezone))
        orders.deliver(session, order, actor=user, delivered_at=when)
        return order_body(order)


@blp.route("/orders/<int:order_id>/cancel")
class OrderCancelView(MethodView):
    @blp.arguments(OrderCancel)
    @blp.response(200, OrderOut)
    def post(self, body: dict[str, Any], order_id: int) -> dict[str, Any]:
        """Cancel an open order with its reason; the lead goes back to follow-up."""
        session, user = get_session(), current_user()
        access.require(user, access.ORDER_TAKERS, "order.consultant_or_manager")
        order = access.get_visible_order(session, user, order_id)
        orders.cancel(session, order, actor=user, reason=body["reason"])
        return order_body(order)


@blp.route("/customers/<int:customer_id>/vehicles")
class CustomerVehicles(MethodView):
    @blp.response(200, VehicleOut(many=True))
    def get(self, customer_id: int) -> list[Any]:
        """The vehicles the customer owns from deliveries here, newest first."""
        session, user = get_session(), current_user()
        customer = access.get_visible_customer(session, user, customer_id)
        return list(orders.vehicles(session, customer.id))
