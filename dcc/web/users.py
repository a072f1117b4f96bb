"""Admin page for staff accounts (``/admin/users``): add, set a password, deactivate and
activate, and each user's API tokens (issue one, shown once; revoke one or all).

Every action is a CSRF-protected POST calling :mod:`dcc.users.accounts`, as ``dcc users`` and
``dcc tokens`` do, and lands in the audit log with the admin as its actor.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from dcc.config import get_settings
from dcc.db import get_session
from dcc.errors import DCCError
from dcc.users import accounts
from dcc.users import service as users
from dcc.users.models import Role, User
from dcc.users.passwords import MIN_LENGTH
from dcc.web.common import me, roles
from dcc.web.forms import PasswordForm, TokenForm, UserForm
from dcc.web.messages import say

bp = Blueprint("web_users", __name__, url_prefix="/admin/users")


def _message(error: DCCError) -> str:
    """The refusal in the admin's language, by its code."""
    return say(error)


def _refused(error: DCCError, back: str) -> Response:
    """Undo the request's writes, say why in the admin's language, go back."""
    get_session().rollback()
    flash(_message(error), "error")
    return redirect(back)


def _user_or_404(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _form_errors(form: UserForm | PasswordForm | TokenForm) -> None:
    for field_errors in form.errors.values():
        for message in field_errors:
            flash(str(message), "error")


@bp.get("")
@roles(Role.ADMIN)
def index() -> str:
    session = get_session()
    return render_template(
        "web/admin_users.html",
        rows=accounts.list_users(session),
        tokens=accounts.live_token_counts(session),
        form=UserForm(formdata=None, role="dcc_agent"),
        password_form=PasswordForm(formdata=None),
        min_length=MIN_LENGTH,
    )


@bp.post("")
@roles(Role.ADMIN)
def create() -> Response:
    back = url_for("web_users.index")
    form = UserForm()
    if not form.validate():
        _form_errors(form)
        return redirect(back)
    try:
        user = accounts.create(
            get_session(),
            actor=me(),
            login=form.login.data or "",
            role=form.role.data or "",
            name=(form.name.data or "").strip() or None,
            password=form.password.data or "",
            phone=(form.phone.data or "").strip() or None,
            team=(form.team.data or "").strip() or None,
            region=get_settings().default_region,
        )
    except DCCError as error:
        return _refused(error, back)
    flash(_("User %(login)s added.", login=user.login), "info")
    return redirect(back)


@bp.post("/<int:user_id>/password")
@roles(Role.ADMIN)
def set_password(user_id: int) -> Response:
    back = url_for("web_users.index")
    user = _user_or_404(user_id)
    form = PasswordForm()
    if not form.validate():
        _form_errors(form)
        return redirect(back)
    try:
        accounts.set_password(get_session(), user, form.password.data or "", actor=me())
    except DCCError as error:
        return _refused(error, back)
    flash(_("Password of %(login)s changed; its sessions have ended.", login=user.login), "info")
    return redirect(back)


@bp.post("/<int:user_id>/deactivate")
@roles(Role.ADMIN)
def deactivate(user_id: int) -> Response:
    back = url_for("web_users.index")
    user = _user_or_404(user_id)
    try:
        revoked = accounts.deactivate(get_session(), user, actor=me())
    except DCCError as error:
        return _refused(error, back)
    flash(
        _(
            "%(login)s deactivated: signed out everywhere, %(count)s token(s) revoked.",
            login=user.login,
            count=revoked,
        ),
        "info",
    )
    return redirect(back)


@bp.post("/<int:user_id>/activate")
@roles(Role.ADMIN)
def activate(user_id: int) -> Response:
    user = _user_or_404(user_id)
    accounts.activate(get_session(), user, actor=me())
    flash(_("%(login)s may log in again.", login=user.login), "info")
    return redirect(url_for("web_users.index"))


def _tokens_page(user: User, *, shown_token: str | None = None) -> str:
    return render_template(
        "web/admin_user_tokens.html",
        user=user,
        tokens=users.tokens_of(get_session(), user),
        form=TokenForm(formdata=None),
        shown_token=shown_token,
    )


@bp.get("/<int:user_id>/tokens")
@roles(Role.ADMIN)
def tokens(user_id: int) -> str:
    return _tokens_page(_user_or_404(user_id))


@bp.post("/<int:user_id>/tokens")
@roles(Role.ADMIN)
def issue_token(user_id: int) -> str | Response:
    """A new token, on the answer and never again."""
    user = _user_or_404(user_id)
    back = url_for("web_users.tokens", user_id=user_id)
    form = TokenForm()
    if not form.validate():
        _form_errors(form)
        return redirect(back)
    try:
        token = accounts.issue_token(
            get_session(), user, actor=me(), name=(form.name.data or "").strip()
        )
    except DCCError as error:
        return _refused(error, back)
    return _tokens_page(user, shown_token=token)


@bp.post("/<int:user_id>/tokens/revoke")
@roles(Role.ADMIN)
def revoke_all(user_id: int) -> Response:
    user = _user_or_404(user_id)
    revoked = accounts.revoke_tokens(get_session(), user, actor=me())
    flash(_("%(count)s token(s) of %(login)s revoked.", count=revoked, login=user.login), "info")
    return redirect(url_for("web_users.tokens", user_id=user_id))


@bp.post("/<int:user_id>/tokens/<int:token_id>/revoke")
@roles(Role.ADMIN)
def revoke_one(user_id: int, token_id: int) -> Response:
    user = _user_or_404(user_id)
    back = url_for("web_users.tokens", user_id=user_id)
    try:
        accounts.revoke_tokens(get_session(), user, actor=me(), token_id=token_id)
    except DCCError as error:
        return _refused(error, back)
    flash(_("Token %(id)s of %(login)s revoked.", id=token_id, login=user.login), "info")
    return redirect(back)
