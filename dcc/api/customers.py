"""``/api/v1/customers``: look a customer up by any phone format; merge (managers).

A customer is found only by those who see one of its leads (:mod:`dcc.access`)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from dcc import access, phones
from dcc.api import serialize
from dcc.api.auth import authenticate_request, current_user
from dcc.api.blueprint import Blueprint
from dcc.api.schemas import CustomerOut, Merge, PhoneQuery
from dcc.config import get_settings
from dcc.customers import service as customers
from dcc.db import get_session
from dcc.errors import NotFound

blp = Blueprint("customers", __name__, url_prefix="/customers", description="Customers")
blp.before_request(authenticate_request)


@blp.route("")
class CustomerLookup(MethodView):
    @blp.arguments(PhoneQuery, location="query")
    @blp.response(200, CustomerOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The customer a phone number identifies, in any format, with the leads you may see."""
        session, user = get_session(), current_user()
        e164 = phones.normalize(query["phone"], get_settings().default_region)
        customer = customers.find_by_phone(session, e164)
        if customer is None or not access.may_see_customer(session, user, customer.id):
            # Nothing is told of a customer the reader does not work with.
            raise NotFound("customer.no_such_phone", field="phone")
        return serialize.customer(session, customer, user)


@blp.route("/<int:customer_id>/merge")
class CustomerMerge(MethodView):
    @blp.arguments(Merge)
    @blp.response(200, CustomerOut)
    def post(self, body: dict[str, Any], customer_id: int) -> dict[str, Any]:
        """Merge the given customers into this one (non-fleet customers without orders)."""
        session, user = get_session(), current_user()
        access.require(user, access.MANAGING)
        survivor = access.get_visible_customer(session, user, customer_id)
        duplicates = access.get_visible_customers(session, user, body["customer_ids"])
        customers.merge(session, survivor, duplicates, actor=user)
        return serialize.customer(session, survivor, user)
