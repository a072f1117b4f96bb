"""The 7-step invitation script (DCC 7步邀约成交法): default text, versions, variants, filling in.

Every version holds one wording per kind of call (:data:`VARIANTS`): the screen shows the
variant chosen for the call when the call got its agent (:func:`variant_for`).
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from dcc.callscripts.models import CallScript, Offer
from dcc.errors import NotFound, ValidationError
from dcc.fields import Text, column_length

INVITATION = "invitation"

#: Placeholders an agent's screen fills in from the lead, the agent and the dealer, each with
#: the words said when the value is not known (never a dash).
UNKNOWN: dict[str, str] = {
    "customer_name": "",
    "model": "您关注的车型",
    "agent_name": "顾问",
    "dealer_name": "我们店",
    "consultant_name": "我们的销售顾问",
    "visit_time_1": "您方便的时间",
    "visit_time_2": "另一个您方便的时间",
    "source": "网上",
    "appointment_time": "约好的时间",
    "offer": "店里近期的优惠活动",
    "city": "您所在的城市",
}
PLACEHOLDERS = tuple(UNKNOWN)

#: The kinds of call a script version words differently, in the order the editor lists them.
INBOUND_FIRST = "inbound_first"
INBOUND_KNOWN = "inbound_known"
NEW_LEAD = "new_lead"
FOLLOW_UP = "follow_up"
INVITATION_CALL = "invitation"
CONFIRMATION = "confirmation"
NO_SHOW = "no_show"
REPURCHASE = "repurchase"
VARIANTS = (
    INBOUND_FIRST,
    INBOUND_KNOWN,
    NEW_LEAD,
    FOLLOW_UP,
    INVITATION_CALL,
    CONFIRMATION,
    NO_SHOW,
    REPURCHASE,
)

DEFAULT_STEPS: list[dict[str, str]] = [
    {
        "title": "准备",
        "text": "拨打前查看：线索来源{source}，意向车型{model}，历史跟进记录。",
    },
    {
        "title": "问候/自报家门",
        "text": "{customer_name}您好！我是{dealer_name}的{agent_name}，您在{source}咨询过"
        "{model}，现在方便占用您两分钟吗？本次通话可能会被录音。",
    },
    {
        "title": "需求探询",
        "text": "请问您主要关注{model}的哪些方面？预算大概多少？打算什么时候购车？"
        "考虑全款还是贷款？有没有旧车需要置换？",
    },
    {
        "title": "邀约理由",
        "text": "{model}现在店里有现车，可以安排试驾；{offer}，旧车也可以免费评估。",
    },
    {
        "title": "邀约",
        "text": "您看是{visit_time_1}方便，还是{visit_time_2}方便？我请销售顾问"
        "{consultant_name}专门为您接待。",
    },
    {
        "title": "异议处理",
        "text": "理解您的顾虑。……（回应后）所以还是建议您到店亲自体验，您看{visit_time_1}可以吗？",
    },
    {
        "title": "确认",
        "text": "和您确认一下：{visit_time_1}，地址是{dealer_name}展厅，由{consultant_name}接待。"
        "稍后会给您发送确认短信，到店前我们也会提醒您。",
    },
]


_VISIT = {
    "title": "邀约",
    "text": "您看是{visit_time_1}方便，还是{visit_time_2}方便？我请销售顾问"
    "{consultant_name}专门为您接待。",
}
_CONFIRM = {
    "title": "确认",
    "text": "和您确认一下：{visit_time_1}，地址是{dealer_name}展厅，由{consultant_name}接待。"
    "稍后会给您发送确认短信，到店前我们也会提醒您。",
}
_NEEDS = {
    "title": "需求探询",
    "text": "请问您贵姓？主要关注{model}的哪些方面？预算大概多少？打算什么时候购车？"
    "在哪个城市用车？有没有旧车需要置换？",
}

#: The built-in wording of every variant; the invitation is :data:`DEFAULT_STEPS`.
DEFAULT_VARIANTS: dict[str, list[dict[str, str]]] = {
    INBOUND_FIRST: [
        {"title": "接听", "text": "您好，{dealer_name}，我是{agent_name}，请问有什么可以帮您？"},
        _NEEDS,
        {"title": "邀约理由", "text": "{model}店里可以安排试驾；{offer}。"},
        _VISIT,
        _CONFIRM,
    ],
    INBOUND_KNOWN: [
        {
            "title": "接听",
            "text": "{customer_name}您好，{dealer_name}，我是{agent_name}。"
            "您之前关注过{model}，今天有什么可以帮您？",
        },
        {"title": "需求确认", "text": "您对{model}还有哪些想了解的？购车时间有变化吗？"},
        {"title": "邀约理由", "text": "{offer}，欢迎来店看看{model}。"},
        _VISIT,
        _CONFIRM,
    ],
    NEW_LEAD: [
        {"title": "准备", "text": "新线索首次联系：来源{source}，意向车型{model}。"},
        {
            "title": "问候/自报家门",
            "text": "{customer_name}您好！我是{dealer_name}的{agent_name}，看到您刚在{source}"
            "咨询了{model}，现在方便占用您两分钟吗？本次通话可能会被录音。",
        },
        _NEEDS,
        {"title": "邀约理由", "text": "{model}现在店里有现车，可以安排试驾；{offer}。"},
        _VISIT,
        _CONFIRM,
    ],
    FOLLOW_UP: [
        {
            "title": "问候",
            "text": "{customer_name}您好！我是{dealer_name}的{agent_name}，"
            "上次和您聊过{model}，想回访一下您的购车进展。",
        },
        {"title": "需求更新", "text": "您现在考虑得怎么样了？购车时间和预算有变化吗？"},
        {"title": "邀约理由", "text": "{offer}，{model}也可以安排试驾。"},
        _VISIT,
        _CONFIRM,
    ],
    CONFIRMATION: [
        {
            "title": "问候",
            "text": "{customer_name}您好！我是{dealer_name}的{agent_name}，"
            "跟您确认一下到店的安排。",
        },
        {
            "title": "确认预约",
            "text": "您约的是{appointment_time}，由销售顾问{consultant_name}接待，"
            "为您准备好{model}试驾，时间还方便吗？",
        },
        {"title": "提醒", "text": "地址是{dealer_name}展厅，到店前我们会再发短信提醒您。"},
    ],
    NO_SHOW: [
        {
            "title": "问候",
            "text": "{customer_name}您好！我是{dealer_name}的{agent_name}，"
            "上次约您来店看{model}，您没来得及过来，想再帮您安排一下。",
        },
        {"title": "了解原因", "text": "是时间不方便吗？我们可以按您的时间来安排。"},
        _VISIT,
        _CONFIRM,
    ],
    REPURCHASE: [
        {
            "title": "问候",
            "text": "{customer_name}您好！我是{dealer_name}的{agent_name}，"
            "感谢您一直以来的支持，想了解一下您有没有增购或换购的打算。",
        },
        {"title": "需求探询", "text": "这次主要考虑{model}吗？老客户换购有专属政策，{offer}。"},
        _VISIT,
        _CONFIRM,
    ],
}


def default_steps(variant: str) -> list[dict[str, str]]:
    return DEFAULT_VARIANTS.get(variant, DEFAULT_STEPS)


def steps_of(script: CallScript, variant: str | None) -> list[dict[str, Any]]:
    """The steps of ``variant`` in this version (its built-in wording when it has none)."""
    if variant is None or variant == INVITATION_CALL:
        return script.steps
    stored = (script.variants or {}).get(variant)
    return stored or default_steps(variant)


#: The newest active version of a script: read for every call placed or answered.
_ACTIVE = (
    select(CallScript)
    .where(CallScript.name == bindparam("name"), CallScript.is_active.is_(True))
    .order_by(CallScript.version.desc())
    .limit(1)
)


def active(session: Session, name: str = INVITATION) -> CallScript | None:
    """The newest active version of the script."""
    return session.scalar(_ACTIVE, {"name": name})


def save_version(
    session: Session,
    steps: list[dict[str, Any]],
    *,
    name: str = INVITATION,
    author_id: int | None = None,
    variant: str = INVITATION_CALL,
) -> CallScript:
    """Store ``steps`` as ``variant`` of the next version (the other variants carried over);
    earlier versions stay for calls that used them."""
    if variant not in VARIANTS:
        raise ValidationError("field.bad_choice", field="variant", choices=", ".join(VARIANTS))
    _check_steps(steps)
    previous = active(session, name)
    main = previous.steps if previous is not None else DEFAULT_STEPS
    variants = dict(previous.variants or {}) if previous is not None else {}
    if variant == INVITATION_CALL:
        main = steps
    else:
        variants[variant] = steps
    latest = session.scalar(select(func.max(CallScript.version)).where(CallScript.name == name))
    session.execute(update(CallScript).where(CallScript.name == name).values(is_active=False))
    script = CallScript(
        name=name,
        version=(latest or 0) + 1,
        steps=main,
        variants=variants,
        created_by_id=author_id,
    )
    session.add(script)
    session.flush()
    return script


def ensure_default(session: Session) -> CallScript:
    return active(session) or save_version(session, DEFAULT_STEPS)


def _check_steps(steps: list[dict[str, Any]]) -> None:
    if not steps:
        raise ValidationError("script.no_steps", field="steps")
    for index, step in enumerate(steps):
        if not str(step.get("title", "")).strip() or not str(step.get("text", "")).strip():
            raise ValidationError("script.step_incomplete", field="steps", step=index + 1)
        for _, placeholder, _, _ in string.Formatter().parse(step["text"]):
            if placeholder is not None and placeholder not in PLACEHOLDERS:
                raise ValidationError(
                    "script.unknown_placeholder",
                    field="steps",
                    step=index + 1,
                    placeholder=placeholder,
                )


def fill(
    script: CallScript, values: Mapping[str, str], variant: str | None = None
) -> list[dict[str, str]]:
    """The steps of ``variant`` with every placeholder replaced; a value not known reads as
    its :data:`UNKNOWN` wording."""

    class _Defaults(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return UNKNOWN.get(key, "")

    data = _Defaults({k: v for k, v in values.items() if v})
    return [
        {"title": step["title"], "text": step["text"].format_map(data)}
        for step in steps_of(script, variant)
    ]


OFFER_TITLE = Text("title", required=True, max_length=column_length(Offer.title))


def add_offer(session: Session, title: str | None, starts_on: dt.date, ends_on: dt.date) -> Offer:
    """A current offer or showroom event the scripts mention from ``starts_on`` to ``ends_on``."""
    clean: str = OFFER_TITLE.clean(title)
    if ends_on < starts_on:
        raise ValidationError("offer.ends_before_start", field="ends_on")
    offer = Offer(title=clean, starts_on=starts_on, ends_on=ends_on)
    session.add(offer)
    session.flush()
    return offer


def end_offer(session: Session, offer_id: int) -> Offer:
    """The offer is no longer mentioned (kept on record)."""
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise NotFound("offer.not_found", field="offer_id", offer=offer_id)
    offer.is_active = False
    return offer
